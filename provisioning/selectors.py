"""Read queries of the account-rep dashboard. Each returns a queryset or plain data in a fixed
number of queries, whatever the number of rows."""
import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Window
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from orders.selectors import email_q, whole_address
from orgs.models import JoinRequest
from provisioning.models import UNDELIVERED, Event, OutboundEmail, Provisioning, Status
from provisioning.lifecycle import local_time_on

SETUP_BEGUN, NEVER_BEGUN, EMAIL_FAILED = "begun", "never", "email_failed"
WAITING_APPROVAL = "waiting_approval"  # a request to join the partner org awaits its admins


def is_rep(user):
    """Who may open the dashboard: staff in the reps group, and superusers."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.is_staff and user.groups.filter(name=settings.REPS_GROUP).exists()


# What a dashboard row shows (and lifecycle.can_reopen reads): a field left out costs a query per
# row when read, which the dashboard's query budgets in the tests catch.
ROW_FIELDS = ["status", "email_attempts", "email_last_error", "email_failed_at", "email_sent_at",
              "email_delivery", "email_delivery_reason", "setup_begun_at", "stall_due_at",
              "last_contacted_at", "window_closes_at", "deployed_at",
              "order__number", "order__product", "order__requested_start_date",
              "order__deployment_contact_email", "order__partner_name", "order__customer_name"]


def stalled_orders(user, *, everyone=False, product="", min_days_overdue=None, setup="", search="",
                   with_rep=False):
    """Orders flagged stalled and still not set up, most overdue first (the stalled index).
    Each row carries its order, its last history event and the rep's last contact note; with_rep,
    the order's rep too (the export names them, the page does not)."""
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
    if setup == SETUP_BEGUN:
        rows = rows.filter(setup_begun_at__isnull=False)
    elif setup == NEVER_BEGUN:
        rows = rows.filter(setup_begun_at__isnull=True)
    elif setup == EMAIL_FAILED:
        rows = rows.filter(email_failed_at__isnull=False, email_sent_at__isnull=True)
    waiting = JoinRequest.objects.filter(order=OuterRef("order"), status=JoinRequest.Status.PENDING)
    if setup == WAITING_APPROVAL:
        rows = rows.filter(Exists(waiting))
    if search.strip():
        rows = rows.filter(search_q(search, prefix="order__"))
    last = Event.objects.filter(order=OuterRef("order")).order_by("-at", "-pk")
    contacted = last.filter(kind=Event.Kind.CONTACTED)
    if with_rep:
        rows = rows.select_related("order__account_rep").only(*ROW_FIELDS, "order__account_rep__email")
    else:
        rows = rows.select_related("order").only(*ROW_FIELDS)
    return (rows
            .annotate(last_event_kind=Subquery(last.values("kind")[:1]),
                      last_event_at=Subquery(last.values("at")[:1]),
                      last_contact_note=Subquery(contacted.values("note")[:1]),
                      waiting_approval=Exists(waiting))
            .order_by("stall_due_at", "order_id"))


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


def failing_emails(user, everyone=False):
    """Outbox emails about this rep's orders (or the rep's own notices) that keep failing, the
    deployment email aside (failing_deployment_emails lists those)."""
    rows = OutboundEmail.objects.filter(sent_at__isnull=True, attempts__gt=0) \
        .exclude(kind=OutboundEmail.Kind.DEPLOYMENT)
    if not everyone:
        rows = rows.filter(Q(order__account_rep=user) | Q(to__iexact=user.email))
    return rows.count()


# What the failing panel shows: not the outbox email's body and secrets, only its next attempt.
FAILING_FIELDS = ["status", "email_attempts", "email_last_error", "email_failed_at", "email_sent_at",
                  "email_delivery", "email_delivery_reason", "email_delivery_at",
                  "order__number", "order__deployment_contact_email", "order__partner_name",
                  "order__customer_name"]


def failing_deployment_emails(user, everyone=False, limit=10):
    """Orders whose deployment email the mail server refused and the outbox still retries, or that
    bounced (or the provider rejected) once sent, stalled or not: from the first failure on the
    start date, or the moment the provider's webhook said so, not only once the order stalls the
    next day. Longest failing first, at most `limit`, each row carrying the total (a window
    count) and `failing_since`: one query, on the partial indexes prov_email_failed_idx and
    prov_email_undelivered_idx."""
    rows = (Provisioning.objects
            .filter(Q(email_failed_at__isnull=False, email_sent_at__isnull=True)
                    | Q(email_delivery__in=UNDELIVERED), set_up_at__isnull=True)
            .exclude(status__in=[Status.CLOSED, Status.DEPLOYED]))
    if not everyone:
        rows = rows.filter(order__account_rep=user)
    return list(rows.select_related("order")
                .only(*FAILING_FIELDS)
                .annotate(total=Window(Count("pk")),
                          failing_since=Coalesce("email_failed_at", "email_delivery_at"),
                          next_attempt_at=F("outbox_email__next_attempt_at"))
                .order_by("failing_since", "order_id")[:limit])


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


def _events_per_day(user, everyone, first, end):
    """{(day, kind): count} of stalled, set-up and reminder events from `first` to before `end`."""
    events = Event.objects.filter(kind__in=[Event.Kind.STALLED, Event.Kind.SET_UP, *REMINDERS],
                                  at__gte=local_time_on(first, 0), at__lt=local_time_on(end, 0))
    if not everyone:
        events = events.filter(order__account_rep=user)
    return {(row["day"], row["kind"]): row["n"] for row in
            events.annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
            .values("day", "kind").annotate(n=Count("pk")).order_by()}
