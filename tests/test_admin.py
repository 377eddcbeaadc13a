"""Django admin: every model's changelist and change page render within a query budget, search
finds orders, big tables are not counted, history and emails are read-only, API keys show once."""
import hashlib

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orders.admin_tools import EstimatedCountPaginator
from orders.models import ApiKey, Order
from orgs.models import Invitation, JoinRequest, Membership, User
from provisioning import links
from provisioning.admin_actions import ORDER_ACTIONS
from provisioning.models import (BillingPeriod, BouncedAddress, CallingSettings, DeliveryEvent,
                                 Event, MeetingSettings, OutboundEmail, Provisioning, SetupLink,
                                 Subscription)
from tests.factories import CustomerOrgFactory, MembershipFactory, OrderFactory, PartnerOrgFactory

pytestmark = pytest.mark.django_db

OUR_APPS = {"orders", "orgs", "provisioning"}
ROWS = 4  # several rows per table, so a query per row would blow the budget
QUERY_BUDGET = 20


@pytest.fixture
def world():
    return build_world(range(ROWS))


def build_world(numbers):
    """Orders with everything a deployed order accumulates (one per number)."""
    orders = []
    for n in numbers:
        partner = PartnerOrgFactory()
        customer = CustomerOrgFactory(managed_by=partner, subdomain=f"customer{n}")
        order = OrderFactory(partner_org=partner, customer_org=customer,
                             deployment_contact_email=f"deploy{n}@partner{n}.example",
                             customer_name=f"Boulangerie {n}")
        MembershipFactory(organization=partner)
        JoinRequest.objects.create(organization=partner, email=f"asker{n}@partner{n}.example",
                                   order=order, nonce=f"n{n}")
        Invitation.objects.create(organization=customer, email=f"admin{n}@customer{n}.example",
                                  order=order, nonce=f"i{n}", expires_at=timezone.now())
        links.issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
        email = OutboundEmail.objects.create(
            kind="deployment", order=order, to=order.deployment_contact_email,
            subject="Set up your Webex order", body_text="…", last_error="SMTP 451" if n % 2 else "",
            message_id=f"<{n}@mg.example>")
        DeliveryEvent.objects.create(esp="Mailgun", event_id=f"token{n}", kind="bounced",
                                     message_id=email.message_id, recipient=email.to,
                                     reason="550 5.1.1 unknown user", email=email, order=order)
        BouncedAddress.objects.create(email=f"gone{n}@partner{n}.example", delivery="bounced",
                                      reason="550 5.1.1 unknown user", bounced_at=timezone.now())
        subscription = Subscription.objects.create(order=order, subscription_id=f"SUB-{n}")
        BillingPeriod.objects.create(subscription=subscription, service="calling",
                                     started_at=timezone.now())
        CallingSettings.objects.create(order=order, country="FR", time_zone="Europe/Paris",
                                       location_name="Lyon", main_number="+33478000000")
        MeetingSettings.objects.create(order=order, language="fr", time_zone="Europe/Paris")
        orders.append(order)
        ApiKey.objects.create(name=f"Ordering system {n}", prefix=f"onb_{n:08d}", key_hash=f"{n:064d}")
    return orders


def our_model_admins():
    return sorted(((model, model_admin) for model, model_admin in admin.site._registry.items()
                   if model._meta.app_label in OUR_APPS), key=lambda pair: pair[0]._meta.label)


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_model_of_the_product_is_in_admin():
    registered = {model for model, _admin in our_model_admins()}
    expected = {Order, ApiKey, User, Membership, Provisioning, Event, SetupLink, OutboundEmail,
                Subscription, BillingPeriod, CallingSettings, MeetingSettings, BouncedAddress,
                DeliveryEvent}
    assert expected <= registered


@pytest.mark.parametrize("label", sorted(m._meta.label for m, _a in our_model_admins()))
def test_each_changelist_and_change_page_renders_within_a_query_budget(
        admin_client, world, label, django_assert_max_num_queries):
    model = next(m for m, _a in our_model_admins() if m._meta.label == label)
    obj = model._default_manager.order_by("-pk").first()
    assert obj is not None, f"the fixture makes no {label}"

    with django_assert_max_num_queries(QUERY_BUDGET):
        response = admin_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == model._default_manager.count()

    with django_assert_max_num_queries(QUERY_BUDGET + 10):
        response = admin_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200


