"""Query budgets of the pages and jobs no other test file bounds, and the wizard's session writes.
A regression (a query per row, a session rewritten on every page) fails `make test`; timings
are measured by `make bench` (bench/RESULTS.md), never asserted here."""
import datetime
import json

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import services as order_services
from provisioning import jobs
from provisioning.models import OutboundEmail, Provisioning, Status
from tests.factories import REP_EMAIL, OrderFactory, RepFactory
from tests.test_import import SPEC_ORDER
from tests.wizard_helpers import current_step, open_link, post_step, setup_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    return OrderFactory(requested_start_date=timezone.localdate() + datetime.timedelta(days=3))


# --- The wizard writes the session only when the answers change --------------------------------

def test_reloading_a_wizard_step_does_not_rewrite_the_session(client, order):
    open_link(client, order)
    client.get(setup_url(order))  # the wizard's storage is created: written once

    with CaptureQueriesContext(connection) as queries:
        reload = client.get(setup_url(order))

    assert reload.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in reload.cookies  # no save, so no new cookie
    # Sessions live in django_session (no copy in Redis): a reload reads the row by its key,
    # and writes nothing.
    session_sql = [q["sql"] for q in queries if "django_session" in q["sql"]]
    assert len(session_sql) == 1 and session_sql[0].startswith('SELECT "django_session"')


def test_an_answered_step_is_still_saved_in_the_session(client, order):
    open_link(client, order)
    client.get(setup_url(order))

    with CaptureQueriesContext(connection) as queries:
        answered = post_step(client, order, "role", {"role": "partner"})

    assert settings.SESSION_COOKIE_NAME in answered.cookies
    assert any(q["sql"].startswith('UPDATE "django_session"') for q in queries)
    assert current_step(client.get(setup_url(order))) == "installer"  # the answer survived the request


def test_going_back_to_a_step_is_saved_too(client, order):
    open_link(client, order)
    post_step(client, order, "role", {"role": "partner"})

    post_step(client, order, "installer", {}, wizard_goto_step="role")

    assert current_step(client.get(setup_url(order))) == "role"


# --- Jobs: queries grow with batches, not with rows ----------------------------------------------

def pending_emails(count):
    return OutboundEmail.objects.bulk_create([
        OutboundEmail(kind=OutboundEmail.Kind.DEPLOYED, to=f"person{i}@example.com",
                      subject="Deployed", body_text="Deployed.", next_attempt_at=timezone.now())
        for i in range(count)])


def test_the_outbox_sweep_costs_one_claim_per_batch_and_a_fixed_few_per_email(
        django_assert_max_num_queries, mailoutbox):
    pending_emails(12)

    # 3 claims (5 + 5 + 2) and per email: savepoint, lock, update, release.
    with django_assert_max_num_queries(3 + 12 * 4):
        assert jobs.send_pending_emails(batch_size=5) == {"sent": 12, "failed": 0}
    assert len(mailoutbox) == 12

    with django_assert_max_num_queries(1):  # an idle sweep is one claim
        assert jobs.send_pending_emails(batch_size=5) == {"sent": 0, "failed": 0}


def test_closing_expired_setup_windows_costs_the_same_for_one_order_or_many(
        django_assert_max_num_queries):
    rep = RepFactory()
    start = timezone.localdate() - datetime.timedelta(days=60)
    OrderFactory.create_batch(6, requested_start_date=start, account_rep=rep)

    # the update, the history insert, the unsent deployment emails withdrawn, and the
    # transaction's savepoint and release
    with django_assert_max_num_queries(5):
        closed = jobs.close_expired_setup_windows()
    assert len(closed) == 6
    assert Provisioning.objects.filter(status=Status.CLOSED).count() == 6

    with django_assert_max_num_queries(3):  # nothing closed: the update alone
        assert jobs.close_expired_setup_windows() == []


# --- Pages no other file bounds ------------------------------------------------------------------

def test_the_health_check_costs_one_query(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200


@pytest.mark.parametrize("services", [["calling"], ["calling", "meetings", "messaging", "webinars"]])
def test_the_order_api_costs_the_same_whatever_the_number_of_lines(
        client, django_assert_max_num_queries, services):
    _key, raw = order_services.create_api_key("Ordering system")
    RepFactory(email=SPEC_ORDER["account_rep_email"])
    order = dict(SPEC_ORDER, lines=[{"sku": f"A-WX-{s[:4].upper()}", "service": s, "quantity": 10}
                                    for s in services])

    with django_assert_max_num_queries(API_BUDGET):
        response = client.post("/api/orders", json.dumps(order), content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 201


# Measured 12 for 1 line and for 4: key, key's last use, rep, known order, order, lines (one bulk
# insert), provisioning, history, and the transactions' savepoints.
API_BUDGET = 12


def test_an_admin_search_by_email_finds_the_contacts_and_the_reps_orders(
        admin_client, django_assert_max_num_queries):
    rep = RepFactory(email=REP_EMAIL)
    by_contact = OrderFactory(deployment_contact_email="Deploy@Partner.example")
    by_rep = OrderFactory(account_rep=rep)
    OrderFactory(deployment_contact_email="someone.else@partner.example")

    # Measured 5: the session, user, the rep's id, the page, and the count through the same
    # indexed WHERE.
    with django_assert_max_num_queries(5):
        contact = admin_client.get("/admin/orders/order/", {"q": "deploy@partner.example"})
    found_by_rep = admin_client.get("/admin/orders/order/", {"q": REP_EMAIL})

    assert [o.pk for o in contact.context["cl"].result_list] == [by_contact.pk]
    assert [o.pk for o in found_by_rep.context["cl"].result_list] == [by_rep.pk]


def _link_of(kind):
    from provisioning.models import SetupLink
    from provisioning.links import issue_link

    order = OrderFactory()
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    if kind == "unknown":
        return "x" * 43
    if kind == "superseded":
        issue_link(order, "nora@partner.example", SetupLink.Purpose.DEPLOYMENT)
    elif kind == "closed":
        Provisioning.objects.filter(pk=order.pk).update(status=Status.CLOSED)
    elif kind == "deployed":
        Provisioning.objects.filter(pk=order.pk).update(status=Status.DEPLOYED, set_up_at=timezone.now(),
                                                        deployed_at=timezone.now())
    return raw


# Measured: the throttle's count lives in Redis, so a link is one query (the link with its order
# and provisioning); a superseded link adds the newer link's recipient, a closed one the rep; a
# valid link keeps itself in a new session row (its transaction: savepoint, insert, release).
LINK_PAGE_BUDGETS = {"valid": 5, "unknown": 1, "superseded": 2, "closed": 2, "deployed": 1}


@pytest.mark.parametrize("kind", sorted(LINK_PAGE_BUDGETS))
def test_each_setup_link_page_costs_a_query_or_two(client, kind):
    raw = _link_of(kind)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/setup/{raw}/")
    assert response.status_code in (200, 302, 404, 410)
    assert len(queries) <= LINK_PAGE_BUDGETS[kind]


def test_the_home_page_costs_nothing_for_a_visitor(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):
        assert client.get("/").status_code == 200
    with django_assert_max_num_queries(0):
        assert client.get("/accounts/login/").status_code == 200
