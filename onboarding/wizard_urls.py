# The order setup wizard (steps 3-10): /setup/<token>/ and the clean /setup/ URLs.
from django.urls import path, re_path

from onboarding import wizard

urlpatterns: list = [
    path("setup/", wizard.SetupWizard.as_view(), name="setup"),
    path("setup/done/", wizard.setup_done, name="setup_done"),
    # Tokens are 43 URL-safe characters: a shorter segment is some other /setup/... page.
    re_path(r"^setup/(?P<token>[A-Za-z0-9_-]{32,100})/$", wizard.entry, name="setup_link"),
]
