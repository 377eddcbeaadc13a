import datetime

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orders.models import Order, OrderLine
from orgs.models import Membership, Organization, User
from provisioning import deployment_email, jobs, lifecycle
from provisioning.models import Event, Provisioning

PARTNER_ID = "PTN-DEMO"


class Command(BaseCommand):
    help = ("Loads a demo order whose start date is today, sends its deployment email and prints its "
            "Set up now link, for `make run`. Run again, it sends the same order's email with a fresh "
            "link until that order is used (set up, handed over or closed); then it loads a new demo "
            "order, so every run ends with a link that works.")

    def handle(self, *args, **options):
        today = timezone.localdate()
        base = f"CCW-DEMO-{today:%Y%m%d}"
        demos = Order.objects.filter(Q(number=base) | Q(number__startswith=f"{base}-"))
        order = demos.order_by("-pk").first()
        used = self._used(order) if order is not None else None
        if order is None or used:
            previous = order
            order = self._load(today, base, demos.count() + 1)
            self.stdout.write(f"Demo order {order.number} loaded, start date {today:%Y-%m-%d} "
                              f"({datetime.date.today():%A}).")
            if previous is not None:
                self.stdout.write(f"The previous demo order, {previous.number}, is {used}: this one "
                                  "is for the same partner and a new customer.")
        else:
            self.stdout.write(f"Demo order {order.number} already there, start date "
                              f"{today:%Y-%m-%d}.")
        # The demo should not wait for the business hour: its email is due now.
        lifecycle.email_due_now(order, timezone.now())
        self.stdout.write(self._send(order))

    def _used(self, order):
        """Why the order's Set up now link can no longer start its wizard for the deployment
        contact (a link sent again would be refused, or would take a hand-over back), or None."""
        provisioning = Provisioning.objects.get(pk=order.pk)
        if provisioning.set_up_at is not None:
            return "already set up"
        if lifecycle.window_closed(provisioning):
            return "closed"
        if provisioning.handed_over_at is not None:
            return "handed to the customer"
        if Event.objects.filter(order=order, kind=Event.Kind.COLLEAGUE_INVITED).exists():
            return "handed to a colleague"
        return None

    def _load(self, today, base, n):
        """Demo order number `n` of the day: the same partner each time (its second order finds
        its organisation), a new customer each time."""
        while Order.objects.filter(number=base if n == 1 else f"{base}-{n}").exists():
            n += 1
        suffix = "" if n == 1 else f"-{n}"
        with transaction.atomic():
            rep, _ = User.objects.get_or_create(email="rep@vendor.example",
                                                defaults={"is_staff": True, "full_name": "Demo Rep"})
            group = Group.objects.filter(name=settings.REPS_GROUP).first()
            if group:
                rep.groups.add(group)
            order = Order.objects.create(
                number=f"{base}{suffix}", product="A-WX", requested_start_date=today,
                deployment_contact_email="webex-deploy@partner.example", language="en",
                account_rep=rep, partner_external_id=PARTNER_ID, partner_name="Réseaux Alpins SARL",
                partner_country="FR", customer_external_id=f"CUS-DEMO-{today:%Y%m%d}{suffix}",
                customer_name="Boulangerie Martin", customer_country="FR",
                customer_address="12 rue des Lilas", customer_city="Lyon", customer_postal_code="69003",
            )
            for sku, service in [("A-WX-CALL-PRO", "calling"), ("A-WX-MTG-ENT", "meetings")]:
                OrderLine.objects.create(order=order, sku=sku, service=service, quantity=50)
            lifecycle.create(order)
        return order

    def _send(self, order):
        """The email goes out (the console backend prints it); the link printed is the one in it."""
        urls = {}
        run = jobs.send_due_deployment_emails(on_sent=lambda order_id, url: urls.__setitem__(order_id, url))
        url = urls.get(order.pk)
        if url is None and order.number not in {number for number, _error in run.failed}:
            # Already sent by an earlier `make run`: send it again with a fresh link, from here
            # (a command, not a person's page: it may wait on the mail server).
            with transaction.atomic():
                provisioning = Provisioning.objects.select_for_update().get(pk=order.pk)
                lifecycle.take_over_email(provisioning, timezone.now(), Event.Kind.RESENT,
                                          data={"to": order.deployment_contact_email})
            outcome = deployment_email.send_now(order.pk)
            url = outcome.url if outcome.sent else None
        if url is None:
            return self.style.ERROR(f"The deployment email of {order.number} could not be sent now "
                                    "(see the mail settings); the job retries it.")
        bar = "=" * 78
        lines = [bar, f"  Deployment email sent to {order.deployment_contact_email}.",
                 f"  Set up now:  {url}"]
        members = list(Membership.objects.filter(
            organization__kind=Organization.Kind.PARTNER, organization__external_id=PARTNER_ID,
            role=Membership.Role.ADMIN).values_list("user__email", flat=True)[:3])
        if members:
            lines += ["  The partner's organisation exists (an earlier demo order created it): on its",
                      f"  step, sign in as {' or '.join(members)}. No password? \"Forgot your",
                      "  password?\" on the sign-in page emails a link (printed here by the default",
                      "  console email)."]
        lines += ["  Another link: run `make run` again. It sends this order's email again until",
                  "  the order is set up, handed over or closed, then loads a new demo order.", bar]
        return "\n" + "\n".join(lines) + "\n"
