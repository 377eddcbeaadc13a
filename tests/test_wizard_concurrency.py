"""Confirm under concurrency, against real PostgreSQL with real concurrent transactions: a double
click, a second tab or several people with the same link create exactly one set of orgs and users."""
import threading

import pytest
from django.test import Client

from onboarding import services
from orgs.models import Invitation, Membership, Organization, User
from provisioning.models import Event, OutboundEmail, Provisioning, SetupLink
from provisioning.links import issue_link
from tests.factories import CustomerOrgFactory, MembershipFactory, OrderFactory, PartnerOrgFactory
from tests.helpers import at_once
from tests.wizard_helpers import (CUSTOMER_ADMIN_EMAIL, INSTALLER_EMAIL, current_step, done_url,
                                  open_link, post_step, token_in, walk)

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 20


def confirm_at_once(clients_and_orders):
    """Every client has walked to Confirm; they all press it at the same moment."""
    results, errors = at_once(lambda i: post_step(*clients_and_orders[i], "confirm"),
                              len(clients_and_orders))
    assert not errors, errors  # a 500 surfaces here: the test client re-raises view errors
    return results


def walked_clients(order, raw, count, answers=None):
    clients = []
    for _ in range(count):
        client = Client()
        open_link(client, order, raw=raw)
        walk(client, order, answers, until="confirm")
        clients.append((client, order))
    return clients


def as_the_contact(order, choice="self"):
    """The deployment contact installs: their address is the link's own, so no code is sent."""
    return {"installer": {"choice": choice, "name": "Inès Installer",
                          "email": order.deployment_contact_email}}


def test_twenty_people_confirming_the_same_order_at_once_set_it_up_once():
    order = OrderFactory()
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    results = confirm_at_once(walked_clients(order, raw, THREADS, as_the_contact(order)))

    assert all(r.status_code in (200, 302, 409) for r in results), \
        str([(r.status_code, current_step(r)) for r in results])
    winners = [r for r in results if r.status_code == 302 and r["Location"] == done_url(order)]
    assert len(winners) == 1
    losers = [r for r in results if r.status_code != 302]
    assert all("This order is already set up" in r.content.decode() for r in losers)
    assert Organization.objects.filter(kind="partner").count() == 1
    assert Organization.objects.filter(kind="customer").count() == 1
    assert Invitation.objects.filter(email=CUSTOMER_ADMIN_EMAIL).count() == 1
    assert User.objects.filter(email=order.deployment_contact_email).count() == 1
    assert Membership.objects.count() == 1
    assert Event.objects.filter(order=order, kind=Event.Kind.SET_UP).count() == 1
    assert Provisioning.objects.get(pk=order.pk).set_up_at is not None


def test_without_the_lock_the_same_confirms_would_set_the_order_up_many_times(monkeypatch):
    """The race the lock prevents is real: with an unlocked check-then-write (every request reads
    "not set up" before any writes), each confirm sets the order up again."""
    partner = PartnerOrgFactory(external_id="PTN-4411")
    order = OrderFactory()
    customer = CustomerOrgFactory(external_id=order.customer_external_id, managed_by=partner)
    installer = MembershipFactory(user__email=INSTALLER_EMAIL, organization=partner).user
    MembershipFactory(user__email=CUSTOMER_ADMIN_EMAIL, organization=customer)
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    clients = []
    for _ in range(4):  # four browsers, each signed in as a member of the partner org
        client = Client()
        client.force_login(installer)
        open_link(client, order, raw=raw)
        walk(client, order, until="confirm")
        clients.append((client, order))
    all_have_read = threading.Barrier(len(clients))

    def unlocked(link):
        provisioning = Provisioning.objects.select_related("order").get(pk=link.order_id)
        if provisioning.set_up_at is not None:
            raise services.AlreadySetUp()
        all_have_read.wait(timeout=60)
        return provisioning

    monkeypatch.setattr(services, "_lock", unlocked)
    confirm_at_once(clients)
    assert Event.objects.filter(order=order, kind=Event.Kind.SET_UP).count() == len(clients)