def test_no_changelist_makes_a_query_per_row(admin_client):
    build_world(range(2))
    before = {label: _changelist_queries(admin_client, model) for label, model in _labelled()}
    build_world(range(2, 12))
    after = {label: _changelist_queries(admin_client, model) for label, model in _labelled()}
    assert after == before


@pytest.mark.parametrize("search", ["", "Boulangerie 3", "deploy3@partner3.example", "CCW-8800"])
def test_the_order_list_stays_within_eight_queries(admin_client, world, search,
                                                     django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = admin_client.get(admin_url(Order, "changelist"), {"q": search} if search else {})
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


def _labelled():
    return [(model._meta.label, model) for model, _admin in our_model_admins()]


def _changelist_queries(client, model):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(admin_url(model, "changelist")).status_code == 200
    return len(queries)


def test_the_order_page_shows_lines_history_and_provisioning_with_its_email_error(admin_client, world):
    order = world[0]
    Provisioning.objects.filter(order=order).update(email_failed_at=timezone.now(),
                                                    email_last_error="SMTP 554 mailbox unavailable")

    page = admin_client.get(admin_url(Order, "change", order.pk)).content.decode()

    assert "SMTP 554 mailbox unavailable" in page
    assert f"{order.number[:3]}" in page and "Imported" in page  # history row
    assert "Setup link issued" in page
    for line in order.lines.all():
        assert line.sku in page
    assert order.setup_links.get().token_hash not in page


@pytest.mark.parametrize("term, expected", [
    ("CCW-88000001", {"CCW-88000001"}),
    ("ccw-88000001", {"CCW-88000001"}),
    ("DEPLOY2@PARTNER2.example", {"CCW-88000002"}),
    ("Boulangerie 3", {"CCW-88000003"}),
    ("partner1.example", {"CCW-88000001"}),
])
def test_orders_are_found_by_number_email_and_name(admin_client, term, expected):
    for n in range(4):
        OrderFactory(number=f"CCW-8800000{n}", deployment_contact_email=f"deploy{n}@partner{n}.example",
                     customer_name=f"Boulangerie {n}")

    response = admin_client.get(admin_url(Order, "changelist"), {"q": term})

    assert {o.number for o in response.context["cl"].result_list} == expected


def test_orders_are_found_by_their_reps_email_and_org_names(admin_client):
    mine = OrderFactory(partner_name="Réseaux Alpins SARL")
    OrderFactory()

    by_rep = admin_client.get(admin_url(Order, "changelist"), {"q": mine.account_rep.email.upper()})
    by_partner = admin_client.get(admin_url(Order, "changelist"), {"q": "alpins"})
    assert [o.pk for o in by_rep.context["cl"].result_list] == [mine.pk]
    assert mine.pk in [o.pk for o in by_partner.context["cl"].result_list]


def test_the_stalled_and_email_failed_filters(admin_client):
    stalled, failed, fine = OrderFactory(), OrderFactory(), OrderFactory()
    Provisioning.objects.filter(order=stalled).update(stalled_at=timezone.now())
    Provisioning.objects.filter(order=failed).update(email_failed_at=timezone.now())
    url = admin_url(Order, "changelist")

    def numbers(params):
        return {o.pk for o in admin_client.get(url, params).context["cl"].result_list}

    assert numbers({"stalled": "yes"}) == {stalled.pk}
    assert numbers({"stalled": "no"}) == {failed.pk, fine.pk}
    assert numbers({"email_failed": "yes"}) == {failed.pk}
    assert numbers({"product__exact": "A-WX", "provisioning__status__exact": "scheduled"}) == {
        stalled.pk, failed.pk, fine.pk}


def test_an_unfiltered_changelist_does_not_count_the_whole_table(admin_client, monkeypatch):
    for _ in range(3):
        OrderFactory()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")
    # Pretend the table is huge: above this many (estimated) rows no COUNT(*) is run.
    monkeypatch.setattr(EstimatedCountPaginator, "estimate_above", 1)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(admin_url(Order, "changelist"))

    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "orders_order" in q["sql"]]
    assert counts == []
    assert response.context["cl"].result_count == 3  # pg_class.reltuples after ANALYZE
    # A search still counts exactly (through its WHERE), never the whole table.
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(admin_url(Order, "changelist"), {"q": "CCW-1"})
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "orders_order" in q["sql"]]
    assert counts and all("WHERE" in sql for sql in counts)


