from django.urls import path

from provisioning import views

app_name = "provisioning"
urlpatterns = [
    path("stalled/", views.stalled, name="stalled"),
    path("orders/<str:number>/resend/", views.resend, name="resend"),
    path("orders/<str:number>/contact/", views.change_contact, name="change_contact"),
    path("orders/<str:number>/contacted/", views.contacted, name="contacted"),
    path("orders/<str:number>/reopen/", views.reopen, name="reopen"),
]
