"""The beat jobs. Each claims its rows with one set-based statement, so several beat or worker
processes may run the same job at once without doing a row twice, and works in batches, so its
number of queries grows with batches, not with orders. Tasks (tasks.py) and management commands
call these functions; they take `now` so tests can move the clock."""
import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection as db, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from config.db import retry_on_disconnect
from orders.models import Order
from provisioning import outbox, services
from provisioning.models import Event, OutboundEmail, Provisioning, SetupLink, Status

log = logging.getLogger(__name__)

BATCH_SIZE = 25
# A claimed order is ours this long: longer than a batch can take (25 sends × EMAIL_TIMEOUT),
# after which a crashed run's orders are claimed again by the next run.
EMAIL_LEASE = datetime.timedelta(minutes=15)
OUTBOX_LEASE = datetime.timedelta(minutes=5)
# Never emailed: nothing left to set up, or the setup window is closed.
NOT_EMAILED = (Status.SET_UP.value, Status.DEPLOYED.value, Status.CLOSED.value)


def _skip_locked():
    # SQLite (make run's default) has no row locks: it runs one writer at a time anyway.
    return " FOR UPDATE SKIP LOCKED" if db.features.has_select_for_update_skip_locked else ""


def _dt(value):
    return db.ops.adapt_datetimefield_value(value)


def _returning_rows(sql, params):
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _returning_ids(sql, params):
    return [row[0] for row in _returning_rows(sql, params)]


# --- Deployment email ----------------------------------------------------------------------------

@dataclass
class DeploymentRun:
    sent: list = field(default_factory=list)      # order numbers accepted by the mail server
    failed: list = field(default_factory=list)    # (order number, error)
    skipped: int = 0                              # due but set up or closed meanwhile
    batches: int = 0


def claim_due_deployment_emails(now, limit):
    """One statement: lease up to `limit` due, unsent orders (skipping rows another run is
    claiming right now) and return their ids. Orders set up or closed leave the due index
    instead (next attempt NULL): they are never emailed."""
    table = Provisioning._meta.db_table
    placeholders = ", ".join(["%s"] * len(NOT_EMAILED))
    # MATERIALIZED: the LIMIT is applied once. As `IN (subquery)` the planner may rescan the
    # subquery per row, each rescan skipping the rows this UPDATE has just changed and locking
    # the next ones: a claim of 2 came back with 3 orders in a full-suite run.
    sql = f"""
        WITH claimed AS MATERIALIZED (
            SELECT order_id FROM {table}
            WHERE email_sent_at IS NULL AND email_next_attempt_at <= %s
            ORDER BY email_next_attempt_at LIMIT %s{_skip_locked()})
        UPDATE {table} SET email_next_attempt_at = CASE
            WHEN set_up_at IS NOT NULL OR status IN ({placeholders}) THEN NULL ELSE %s END
        WHERE order_id IN (SELECT order_id FROM claimed)
        RETURNING order_id"""
    lease_until = timezone.now() + EMAIL_LEASE
    return _returning_ids(sql, [_dt(now), limit, *NOT_EMAILED, _dt(lease_until)])


def _claimed_rows(ids):
    return list(Provisioning.objects.filter(pk__in=ids).select_related("order")
                .prefetch_related("order__lines").order_by("email_next_attempt_at", "pk"))


def deployment_message(order, url, connection=None):
    context = {"order": order, "lines": list(order.lines.all()), "url": url,
               "window_closes_at": order.provisioning.window_closes_at}
    subject, text, html = outbox.render_email("deployment", context, order.language)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL,
                                     [order.deployment_contact_email], connection=connection)
    message.attach_alternative(html, "text/html")
    return message


def _reset(connection):
    """After a failed send the SMTP session may be broken: drop it, the next send reopens it."""
    try:
        connection.close()
    except Exception:  # closing a dead socket may itself fail
        pass


def _error_text(exc):
    return f"{type(exc).__name__}: {exc}"[:2000]


