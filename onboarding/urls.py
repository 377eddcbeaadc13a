"""onboarding's URLs, composed from the wizard's, the service setup's and the account pages'."""
from django.urls import path

from onboarding import membership_views, views
from onboarding.webex_setup_urls import urlpatterns as service_urlpatterns
from onboarding.wizard_urls import urlpatterns as wizard_urlpatterns

app_name = "onboarding"
urlpatterns = [
    path("", views.home, name="home"),
    path("my/orders/", views.my_orders, name="my_orders"),
    path("my/organisation/requests/", membership_views.join_requests, name="join_requests"),
    path("join-requests/<str:token>/", membership_views.join_decision, name="join_decision"),
    path("invitations/<str:token>/", membership_views.invitation, name="invitation"),
    *wizard_urlpatterns,
    *service_urlpatterns,
]
