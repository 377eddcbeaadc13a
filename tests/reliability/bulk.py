"""Many due orders fast: bulk inserts of what import_orders would leave (order, one line,
provisioning row), for the 1,000-order proofs. Each contact email names its order, so emails
can be counted per order from the recipient alone."""
import datetime

from django.db import transaction
from django.utils import timezone

from orders.models import Order, OrderLine
from provisioning.models import Provisioning
from provisioning.lifecycle import schedule_for


def contact_of(number):
    return f"deploy-{number.lower()}@partner.example"


@transaction.atomic
def due_orders(count, rep, prefix="CCW-9", start=None):
    """`count` orders whose deployment email is due now (start date yesterday)."""
    start = start or timezone.localdate() - datetime.timedelta(days=1)
    orders = Order.objects.bulk_create([
        Order(number=f"{prefix}{n:07d}", product="A-WX", requested_start_date=start,
              deployment_contact_email=contact_of(f"{prefix}{n:07d}"), language="en",
              account_rep=rep, partner_external_id="PTN-4411", partner_name="Réseaux Alpins SARL",
              partner_country="FR", customer_external_id=f"CUS-{prefix}{n}",
              customer_name=f"Customer {n}", customer_country="FR")
        for n in range(count)])
    OrderLine.objects.bulk_create([OrderLine(order=o, sku="A-WX-CALL", service="calling", quantity=5)
                                   for o in orders])
    Provisioning.objects.bulk_create([Provisioning(order=o, **schedule_for(o)) for o in orders])
    return orders