def test_a_partners_first_orders_confirmed_at_once_create_one_partner_org():
    orders = [OrderFactory() for _ in range(4)]
    answers = {order.pk: {"customer_admin": {"email": f"admin{i}@customer{i}.example"}}
               for i, order in enumerate(orders)}
    clients = []
    for order in orders:
        raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
        clients += walked_clients(order, raw, 1, answers[order.pk])
    results = confirm_at_once(clients)

    assert Organization.objects.filter(kind="partner", external_id="PTN-4411").count() == 1
    done = [r for r in results if r.status_code == 302]
    sent_back = [r for r in results if current_step(r) == "partner_org"]
    assert len(done) == 1 and len(sent_back) == len(orders) - 1
    assert all("created by someone else a moment ago" in r.content.decode() for r in sent_back)
    # The others are no members of the org that now exists: they sign in as Inès, its new
    # administrator, then verify it and finish; she is in it once.
    installer = User.objects.get(email=INSTALLER_EMAIL)
    for (client, order), result in zip(clients, results):
        if result in sent_back:
            assert "Ask to join as" in result.content.decode()
            client.force_login(installer)
            assert walk(client, order, answers[order.pk])["Location"] == done_url(order)
    assert Membership.objects.filter(user__email=INSTALLER_EMAIL).count() == 1
    assert Event.objects.filter(kind=Event.Kind.SET_UP).count() == len(orders)


HAND_OVER = {"installer": {"choice": "customer", "name": "Inès Installer", "email": INSTALLER_EMAIL}}


def test_the_hand_over_to_the_customer_confirmed_many_times_at_once_happens_once():
    """Several browsers with the same link press the hand-over's Confirm at once: one partner
    org, one invitation; the browser whose Confirm won gets the done page and the new admin's
    password, the others only learn that the setup was handed over."""
    order = OrderFactory()
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    clients = walked_clients(order, raw, THREADS, as_the_contact(order, "customer"))
    results = confirm_at_once(clients)

    winners = [i for i, r in enumerate(results)
               if r.status_code == 302 and r["Location"] == done_url(order)]
    assert len(winners) == 1, str([(r.status_code, r.get("Location")) for r in results])
    others = [r for i, r in enumerate(results) if i not in winners]
    assert all(r.status_code == 200 and "The setup has been handed to the customer"
               in r.content.decode() and "new_password1" not in r.content.decode()
               for r in others)
    assert Organization.objects.filter(kind="partner").count() == 1
    assert not Organization.objects.filter(kind="customer").exists()
    assert User.objects.filter(email=order.deployment_contact_email).count() == 1
    assert not User.objects.filter(email=CUSTOMER_ADMIN_EMAIL).exists()
    assert Membership.objects.count() == 1
    assert Event.objects.filter(order=order, kind=Event.Kind.CUSTOMER_INVITED).count() == 1
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.CUSTOMER_ADMIN).count() == 1
    live = SetupLink.objects.get(order=order, superseded_at__isnull=True)
    assert (live.purpose, live.recipient_email) == (SetupLink.Purpose.CUSTOMER_ADMIN,
                                                    CUSTOMER_ADMIN_EMAIL)
    winner, _order = clients[winners[0]]
    assert "new_password1" in winner.get(done_url(order)).content.decode()
    loser, _order = clients[(winners[0] + 1) % THREADS]
    assert loser.get(done_url(order)).status_code == 403


def test_the_customer_admin_confirming_many_times_at_once_sets_the_order_up_once():
    order = OrderFactory()
    partner = Client()
    open_link(partner, order)
    walk(partner, order, HAND_OVER)
    invitation = OutboundEmail.objects.get(kind=OutboundEmail.Kind.CUSTOMER_ADMIN)
    customer_raw = token_in(invitation)
    results = confirm_at_once(walked_clients(order, customer_raw, THREADS))

    # The losers: "already set up" (409 while racing; 200, asking to sign in, when the winner
    # had committed before their request began). None is offered the new admin's password.
    assert all(r.status_code in (302, 409) or r.status_code == 200 and
               "This order is already set up" in r.content.decode() for r in results), \
        str([(r.status_code, current_step(r)) for r in results])
    assert len([r for r in results if r.status_code == 302]) >= 1
    assert Organization.objects.filter(kind="partner").count() == 1
    assert Organization.objects.filter(kind="customer", managed_by__isnull=True).count() == 1
    assert User.objects.filter(email=CUSTOMER_ADMIN_EMAIL).count() == 1
    assert Membership.objects.count() == 2   # the partner's installer, the customer's admin
    assert Event.objects.filter(order=order, kind=Event.Kind.SET_UP).count() == 1
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.set_up_at is not None and provisioning.installer_email == INSTALLER_EMAIL
