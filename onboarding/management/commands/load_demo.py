import datetime

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from orders.models import Order, OrderLine
from orgs.models import User
from provisioning import services as prov


class Command(BaseCommand):
    help = "Loads a demo order whose start date is today (idempotent), for `make run`."

    def handle(self, *args, **options):
        today = timezone.localdate()
        number = f"CCW-DEMO-{today:%Y%m%d}"
        with transaction.atomic():
            rep, _ = User.objects.get_or_create(email="rep@vendor.example",
                                                defaults={"is_staff": True, "full_name": "Demo Rep"})
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
                prov.create_provisioning(order)
        self.stdout.write(f"Demo order {number} {'loaded' if created else 'already there'}, "
                          f"start date {today:%Y-%m-%d} ({datetime.date.today():%A}).")
