"""Read queries of the account-rep dashboard, each in a fixed number of queries whatever the
number of rows. Those the dashboard makes at every view are SQL written once per process (per
combination of filters): Django compiling them again cost more than PostgreSQL running them
(bench/NOTES.md). tests/test_dashboard_sql.py holds each to the ORM queryset it replaced."""
import datetime
import functools

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, Q
from django.utils import timezone

from config.db import SelectRelated, execute_prepared, sql_datetime
from orders.models import Order
from orders.selectors import email_q, whole_address
from orgs.models import JoinRequest
from provisioning.models import UNDELIVERED, Event, OutboundEmail, Provisioning, Status
from provisioning.lifecycle import local_time_on

SETUP_BEGUN, NEVER_BEGUN, EMAIL_FAILED = "begun", "never", "email_failed"
WAITING_APPROVAL = "waiting_approval"  # a request to join the partner org awaits its admins


def _quoted(values):
    """Code constants written into the SQL rather than passed: a partial index's condition
    (prov_email_undelivered_idx) serves a query only if the planner reads the same values."""
    assert all(str(value).isidentifier() for value in values)
    return ", ".join(f"'{value}'" for value in values)


def is_rep(user):
    """Who may open the dashboard: staff in the reps group, and superusers."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not user.is_staff:
        return False
    with connection.cursor() as cursor:  # at every request of a rep's page: planned once
        execute_prepared(cursor, _in_group_sql(), [user.pk, settings.REPS_GROUP])
        return cursor.fetchone() is not None


@functools.cache
def _in_group_sql():
    groups = get_user_model().groups.field
    return (f'SELECT 1 FROM "{groups.m2m_db_table()}" "m" '
            f'JOIN "{Group._meta.db_table}" "g" ON "g"."id" = "m"."{groups.m2m_reverse_name()}" '
            f'WHERE "m"."{groups.m2m_column_name()}" = %s AND "g"."name" = %s')


# What a dashboard row shows (and lifecycle.can_reopen reads): a field left out costs a query per
# row when read, which the dashboard's query budgets in the tests catch.
ROW_FIELDS = ["status", "email_attempts", "email_last_error", "email_failed_at", "email_sent_at",
              "email_delivery", "email_delivery_reason", "setup_begun_at", "stall_due_at",
              "last_contacted_at", "window_closes_at", "deployed_at",
              "order__number", "order__product", "order__requested_start_date",
              "order__deployment_contact_email", "order__partner_name", "order__customer_name"]


_PENDING = (f'EXISTS (SELECT 1 FROM "{JoinRequest._meta.db_table}" "j" '
            f'WHERE "j"."order_id" = "t"."order_id" '
            f'AND "j"."status" = {_quoted([JoinRequest.Status.PENDING])})')
_SETUP = {SETUP_BEGUN: '"t"."setup_begun_at" IS NOT NULL',
          NEVER_BEGUN: '"t"."setup_begun_at" IS NULL',
          EMAIL_FAILED: '"t"."email_failed_at" IS NOT NULL AND "t"."email_sent_at" IS NULL',
          WAITING_APPROVAL: _PENDING}


def stalled_orders(user, *, everyone=False, product="", min_days_overdue=None, setup="", search="",
                   with_rep=False):
    """Orders flagged stalled and still not set up, most overdue first (the stalled index), as
    StalledRows: counted and sliced by a Paginator, or iterated whole by the export. Each row
    carries its order, its last history event, the rep's last contact note and whether a request
    to join waits; with_rep, the order's rep too (the export names them, the page does not)."""
    where, params = ['"t"."stalled_at" IS NOT NULL AND "t"."set_up_at" IS NULL'], []
    if not everyone:
        where.append('"order"."account_rep_id" = %s')
        params.append(user.pk)
    if product:
        where.append('"order"."product" = %s')
        params.append(product)
    if min_days_overdue:
        # Overdue by N days = start date N days ago or more; stall_due_at is start date + 1.
        last_start = timezone.localdate() - datetime.timedelta(days=min_days_overdue)
        where.append('"t"."stall_due_at" <= %s')
        params.append(sql_datetime(local_time_on(last_start + datetime.timedelta(days=1),
                                                 settings.DEPLOYMENT_EMAIL_HOUR)))
    if setup in _SETUP:
        where.append(_SETUP[setup])
    if search.strip():
        # The ORM writes the search (an index serves each of its branches): orders it finds.
        found, found_params = (Order.objects.filter(search_q(search)).values("pk")
                               .query.sql_with_params())
        where.append(f'"t"."order_id" IN ({found})')
        params.extend(found_params)
    return StalledRows(" AND ".join(where), params, with_rep)


def _last_event(column, kind=""):
    return (f'(SELECT "e"."{column}" FROM "{Event._meta.db_table}" "e" '
            f'WHERE "e"."order_id" = "t"."order_id"{kind} ORDER BY "e"."at" DESC, "e"."id" DESC '
            f'LIMIT 1)')


