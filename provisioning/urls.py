from django.urls import path

from provisioning import views

app_name = "provisioning"
urlpatterns = [
    path("stalled/", views.stalled, name="stalled"),
]
