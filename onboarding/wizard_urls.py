# The order setup wizard (steps 3-10): /setup/<token>/, then the order's clean URLs under
# /setup/orders/<number>/ (one per order, so several orders can be set up in several tabs).
from django.urls import path, re_path

from onboarding import done_views, link_views, wizard

urlpatterns: list = [
    path("setup/", link_views.last_setup, name="last_setup"),
    path("setup/orders/<order:number>/", wizard.SetupWizard.as_view(), name="setup"),
    path("setup/orders/<order:number>/done/", done_views.setup_done, name="setup_done"),
    # Tokens are 43 URL-safe characters: a shorter segment is some other /setup/... page.
    re_path(r"^setup/(?P<token>[A-Za-z0-9_-]{32,100})/$", link_views.entry, name="setup_link"),
]