@functools.lru_cache(maxsize=256)  # one per combination of filters, and per search's SQL
def _stalled_statement(where, with_rep):
    paths = ("order", "order__account_rep") if with_rep else ("order",)
    only = [*ROW_FIELDS, "order__account_rep", "order__account_rep__email"] if with_rep else ROW_FIELDS
    return SelectRelated(
        Provisioning, *paths, only=only, where=where,
        extra={"last_event_kind": _last_event("kind"),
               "last_event_at": (_last_event("at"), Event._meta.get_field("at")),
               "last_contact_note": _last_event(
                   "note", f' AND "e"."kind" = {_quoted([Event.Kind.CONTACTED])}'),
               "waiting_approval": (_PENDING, BooleanField())},
        then='ORDER BY "t"."stall_due_at", "t"."order_id"')


class StalledRows:
    """stalled_orders' rows: their count and a slice of them (what a Paginator asks), or all of
    them in chunks (the export). The SQL is written once per combination of filters."""

    def __init__(self, where, params, with_rep):
        self.where, self.params, self.with_rep = where, params, with_rep

    def count(self):
        join = (f'JOIN "{Order._meta.db_table}" "order" ON "order"."id" = "t"."order_id" '
                if '"order".' in self.where else "")
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{Provisioning._meta.db_table}" "t" {join}'
                           f'WHERE {self.where}', self.params)
            return cursor.fetchone()[0]

    def __getitem__(self, window):
        if not isinstance(window, slice) or window.step or window.stop is None:
            raise TypeError("StalledRows gives a window of rows: rows[start:stop]")
        start = window.start or 0
        return _stalled_statement(self.where, self.with_rep).all(
            self.params, limit=max(window.stop - start, 0), offset=start)

    def iterator(self, chunk_size=500):
        return _stalled_statement(self.where, self.with_rep).iterator(self.params, chunk_size)

    def __iter__(self):
        return self.iterator()


def search_q(search, prefix=""):
    """The dashboard search: a whole email address by the admin's rule (orders.selectors.email_q:
    the deployment contact's or the rep's), else a fragment of the order number, a partner or
    customer name or the contact email, or a partner or customer id. Every branch has an index
    (trigram GIN for the fragments, orders 0004 and 0005; btree for the ids, matched as typed,
    upper- or lower-case rather than iexact, which no index serves), so PostgreSQL may read the
    orders first."""
    search = search.strip()
    email = whole_address(search)
    if email:
        return email_q(email, prefix)
    ids = {search, search.upper(), search.lower()}
    p = prefix
    return (Q(**{f"{p}number__icontains": search}) | Q(**{f"{p}partner_name__icontains": search})
            | Q(**{f"{p}customer_name__icontains": search})
            | Q(**{f"{p}deployment_contact_email__icontains": search})
            | Q(**{f"{p}partner_external_id__in": ids}) | Q(**{f"{p}customer_external_id__in": ids}))


def days_overdue(provisioning, today=None):
    today = today or timezone.localdate()
    return (today - provisioning.order.requested_start_date).days


@functools.cache
def _failing_emails_sql(everyone):
    mine = "" if everyone else ' AND ("o"."account_rep_id" = %s OR UPPER("m"."to") = UPPER(%s))'
    return (f'SELECT count(*) FROM "{OutboundEmail._meta.db_table}" "m" '
            f'LEFT JOIN "{Order._meta.db_table}" "o" ON "o"."id" = "m"."order_id" '
            f'WHERE "m"."sent_at" IS NULL AND "m"."attempts" > 0 '
            f'AND "m"."kind" <> {_quoted([OutboundEmail.Kind.DEPLOYMENT])}{mine}')


def failing_emails(user, everyone=False):
    """Outbox emails about this rep's orders (or the rep's own notices, to the rep's address in
    any case) that keep failing, the deployment email aside (failing_deployment_emails lists
    those). Written once per process: the dashboard asks at every view."""
    with connection.cursor() as cursor:
        cursor.execute(_failing_emails_sql(everyone), [] if everyone else [user.pk, user.email])
        return cursor.fetchone()[0]


# What the failing panel shows: not the outbox email's body and secrets, only its next attempt.
FAILING_FIELDS = ["status", "email_attempts", "email_last_error", "email_failed_at", "email_sent_at",
                  "email_delivery", "email_delivery_reason", "email_delivery_at",
                  "order__number", "order__deployment_contact_email", "order__partner_name",
                  "order__customer_name"]