def test_the_order_list_offers_the_provisioning_actions():
    assert admin.site._registry[Order].actions[:len(ORDER_ACTIONS)] == ORDER_ACTIONS


def test_history_is_append_only_even_for_a_superuser(admin_client, world):
    event = Event.objects.first()

    assert admin_client.get(admin_url(Event, "add")).status_code == 403
    assert admin_client.post(admin_url(Event, "delete", event.pk), {"post": "yes"}).status_code == 403
    admin_client.post(admin_url(Event, "change", event.pk), {"note": "rewritten"})
    event.refresh_from_db()
    assert event.note == ""


def test_setup_links_never_show_a_token_or_its_hash(admin_client, world):
    link = SetupLink.objects.first()
    for url in (admin_url(SetupLink, "changelist"), admin_url(SetupLink, "change", link.pk)):
        page = admin_client.get(url).content.decode()
        assert link.token_hash not in page and "token_hash" not in page


def test_the_outbox_filters_sent_pending_and_failed(admin_client, world):
    sent = OutboundEmail.objects.filter(last_error="").first()
    OutboundEmail.objects.filter(pk=sent.pk).update(sent_at=timezone.now())
    url = admin_url(OutboundEmail, "changelist")

    def ids(value):
        return {e.pk for e in admin_client.get(url, {"delivery": value}).context["cl"].result_list}

    assert ids("sent") == {sent.pk}
    assert ids("failed") == set(OutboundEmail.objects.exclude(last_error="").values_list("pk", flat=True))
    assert ids("pending") == set(OutboundEmail.objects.filter(last_error="", sent_at=None)
                                 .values_list("pk", flat=True))


def test_adding_an_api_key_shows_it_once_and_stores_only_its_hash(admin_client):
    response = admin_client.post(admin_url(ApiKey, "add"), {"name": "Ordering system"}, follow=True)

    key = ApiKey.objects.get()
    shown = [str(m) for m in response.context["messages"] if "copy it now" in str(m)]
    assert len(shown) == 1
    raw = shown[0].split(" is ", 1)[1].split(" ", 1)[0]
    assert hashlib.sha256(raw.encode()).hexdigest() == key.key_hash
    assert raw.startswith(key.prefix)
    again = admin_client.get(admin_url(ApiKey, "change", key.pk)).content.decode()
    assert raw not in again


def test_the_revoke_action_revokes_keys(admin_client):
    key = ApiKey.objects.create(name="Old", prefix="onb_x", key_hash="1" * 64)

    admin_client.post(admin_url(ApiKey, "changelist"),
                      {"action": "revoke", "_selected_action": [key.pk]})

    key.refresh_from_db()
    assert key.revoked_at is not None


def test_a_user_is_added_with_an_email_and_a_password_twice(admin_client):
    response = admin_client.post(admin_url(User, "add"), {
        "email": "Anne@Partner.example", "usable_password": "true",
        "password1": "correct-horse-battery", "password2": "correct-horse-battery"})

    assert response.status_code == 302
    anne = User.objects.get(email="anne@partner.example")
    assert anne.check_password("correct-horse-battery")


def test_an_admin_sees_and_sets_a_persons_email_language(admin_client):
    rep = User.objects.create_user("claire@vendor.example", "x")
    assert rep.language == "en"  # settings.LANGUAGE_CODE
    page = admin_client.get(admin_url(User, "change", rep.pk)).content.decode()
    assert 'name="language"' in page and '<option value="fr">French</option>' in page


def test_a_user_with_the_same_email_in_another_case_is_refused(admin_client):
    User.objects.create_user("anne@partner.example", "x")

    response = admin_client.post(admin_url(User, "add"), {
        "email": "ANNE@partner.example", "usable_password": "true",
        "password1": "correct-horse-battery", "password2": "correct-horse-battery"})

    assert response.status_code == 200
    assert User.objects.filter(email__iexact="anne@partner.example").count() == 1


def test_autocomplete_finds_reps_and_organisations(admin_client, world):
    order = world[0]
    response = admin_client.get("/admin/autocomplete/", {
        "app_label": "orders", "model_name": "order", "field_name": "partner_org",
        "term": order.partner_org.name})
    assert [r["id"] for r in response.json()["results"]] == [str(order.partner_org.pk)]
