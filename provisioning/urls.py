from django.urls import path

from provisioning import views

app_name = "provisioning"
urlpatterns = [
    path("stalled/", views.stalled, name="stalled"),
    path("orders/<order:number>/resend/", views.resend, name="resend"),
    path("orders/<order:number>/contact/", views.change_contact, name="change_contact"),
    path("orders/<order:number>/contacted/", views.contacted, name="contacted"),
    path("orders/<order:number>/reopen/", views.reopen, name="reopen"),
]
