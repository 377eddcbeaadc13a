"""The dashboard's SQL, written once per process (provisioning.selectors), finds, orders, counts
and carries what the ORM querysets it replaces did (below, word for word): the rows for every
filter and their combinations, the failing panels and the chart, on data in every state."""
import datetime
import itertools

import pytest
import time_machine
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Window
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from orgs.models import JoinRequest
from provisioning import jobs, lifecycle, selectors
from provisioning.lifecycle import local_time_on
from provisioning.models import UNDELIVERED, Event, OutboundEmail, Provisioning, Status
from tests.factories import EmailedOrderFactory, PartnerOrgFactory, RepFactory
from tests.helpers import local

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 1)
NOW = local(TODAY, 10)


def orm_stalled_orders(user, *, everyone=False, product="", min_days_overdue=None, setup="", search="",
                   with_rep=False):
    """provisioning.selectors.stalled_orders as the ORM wrote it before (word for word)."""
    rows = Provisioning.objects.filter(stalled_at__isnull=False, set_up_at__isnull=True)
    if not everyone:
        rows = rows.filter(order__account_rep=user)
    if product:
        rows = rows.filter(order__product=product)
    if min_days_overdue:
        # Overdue by N days = start date N days ago or more; stall_due_at is start date + 1.
        last_start = timezone.localdate() - datetime.timedelta(days=min_days_overdue)
        rows = rows.filter(stall_due_at__lte=local_time_on(last_start + datetime.timedelta(days=1),
                                                            settings.DEPLOYMENT_EMAIL_HOUR))
    if setup == selectors.SETUP_BEGUN:
        rows = rows.filter(setup_begun_at__isnull=False)
    elif setup == selectors.NEVER_BEGUN:
        rows = rows.filter(setup_begun_at__isnull=True)
    elif setup == selectors.EMAIL_FAILED:
        rows = rows.filter(email_failed_at__isnull=False, email_sent_at__isnull=True)
    waiting = JoinRequest.objects.filter(order=OuterRef("order"), status=JoinRequest.Status.PENDING)
    if setup == selectors.WAITING_APPROVAL:
        rows = rows.filter(Exists(waiting))
    if search.strip():
        rows = rows.filter(selectors.search_q(search, prefix="order__"))
    last = Event.objects.filter(order=OuterRef("order")).order_by("-at", "-pk")
    contacted = last.filter(kind=Event.Kind.CONTACTED)
    if with_rep:
        rows = rows.select_related("order__account_rep").only(*selectors.ROW_FIELDS, "order__account_rep__email")
    else:
        rows = rows.select_related("order").only(*selectors.ROW_FIELDS)
    return (rows
            .annotate(last_event_kind=Subquery(last.values("kind")[:1]),
                      last_event_at=Subquery(last.values("at")[:1]),
                      last_contact_note=Subquery(contacted.values("note")[:1]),
                      waiting_approval=Exists(waiting))
            .order_by("stall_due_at", "order_id"))



SHOWN = [*(name.replace("order__", "order.") for name in selectors.ROW_FIELDS), "pk",
         "last_event_kind", "last_event_at", "last_contact_note", "waiting_approval"]


def values_of(row, names):
    """`row`'s value at each dotted path of `names`, as a page reads it."""
    values = []
    for name in names:
        value = row
        for part in name.split("."):
            value = getattr(value, part)
        values.append(value)
    return values


def shown(row, with_rep=False):
    return values_of(row, SHOWN + (["order.account_rep.email"] if with_rep else []))


