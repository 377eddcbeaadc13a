from django.urls import path

from onboarding import views

app_name = "onboarding"
urlpatterns = [
    path("", views.home, name="home"),
    path("my/orders/", views.my_orders, name="my_orders"),
]
