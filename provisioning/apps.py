from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = _("Provisioning")

    def ready(self):
        # Registers the secrets emails ask for (outbox.register_secret), also in workers.
        from provisioning import links  # noqa: F401