@pytest.fixture
def world():
    with time_machine.travel(NOW, tick=False) as clock:
        anne, bruno = RepFactory(email="anne@vendor.example"), RepFactory(email="bruno@vendor.example")
        orders = []
        for n in range(16):
            orders.append(EmailedOrderFactory(
                number=f"CCW-{2130 + n}", account_rep=anne if n % 3 else bruno,
                product=["A-WX", "A-FLEX", "A-SPK"][n % 3],
                requested_start_date=TODAY - datetime.timedelta(days=1 + n % 7),
                partner_name=["Réseaux Alpins", "Martin & Fils", "Télécom Sud"][n % 3],
                customer_name=f"Client {n} Martin" if n % 4 == 0 else f"Client {n}",
                deployment_contact_email=f"it{n % 5}@partner.example",
                customer_external_id=f"CUS-{700 + n}"))
        not_stalled = EmailedOrderFactory(account_rep=anne, requested_start_date=TODAY)
        jobs.flag_stalled_provisioning(NOW)
        rows = Provisioning.objects.filter
        rows(pk=orders[1].pk).update(setup_begun_at=NOW)
        rows(pk=orders[2].pk).update(email_sent_at=None, email_failed_at=NOW, email_attempts=2)
        rows(pk=orders[4].pk).update(email_delivery="bounced", email_delivery_reason="550")
        rows(pk=orders[5].pk).update(status="closed")
        rows(pk=orders[6].pk).update(set_up_at=NOW, status="set_up")  # leaves the list
        org = PartnerOrgFactory()
        JoinRequest.objects.create(organization=org, email="a@partner.example", order=orders[7],
                                   nonce="n1")
        JoinRequest.objects.create(organization=org, email="b@partner.example", order=orders[8],
                                   nonce="n2", status=JoinRequest.Status.DECLINED)
        clock.shift(datetime.timedelta(minutes=5))
        lifecycle.mark_contacted(orders[3], "Called", actor=anne)
        clock.shift(datetime.timedelta(minutes=5))
        lifecycle.mark_contacted(orders[3], "Called again, no answer", actor=anne)
        # Two events at one moment, after the import's (which the database dates): the later id
        # is the last.
        later = NOW + datetime.timedelta(days=400)
        Event.objects.create(order=orders[9], kind=Event.Kind.REMINDED, at=later)
        Event.objects.create(order=orders[9], kind=Event.Kind.WINDOW_REMINDED, at=later)
        clock.shift(datetime.timedelta(hours=1))
        yield {"anne": anne, "bruno": bruno, "orders": orders, "not_stalled": not_stalled}


FILTERS = {"everyone": [False, True], "product": ["", "A-FLEX"], "min_days_overdue": [None, 4],
           "setup": ["", selectors.SETUP_BEGUN, selectors.NEVER_BEGUN, selectors.EMAIL_FAILED,
                     selectors.WAITING_APPROVAL],
           "search": ["", "martin", "CCW-213", "it2@partner.example", "ANNE@vendor.example",
                      "CUS-705", "nothing"]}


def test_every_combination_of_filters_finds_what_the_orm_found(world):
    anne = world["anne"]
    combinations = 0
    with time_machine.travel(NOW + datetime.timedelta(hours=2), tick=False):
        for values in itertools.product(*FILTERS.values()):
            filters = dict(zip(FILTERS, values))
            expected = orm_stalled_orders(anne, **filters)
            found = selectors.stalled_orders(anne, **filters)
            assert found.count() == expected.count(), filters
            assert [shown(row) for row in found] == [shown(row) for row in expected], filters
            combinations += 1
    assert combinations == 2 * 2 * 2 * 5 * 7
    everything = [shown(row) for row in selectors.stalled_orders(anne, everyone=True)]
    assert len(everything) == 15
    assert world["not_stalled"].pk not in [row[SHOWN.index("pk")] for row in everything]
    # Each state of the world shows in some row.
    rows = {row[SHOWN.index("pk")]: dict(zip(SHOWN, row)) for row in everything}
    orders = world["orders"]
    assert rows[orders[3].pk]["last_contact_note"] == "Called again, no answer"
    assert rows[orders[9].pk]["last_event_kind"] == Event.Kind.WINDOW_REMINDED
    assert rows[orders[7].pk]["waiting_approval"] is True
    assert rows[orders[8].pk]["waiting_approval"] is False