@functools.cache
def _failing_deployment_statement(everyone):
    next_attempt = OutboundEmail._meta.get_field("next_attempt_at")
    return SelectRelated(
        Provisioning, "order", only=FAILING_FIELDS,
        where=(f'(("t"."email_failed_at" IS NOT NULL AND "t"."email_sent_at" IS NULL) '
               f'OR "t"."email_delivery" IN ({_quoted(UNDELIVERED)})) '
               f'AND "t"."set_up_at" IS NULL '
               f'AND "t"."status" NOT IN ({_quoted([Status.CLOSED, Status.DEPLOYED])})'
               + ("" if everyone else ' AND "order"."account_rep_id" = %s')),
        extra={"total": "count(*) OVER ()",
               "failing_since": ('coalesce("t"."email_failed_at", "t"."email_delivery_at")',
                                 Provisioning._meta.get_field("email_failed_at")),
               "next_attempt_at": (f'(SELECT "m"."next_attempt_at" FROM '
                                   f'"{OutboundEmail._meta.db_table}" "m" '
                                   f'WHERE "m"."id" = "t"."outbox_email_id")', next_attempt)},
        then='ORDER BY coalesce("t"."email_failed_at", "t"."email_delivery_at"), "t"."order_id"')


def failing_deployment_emails(user, everyone=False, limit=10):
    """Orders whose deployment email the mail server refused and the outbox still retries, or that
    bounced (or the provider rejected) once sent, stalled or not: from the first failure on the
    start date, or the moment the provider's webhook said so, not only once the order stalls the
    next day. Longest failing first, at most `limit`, each row carrying the total (a window
    count) and `failing_since`: one query, on the partial indexes prov_email_failed_idx and
    prov_email_undelivered_idx, written once per process."""
    return _failing_deployment_statement(everyone).all([] if everyone else [user.pk], limit=limit)


CHART_CACHE_SECONDS = 3600
CHART_CACHE_KEY = "chart"  # tests give each test its own (tests/conftest.py)


REMINDERS = (Event.Kind.REMINDED, Event.Kind.WINDOW_REMINDED)  # nudges, counted together


def daily_chart(user, everyone=False, days=30):
    """Orders stalled and set up per day (site time) over the last `days` days, from history.

    Past days cannot change (history is append-only, with the time of the event), so their counts
    are cached until the day ends, for an hour at most (a rep re-assigned to orders by a re-import
    sees it within the hour); only today's are counted at each view, so a view joins one day's
    events rather than the whole period's."""
    today = timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    key = f"{CHART_CACHE_KEY}:{'all' if everyone else user.pk}:{first.isoformat()}:{today.isoformat()}"
    tomorrow = today + datetime.timedelta(days=1)
    past = cache.get(key)
    if past is None:  # one query for every day, whose past part is kept
        counts = _events_per_day(user, everyone, first, tomorrow)
        cache.set(key, {k: n for k, n in counts.items() if k[0] < today}, CHART_CACHE_SECONDS)
    else:
        counts = {**past, **_events_per_day(user, everyone, today, tomorrow)}
    return [{"day": first + datetime.timedelta(days=i),
             "stalled": counts.get((first + datetime.timedelta(days=i), Event.Kind.STALLED), 0),
             "set_up": counts.get((first + datetime.timedelta(days=i), Event.Kind.SET_UP), 0),
             "reminded": sum(counts.get((first + datetime.timedelta(days=i), kind), 0)
                             for kind in REMINDERS)}
            for i in range(days)]


CHART_KINDS = (Event.Kind.STALLED, Event.Kind.SET_UP, *REMINDERS)


@functools.cache
def _events_per_day_sql(everyone, zone):
    day, zone_params = connection.ops.datetime_cast_date_sql('"e"."at"', (), zone)
    mine = "" if everyone else ' AND "o"."account_rep_id" = %s'
    join = "" if everyone else f'JOIN "{Order._meta.db_table}" "o" ON "o"."id" = "e"."order_id" '
    return (f'SELECT {day}, "e"."kind", count(*) FROM "{Event._meta.db_table}" "e" {join}'
            f'WHERE "e"."kind" IN ({_quoted(CHART_KINDS)}) AND "e"."at" >= %s AND "e"."at" < %s'
            f'{mine} GROUP BY 1, 2'), list(zone_params)


def _events_per_day(user, everyone, first, end):
    """{(day, kind): count} of stalled, set-up and reminder events from `first` to before `end`
    (days in the site's time zone). Written once per process: the dashboard asks at every view."""
    sql, params = _events_per_day_sql(everyone, timezone.get_current_timezone_name())
    params = [*params, sql_datetime(local_time_on(first, 0)), sql_datetime(local_time_on(end, 0))]
    with connection.cursor() as cursor:
        cursor.execute(sql, params if everyone else [*params, user.pk])
        return {(_day(day), kind): n for day, kind, n in cursor.fetchall()}


def _day(value):
    """A date, as PostgreSQL gives it; SQLite (make run's default) gives its ISO text."""
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)
