from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = _("Provisioning")

    def ready(self):
        from anymail.signals import tracking

        # Registers the secrets emails ask for (outbox.register_secret) and what follows the
        # deployment email's sending (outbox.after_send), also in workers.
        from provisioning import delivery, deployment_email, links  # noqa: F401

        # The email provider's delivery webhook (provisioning/webhooks.py) reaches us here.
        tracking.connect(delivery.tracking_received, dispatch_uid="provisioning.delivery")