def test_pages_and_the_export_give_the_orm_s_rows(world):
    anne = world["anne"]
    with time_machine.travel(NOW + datetime.timedelta(hours=2), tick=False):
        for per_page, number in [(4, 1), (4, 3), (4, 4), (25, 1)]:
            page = Paginator(selectors.stalled_orders(anne, everyone=True), per_page).get_page(number)
            expected = Paginator(orm_stalled_orders(anne, everyone=True), per_page).get_page(number)
            assert page.paginator.count == expected.paginator.count == 15
            assert [shown(row) for row in page] == [shown(row) for row in expected]
        exported = selectors.stalled_orders(anne, everyone=True, with_rep=True).iterator(chunk_size=4)
        expected = orm_stalled_orders(anne, everyone=True, with_rep=True).iterator(chunk_size=4)
        assert [shown(row, True) for row in exported] == [shown(row, True) for row in expected]


# --- The failing panels and the chart ------------------------------------------------------------

def orm_failing_emails(user, everyone=False):
    rows = OutboundEmail.objects.filter(sent_at__isnull=True, attempts__gt=0) \
        .exclude(kind=OutboundEmail.Kind.DEPLOYMENT)
    if not everyone:
        rows = rows.filter(Q(order__account_rep=user) | Q(to__iexact=user.email))
    return rows.count()


def orm_failing_deployment_emails(user, everyone=False, limit=10):
    rows = (Provisioning.objects
            .filter(Q(email_failed_at__isnull=False, email_sent_at__isnull=True)
                    | Q(email_delivery__in=UNDELIVERED), set_up_at__isnull=True)
            .exclude(status__in=[Status.CLOSED, Status.DEPLOYED]))
    if not everyone:
        rows = rows.filter(order__account_rep=user)
    return list(rows.select_related("order")
                .only(*selectors.FAILING_FIELDS)
                .annotate(total=Window(Count("pk")),
                          failing_since=Coalesce("email_failed_at", "email_delivery_at"),
                          next_attempt_at=F("outbox_email__next_attempt_at"))
                .order_by("failing_since", "order_id")[:limit])


def orm_events_per_day(user, everyone, first, end):
    events = Event.objects.filter(kind__in=[Event.Kind.STALLED, Event.Kind.SET_UP,
                                            *selectors.REMINDERS],
                                  at__gte=local_time_on(first, 0), at__lt=local_time_on(end, 0))
    if not everyone:
        events = events.filter(order__account_rep=user)
    return {(row["day"], row["kind"]): row["n"] for row in
            events.annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
            .values("day", "kind").annotate(n=Count("pk")).order_by()}


FAILING_SHOWN = [*(name.replace("order__", "order.") for name in selectors.FAILING_FIELDS), "pk",
                 "total", "failing_since", "next_attempt_at"]


def failing_shown(rows):
    return [values_of(row, FAILING_SHOWN) for row in rows]


