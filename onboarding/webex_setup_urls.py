# The service setup assistant (step 11), after the order is set up. One URL scheme for both ways
# in: the order's number is in the URL; the session's setup link or the signed-in user's
# organisation must allow it (onboarding/access.py), else 404 (or the sign-in page when anonymous).
from django.urls import path

from onboarding import webex_setup_views

urlpatterns = [
    # The order whose setup link this browser opened last, at its first step not done.
    path("services/", webex_setup_views.service_setup, name="service_setup"),
    path("orders/<order:number>/services/", webex_setup_views.resume, name="service_resume"),
    path("orders/<order:number>/services/deployed/", webex_setup_views.deployed, name="service_deployed"),
    path("orders/<order:number>/services/<slug:step>/", webex_setup_views.step, name="service_step"),
]
