"""Every guarantee the spec puts on the database holds against direct ORM writes."""
import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import OrderLine
from orgs.models import Membership, Organization, User
from provisioning.models import BillingPeriod, Event, Provisioning, SetupLink, Subscription
from tests.factories import CustomerOrgFactory, OrderFactory, PartnerOrgFactory, UserFactory

pytestmark = pytest.mark.django_db


def refused(fn):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            fn()


def test_a_user_belongs_to_one_organisation_at_a_time():
    user = UserFactory()
    Membership.objects.create(user=user, organization=PartnerOrgFactory())
    refused(lambda: Membership.objects.create(user=user, organization=CustomerOrgFactory()))


def test_a_user_cannot_be_moved_into_a_second_membership_by_bulk_create():
    user = UserFactory()
    org_a, org_b = PartnerOrgFactory(), CustomerOrgFactory()
    refused(lambda: Membership.objects.bulk_create(
        [Membership(user=user, organization=org_a), Membership(user=user, organization=org_b)]))


def test_emails_are_unique_whatever_their_case():
    UserFactory(email="anne@partner.example")
    # bulk_create bypasses save(), which lowercases: the constraint on Lower(email) still holds.
    refused(lambda: User.objects.bulk_create([User(email="Anne@Partner.EXAMPLE")]))


def test_subdomains_are_unique_whatever_their_case():
    PartnerOrgFactory(subdomain="alpins")
    refused(lambda: CustomerOrgFactory(subdomain="ALPINS"))


def test_many_orgs_may_have_no_subdomain():
    PartnerOrgFactory(subdomain=None)
    PartnerOrgFactory(subdomain=None)
    assert Organization.objects.filter(subdomain__isnull=True).count() == 2


def test_only_customer_orgs_are_managed_by_a_partner():
    partner = PartnerOrgFactory()
    refused(lambda: PartnerOrgFactory(managed_by=partner))


def test_an_external_id_names_one_org_of_each_kind():
    PartnerOrgFactory(external_id="PTN-1")
    refused(lambda: PartnerOrgFactory(external_id="PTN-1"))


def test_order_numbers_are_unique():
    OrderFactory(number="CCW-1")
    refused(lambda: OrderFactory(number="CCW-1"))


def test_quantities_are_positive():
    order = OrderFactory()
    refused(lambda: OrderLine.objects.create(order=order, sku="X", service="calling", quantity=0))


def test_one_provisioning_record_per_order():
    order = OrderFactory()
    refused(lambda: Provisioning.objects.create(order=order, email_due_at=timezone.now(),
                                                stall_due_at=timezone.now(),
                                                window_closes_at=timezone.now()))


def test_one_billing_start_per_service_of_a_subscription():
    order = OrderFactory()
    sub = Subscription.objects.create(order=order, subscription_id="Sub-1")
    BillingPeriod.objects.create(subscription=sub, service="calling", started_at=timezone.now())
    refused(lambda: BillingPeriod.objects.create(subscription=sub, service="calling",
                                                 started_at=timezone.now()))


def test_one_subscription_per_order():
    order = OrderFactory()
    Subscription.objects.create(order=order, subscription_id="Sub-1")
    refused(lambda: Subscription.objects.create(order=order, subscription_id="Sub-2"))


def test_one_live_setup_link_per_order():
    order = OrderFactory()
    SetupLink.objects.create(order=order, token_hash="a" * 64, recipient_email="a@x.example",
                             purpose="deployment")
    refused(lambda: SetupLink.objects.create(order=order, token_hash="b" * 64,
                                             recipient_email="b@x.example", purpose="colleague"))


def test_history_is_append_only():
    order = OrderFactory()
    event = Event.objects.get(order=order)
    event.note = "rewritten"
    with pytest.raises(ValueError):
        event.save()


def test_history_cannot_be_rewritten_by_a_queryset_update_or_raw_sql():
    order = OrderFactory()
    refused(lambda: Event.objects.filter(order=order).update(note="rewritten"))
    from django.db import connection

    def raw():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE provisioning_event SET kind = 'deployed' WHERE order_id = %s",
                           [order.pk])
    refused(raw)
    assert Event.objects.get(order=order).note == ""


def test_an_order_can_still_be_deleted_with_its_history():
    order = OrderFactory()
    order.delete()
    assert not Event.objects.filter(order_id=order.pk).exists()


def test_deleting_a_user_keeps_their_history_without_its_author():
    order = OrderFactory()
    user = UserFactory()
    event = Event.objects.create(order=order, kind=Event.Kind.CONTACTED, actor=user, note="called")
    user.delete()
    event.refresh_from_db()
    assert (event.actor, event.note) == (None, "called")