def send_batch(rows, connection, run):
    """Send the deployment email of each claimed row over one SMTP connection.
    1. skip rows set up or closed since; 2. send each email with a fresh token, one bad row never
    stopping the others; 3. record the accepted ones sent, issuing their links, and the failed
    ones for a retry with backoff. Returns {order_id: url} of the emails the mail server accepted.

    The new link is issued (and the order's previous one superseded) only in the transaction that
    records the accepted email, never before the send: if the mail server refuses, the partner's
    current link keeps working, the order still has exactly one live link
    (setuplink_one_live_per_order), and a superseded link always means a newer one was really
    sent. Until then the token exists only in this email; should the process die between the
    server's acceptance and that commit, the order is emailed again after its lease."""
    rows = [p for p in rows if p.set_up_at is None and p.status not in NOT_EMAILED]
    if not rows:
        return {}
    try:
        connection.open()
    except Exception as exc:  # mail server unreachable: the whole batch waits for its backoff
        _record_failures([(p, exc) for p in rows])
        run.failed += [(p.order.number, _error_text(exc)) for p in rows]
        return {}
    try:
        tokens = services.new_tokens([p.order for p in rows])
        sent, failed, urls = [], [], {}
        for provisioning in rows:
            url = services.setup_url(tokens[provisioning.pk])
            try:
                deployment_message(provisioning.order, url, connection).send()
            except Exception as exc:
                log.warning("deployment email for %s failed: %s", provisioning.order.number, exc)
                failed.append((provisioning, exc))
                _reset(connection)
            else:
                sent.append(provisioning)
                urls[provisioning.pk] = url
        # The mail server accepted these: record it even across a database restart, or the next
        # run would send them again (config/db.py).
        retry_on_disconnect(_record_sent, sent, tokens)
        retry_on_disconnect(_record_failures, failed)
    finally:
        _reset(connection)
    run.sent += [p.order.number for p in sent]
    run.failed += [(p.order.number, _error_text(exc)) for p, exc in failed]
    return urls


def _record_sent(rows, tokens):
    """Mark the accepted emails sent and make their tokens the orders' live links. An order set up
    while its email was on the wire keeps its installer's link (the email's link stays unknown)."""
    if not rows:
        return
    now = timezone.now()
    table = Provisioning._meta.db_table
    with transaction.atomic():
        updated = _returning_rows(f"""
            UPDATE {table} SET email_sent_at = COALESCE(email_sent_at, %s),
                email_next_attempt_at = NULL, email_failed_at = NULL, email_last_error = '',
                email_attempts = email_attempts + 1, updated_at = %s,
                status = CASE WHEN status = %s THEN %s ELSE status END
            WHERE order_id IN ({", ".join(["%s"] * len(rows))})
            RETURNING order_id, set_up_at""",
            [_dt(now), _dt(now), Status.SCHEDULED.value, Status.EMAIL_SENT.value, *[p.pk for p in rows]])
        # set_up_at itself, not `set_up_at IS NULL`: SQLite 3.40 (make run) returns 0 for the
        # latter in a RETURNING clause even when the column is NULL.
        not_set_up = {order_id for order_id, set_up_at in updated if set_up_at is None}
        services.issue_links([p.order for p in rows if p.pk in not_set_up],
                             SetupLink.Purpose.DEPLOYMENT, tokens=tokens, now=now)
        Event.objects.bulk_create([
            Event(order_id=p.pk, kind=Event.Kind.EMAIL_SENT, at=now,
                  data={"to": p.order.deployment_contact_email}) for p in rows])


def _record_failures(failures):
    """Attempts + 1, next attempt after a backoff, the error kept for admin and the dashboard;
    one EMAIL_FAILED event per failure streak."""
    if not failures:
        return
    now = timezone.now()
    with transaction.atomic():
        Provisioning.objects.filter(pk__in=[p.pk for p, _ in failures], email_sent_at__isnull=True).update(
            email_attempts=F("email_attempts") + 1,
            email_failed_at=Coalesce(F("email_failed_at"), Value(now)),
            email_next_attempt_at=Case(*[
                When(pk=p.pk, then=Value(now + outbox.backoff(p.email_attempts + 1)))
                for p, _ in failures]),
            email_last_error=Case(*[When(pk=p.pk, then=Value(_error_text(exc))) for p, exc in failures]),
            updated_at=now)
        Event.objects.bulk_create([
            Event(order_id=p.pk, kind=Event.Kind.EMAIL_FAILED, at=now,
                  data={"to": p.order.deployment_contact_email, "error": _error_text(exc)})
            for p, exc in failures if p.email_failed_at is None])


def send_due_deployment_emails(now=None, batch_size=BATCH_SIZE, on_sent=None):
    """The deployment email of every order whose start date (at DEPLOYMENT_EMAIL_HOUR, site time)
    has come, including those a stopped beat missed.
    1. claim a batch (lease); 2. send it over one connection; 3. repeat until a short batch.
    `on_sent(order_id, url)` is told each accepted email's link (load_demo prints it)."""
    now = now or timezone.now()
    run = DeploymentRun()
    connection = get_connection()
    while True:
        ids = claim_due_deployment_emails(now, batch_size)
        if not ids:
            break
        run.batches += 1
        rows = _claimed_rows(ids)
        eligible = [p for p in rows if p.set_up_at is None and p.status not in NOT_EMAILED]
        run.skipped += len(rows) - len(eligible)
        try:
            urls = send_batch(eligible, connection, run)
        except Exception:  # e.g. the database hiccuped: these orders are retried after the lease
            log.exception("deployment email batch failed; retried after the lease")
            continue
        if on_sent:
            for order_id, url in urls.items():
                on_sent(order_id, url)
        if len(ids) < batch_size:
            break
    return run