def test_the_failing_panels_and_the_chart_count_what_the_orm_counted(world):
    anne, bruno, orders = world["anne"], world["bruno"], world["orders"]
    rows = Provisioning.objects.filter
    with time_machine.travel(NOW + datetime.timedelta(hours=2), tick=False):
        rows(pk=orders[10].pk).update(email_delivery="rejected", email_delivery_at=NOW,
                                      email_delivery_reason="policy")
        rows(pk=orders[11].pk).update(email_sent_at=None, email_failed_at=NOW - datetime.timedelta(hours=1),
                                      email_attempts=4, status="closed")  # closed: not listed
        rows(pk=orders[12].pk).update(email_delivery="bounced", email_delivery_at=NOW, status="deployed")
        retried = OutboundEmail.objects.create(kind=OutboundEmail.Kind.DEPLOYMENT, order=orders[13],
                                               to="x@partner.example", subject="s", body_text="b",
                                               attempts=2, next_attempt_at=NOW + datetime.timedelta(hours=1))
        rows(pk=orders[13].pk).update(email_sent_at=None, email_failed_at=NOW, email_attempts=2,
                                      outbox_email=retried)
        for n, (kind, order, to, attempts, sent) in enumerate([
                (OutboundEmail.Kind.COLLEAGUE, orders[1], "c@partner.example", 1, None),
                (OutboundEmail.Kind.COLLEAGUE, orders[3], "c@partner.example", 0, None),
                (OutboundEmail.Kind.SETUP_REMINDER, orders[4], "c@partner.example", 3, NOW),
                (OutboundEmail.Kind.REP_STALLED, None, "Anne@Vendor.example", 2, None),
                (OutboundEmail.Kind.REP_STALLED, None, "bruno@vendor.example", 2, None),
                (OutboundEmail.Kind.JOIN_REQUEST, orders[0], "j@partner.example", 5, None),
                (OutboundEmail.Kind.DEPLOYMENT, orders[2], "d@partner.example", 2, None)]):
            OutboundEmail.objects.create(kind=kind, order=order, to=to, subject=f"s{n}",
                                         body_text="b", attempts=attempts, sent_at=sent)
        # Chart events either side of midnight, site time, and in the UTC day between.
        for order, hour, kind in [(orders[1], 23.5, Event.Kind.STALLED), (orders[1], 24.5, Event.Kind.SET_UP),
                                  (orders[0], 0.25, Event.Kind.REMINDED),
                                  (orders[3], 0.75, Event.Kind.WINDOW_REMINDED),
                                  (orders[2], 12, Event.Kind.CONTACTED)]:
            Event.objects.create(order=order, kind=kind,
                                 at=local(TODAY - datetime.timedelta(days=3), 0)
                                 + datetime.timedelta(hours=hour))
        for user in (anne, bruno):
            for everyone in (False, True):
                assert selectors.failing_emails(user, everyone) == orm_failing_emails(user, everyone)
                for limit in (1, 10):
                    assert failing_shown(selectors.failing_deployment_emails(user, everyone, limit)) \
                        == failing_shown(orm_failing_deployment_emails(user, everyone, limit))
                for first, end in [(TODAY - datetime.timedelta(days=30), TODAY + datetime.timedelta(days=1)),
                                   (TODAY - datetime.timedelta(days=3), TODAY - datetime.timedelta(days=2))]:
                    assert selectors._events_per_day(user, everyone, first, end) \
                        == orm_events_per_day(user, everyone, first, end)
        assert selectors.failing_emails(anne) == 2  # her order's colleague email, her own notice
        panel = selectors.failing_deployment_emails(anne, True)
        assert [row.order_id for row in panel][:1] == [orders[2].pk] and panel[0].total == 4
        assert any(row.next_attempt_at for row in panel)
        days = selectors._events_per_day(anne, True, TODAY - datetime.timedelta(days=3),
                                         TODAY - datetime.timedelta(days=1))
        assert days[(TODAY - datetime.timedelta(days=3), Event.Kind.STALLED)] == 1
        assert days[(TODAY - datetime.timedelta(days=2), Event.Kind.SET_UP)] == 1


@pytest.mark.parametrize("search", ["'; DROP TABLE orders_order; --", "%", "_", "\\", "100%",
                                    "Martin' OR '1'='1", '"order"."id"', "%s", "$1"])
def test_a_hostile_search_is_a_value_never_sql(world, client, search):
    anne = world["anne"]
    with time_machine.travel(NOW + datetime.timedelta(hours=2), tick=False):
        found = selectors.stalled_orders(anne, everyone=True, search=search)
        expected = orm_stalled_orders(anne, everyone=True, search=search)
        assert found.count() == expected.count()
        assert [shown(row) for row in found] == [shown(row) for row in expected]
        client.force_login(anne)
        assert client.get("/reps/stalled/", {"reps": "all", "q": search}).status_code == 200
    assert Provisioning.objects.count() == 17
