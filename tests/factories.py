"""Factories for the named people and things of the tests (factory_boy).

The people a test speaks of, by role: Inès the installer, Colin her colleague, Camille the
customer's administrator, Rita the account rep, Mallory an outsider to the order. Each has one
address here and a factory (InstallerFactory(organization=org) makes Inès an administrator of
org); every factory user's password is PASSWORD."""
import datetime

import factory
from django.db import models
from django.contrib.auth.models import Group
from django.conf import settings

from orders.models import Order, OrderLine
from orgs.models import Membership, Organization, User
from provisioning import lifecycle


PASSWORD = "correct-horse-battery"
INSTALLER_EMAIL = "ines.installer@partner.example"       # sets the order up for the partner
COLLEAGUE_EMAIL = "colin.colleague@partner.example"      # in the installer's company
CUSTOMER_ADMIN_EMAIL = "camille.admin@customer.example"  # administers the customer's organisation
REP_EMAIL = "rita.rep@vendor.example"                    # the order's account representative
OUTSIDER_EMAIL = "mallory@attacker.example"              # has no part in the order


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)


class RepFactory(UserFactory):
    """An account representative: staff, in the reps group (the order's rep: email=REP_EMAIL)."""

    email = factory.Sequence(lambda n: f"rep{n}@vendor.example")
    is_staff = True

    @factory.post_generation
    def group(self, create, extracted, **kwargs):
        if create:
            # get_or_create: the flush ending a transactional test removes the migration-made group.
            self.groups.add(Group.objects.get_or_create(name=settings.REPS_GROUP)[0])


class PersonFactory(UserFactory):
    """A named person; `organization=org` makes them a member of org (an administrator unless
    `organization__role=` says otherwise)."""

    @factory.post_generation
    def organization(self, create, extracted, role=Membership.Role.ADMIN, **kwargs):
        if create and extracted is not None:
            Membership.objects.create(user=self, organization=extracted, role=role)


class InstallerFactory(PersonFactory):
    email = INSTALLER_EMAIL
    full_name = "Inès Installer"


class ColleagueFactory(PersonFactory):
    email = COLLEAGUE_EMAIL
    full_name = "Colin Colleague"


class CustomerAdminFactory(PersonFactory):
    email = CUSTOMER_ADMIN_EMAIL
    full_name = "Camille Admin"


class OutsiderFactory(PersonFactory):
    email = OUTSIDER_EMAIL
    full_name = "Mallory Outsider"


class PartnerOrgFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    kind = Organization.Kind.PARTNER
    external_id = factory.Sequence(lambda n: f"PTN-{1000 + n}")
    name = factory.Sequence(lambda n: f"Partner {n} SARL")
    country = "FR"


class CustomerOrgFactory(PartnerOrgFactory):
    kind = Organization.Kind.CUSTOMER
    external_id = factory.Sequence(lambda n: f"CUS-{1000 + n}")
    name = factory.Sequence(lambda n: f"Customer {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(PartnerOrgFactory)


class OrderFactory(factory.django.DjangoModelFactory):
    """An imported order with its provisioning row, as import_orders leaves it."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"CCW-{88000000 + n}")
    product = "A-WX"
    requested_start_date = factory.LazyFunction(lambda: datetime.date.today())
    deployment_contact_email = "webex-deploy@partner.example"
    language = "en"
    account_rep = factory.SubFactory(RepFactory)
    partner_external_id = "PTN-4411"
    partner_name = "Réseaux Alpins SARL"
    partner_country = "FR"
    customer_external_id = factory.Sequence(lambda n: f"CUS-{90000 + n}")
    customer_name = "Boulangerie Martin"
    customer_country = "FR"
    customer_address = "12 rue des Lilas"
    customer_city = "Lyon"
    customer_postal_code = "69003"

    @factory.post_generation
    def lines(self, create, extracted, **kwargs):
        if not create:
            return
        services = extracted if extracted is not None else ["calling", "meetings"]
        for service in services:
            OrderLine.objects.create(order=self, sku=f"{self.product}-{service.upper()[:4]}",
                                     service=service, quantity=50)
        lifecycle.create(self)


class EmailedOrderFactory(OrderFactory):
    """An order whose deployment email the mail server accepted at its email hour, as the job
    leaves it: the stall clock runs from that delivery."""

    @factory.post_generation
    def emailed(self, create, extracted, **kwargs):
        if create:
            from provisioning.models import Provisioning, Status

            Provisioning.objects.filter(pk=self.pk).update(
                email_sent_at=models.F("email_due_at"), email_next_attempt_at=None,
                status=Status.EMAIL_SENT)
