import datetime

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from orders.models import Order, OrderLine
from orgs.models import User
from provisioning import jobs, lifecycle, services as prov
from provisioning.models import Provisioning


class Command(BaseCommand):
    help = ("Loads a demo order whose start date is today (idempotent), sends its deployment email "
            "and prints its Set up now link, for `make run`.")

    def handle(self, *args, **options):
        today = timezone.localdate()
        number = f"CCW-DEMO-{today:%Y%m%d}"
        with transaction.atomic():
            rep, _ = User.objects.get_or_create(email="rep@vendor.example",
                                                defaults={"is_staff": True, "full_name": "Demo Rep"})
            group = Group.objects.filter(name=settings.REPS_GROUP).first()
            if group:
                rep.groups.add(group)
            order, created = Order.objects.get_or_create(number=number, defaults=dict(
                product="A-WX", requested_start_date=today,
                deployment_contact_email="webex-deploy@partner.example", language="en",
                account_rep=rep, partner_external_id="PTN-DEMO", partner_name="Réseaux Alpins SARL",
                partner_country="FR", customer_external_id=f"CUS-DEMO-{today:%Y%m%d}",
                customer_name="Boulangerie Martin", customer_country="FR",
                customer_address="12 rue des Lilas", customer_city="Lyon", customer_postal_code="69003",
            ))
            if created:
                for sku, service in [("A-WX-CALL-PRO", "calling"), ("A-WX-MTG-ENT", "meetings")]:
                    OrderLine.objects.create(order=order, sku=sku, service=service, quantity=50)
                lifecycle.create(order)
            # The demo should not wait for the business hour: its email is due now.
            lifecycle.email_due_now(order, timezone.now())
        self.stdout.write(f"Demo order {number} {'loaded' if created else 'already there'}, "
                          f"start date {today:%Y-%m-%d} ({datetime.date.today():%A}).")
        self.stdout.write(self._send(order))

    def _send(self, order):
        """The email goes out (the console backend prints it); the link printed is the one in it."""
        provisioning = Provisioning.objects.get(pk=order.pk)
        if provisioning.set_up_at is not None:
            return f"Order {order.number} is already set up: no deployment email to send."
        urls = {}
        run = jobs.send_due_deployment_emails(on_sent=lambda order_id, url: urls.__setitem__(order_id, url))
        url = urls.get(order.pk)
        if url is None and order.number not in {number for number, _error in run.failed}:
            # Already sent by an earlier `make run`: send it again with a fresh link.
            try:
                outcome = prov.resend_deployment_email(order)
            except prov.NotAllowed as refusal:
                return str(refusal)
            url = outcome.url if outcome.sent else None
        if url is None:
            return self.style.ERROR(f"The deployment email of {order.number} could not be sent now "
                                    "(see the mail settings); the job retries it.")
        bar = "=" * 78
        return (f"\n{bar}\n  Deployment email sent to {order.deployment_contact_email}."
                f"\n  Set up now:  {url}\n{bar}\n")