def send_deployment_email_now(order_id):
    """Resend / change contact: the same send path for one order the caller has just claimed."""
    run = DeploymentRun()
    urls = send_batch(_claimed_rows([order_id]), get_connection(), run)
    if order_id in urls:
        return services.SendOutcome(sent=True, url=urls[order_id])
    error = run.failed[0][1] if run.failed else ""
    return services.SendOutcome(sent=False, error=error)


# --- Stalled provisioning ------------------------------------------------------------------------

@dataclass
class StallRun:
    flagged: list = field(default_factory=list)   # order numbers
    reps_emailed: int = 0


def flag_stalled_provisioning(now=None):
    """Orders not set up one day after their start date.
    1. flag them all with ONE update (a row flagged by a concurrent run no longer matches);
    2. STALLED + REP_NOTIFIED history; 3. one outbox email per rep listing their newly stalled
    orders. All in one transaction: flagged means the rep's email is in the outbox."""
    now = now or timezone.now()
    table = Provisioning._meta.db_table
    run = StallRun()
    with transaction.atomic():
        ids = _returning_ids(f"""
            UPDATE {table} SET stalled_at = %s, rep_notified_at = %s, updated_at = %s
            WHERE stalled_at IS NULL AND set_up_at IS NULL AND stall_due_at <= %s
              AND status NOT IN (%s, %s)
            RETURNING order_id""",
            [_dt(now), _dt(now), _dt(now), _dt(now), Status.CLOSED.value, Status.DEPLOYED.value])
        if not ids:
            return run
        orders = list(Order.objects.filter(pk__in=ids).select_related("account_rep", "provisioning")
                      .order_by("requested_start_date", "number"))
        by_rep = defaultdict(list)
        for order in orders:
            by_rep[order.account_rep].append(order)
        dashboard = settings.SITE_URL + reverse("provisioning:stalled")
        events = []
        for rep, rep_orders in by_rep.items():
            email = outbox.enqueue(OutboundEmail.Kind.REP_STALLED, rep.email, "rep-stalled",
                                   {"rep": rep, "orders": rep_orders, "dashboard_url": dashboard},
                                   language=rep.language)
            for order in rep_orders:
                events.append(Event(order=order, kind=Event.Kind.STALLED, at=now))
                events.append(Event(order=order, kind=Event.Kind.REP_NOTIFIED, at=now,
                                    data={"rep": rep.email, "email_id": email.pk}))
        Event.objects.bulk_create(events)
    run.flagged = [order.number for order in orders]
    run.reps_emailed = len(by_rep)
    return run


# --- Setup windows -------------------------------------------------------------------------------

def close_expired_setup_windows(now=None):
    """Orders whose setup window ended without a deployment become CLOSED (their links say
    'expired') until an admin or rep re-opens them. One update, one history insert."""
    now = now or timezone.now()
    table = Provisioning._meta.db_table
    with transaction.atomic():
        ids = _returning_ids(f"""
            UPDATE {table} SET status = %s, updated_at = %s
            WHERE window_closes_at < %s AND deployed_at IS NULL AND NOT (status IN (%s, %s))
            RETURNING order_id""",
            [Status.CLOSED.value, _dt(now), _dt(now), Status.CLOSED.value, Status.DEPLOYED.value])
        Event.objects.bulk_create([Event(order_id=pk, kind=Event.Kind.CLOSED, at=now) for pk in ids])
    return ids


# --- Outbox sweep --------------------------------------------------------------------------------

def send_pending_emails(now=None, batch_size=100):
    """Outbox emails whose delivery task never ran (broker down) or whose retry is due.
    1. lease a batch (skip rows another sweep holds); 2. deliver each over one connection;
    a failure pushes that email's next attempt back (outbox.backoff)."""
    now = now or timezone.now()
    table = OutboundEmail._meta.db_table
    sent = failed = 0
    connection = get_connection()
    while True:
        ids = _returning_ids(f"""
            WITH claimed AS MATERIALIZED (
                SELECT id FROM {table} WHERE sent_at IS NULL AND next_attempt_at <= %s
                ORDER BY next_attempt_at LIMIT %s{_skip_locked()})
            UPDATE {table} SET next_attempt_at = %s
            WHERE id IN (SELECT id FROM claimed)
            RETURNING id""", [_dt(now), batch_size, _dt(timezone.now() + OUTBOX_LEASE)])
        for email_id in ids:
            try:
                ok = outbox.deliver(email_id, connection)
            except Exception:
                log.exception("outbox email %s could not be delivered", email_id)
                ok = False
            if ok:
                sent += 1
            else:
                failed += 1
                _reset(connection)
        _reset(connection)
        if len(ids) < batch_size:
            break
    return {"sent": sent, "failed": failed}
