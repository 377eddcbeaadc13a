from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnboardingConfig(AppConfig):
    name = "onboarding"
    verbose_name = _("Onboarding")

    def ready(self):
        # Signal receivers (the time of each sign-in, for Deploy's re-authentication) and the
        # secrets our emails carry, which workers derive when they send them.
        from onboarding import access, memberships, verification  # noqa: F401
