"""The order's provisioning lifecycle, in one place: every change of its status and of the
timestamps the jobs and pages read is a function here, with the history row it writes. The jobs
call the set-based versions (one statement for a whole batch), the pages and admin the
per-order ones; emails and other side effects stay with the callers, in the same transaction.

    scheduled ──email sent──▶ email_sent ──set up──▶ set_up ──deployed──▶ deployed
        │  └──────────────set up───────────────────────▲  │
        └──────────┬──────────────┴───────────────────────┘
                closed ◀── the setup window ends (re-open goes back to where it was)

Setup begun, handed over to the customer, stalled, contacted and the deployment email's delivery
(delivered, bounced…) are facts (timestamps and columns) on the way, not statuses. TRANSITIONS declares which statuses each change may start
from and end in; tests/test_lifecycle.py walks it.
"""
import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.db import placeholders, returning_rows, skip_locked, sql_datetime
from orders.models import Product
from provisioning import outbox
from provisioning.models import (UNDELIVERED, Delivery, Event, OutboundEmail, Provisioning,
                                 SetupMode, Status)

S = Status
OPEN = frozenset({S.SCHEDULED, S.EMAIL_SENT})          # not set up yet, window open
TRANSITIONS = {
    # name: (statuses it may start from, statuses it may end in); None = a new order
    "imported": (frozenset({None}), frozenset({S.SCHEDULED})),
    "rescheduled": (frozenset({S.SCHEDULED}), frozenset({S.SCHEDULED})),
    "email_sent": (OPEN | {S.SET_UP}, OPEN | {S.SET_UP}),  # set up while the email was on the wire
    "email_failed": (OPEN, OPEN),
    # The provider's webhook: a bounce (or rejection) is acted on while the order waits for its
    # setup; delivered and complaints are recorded whatever the status.
    "email_bounced": (OPEN, OPEN),
    "email_delivered": (frozenset(S), frozenset(S)),
    "email_taken_over": (OPEN, OPEN),                    # resend, change of contact, re-open
    "setup_begun": (OPEN, OPEN),
    "handed_over": (OPEN, OPEN),
    "set_up": (OPEN, frozenset({S.SET_UP})),
    "password_set": (OPEN | {S.SET_UP, S.DEPLOYED, S.CLOSED}, OPEN | {S.SET_UP, S.DEPLOYED, S.CLOSED}),
    "stalled": (OPEN, OPEN),
    "reminded": (frozenset({S.EMAIL_SENT}), frozenset({S.EMAIL_SENT})),
    "window_reminded": (frozenset({S.EMAIL_SENT, S.SET_UP}), frozenset({S.EMAIL_SENT, S.SET_UP})),
    "contacted": (frozenset(S), frozenset(S)),
    "closed": (OPEN | {S.SET_UP}, frozenset({S.CLOSED})),
    "reopened": (frozenset({S.CLOSED}) | OPEN | {S.SET_UP}, OPEN | {S.SET_UP}),
    "deployed": (frozenset({S.SET_UP}), frozenset({S.DEPLOYED})),
}
# A batch of deployment emails written to the outbox is its run's this long: longer than a batch
# can take (jobs.BATCH_SIZE sends × EMAIL_TIMEOUT, 100 × 10 s), after which the outbox sweep
# sends what a crashed run left.
EMAIL_LEASE = datetime.timedelta(minutes=20)
STALL_AFTER = datetime.timedelta(days=1)
# The contact is reminded this long after their email if they have not begun (before the day after
# which the rep would have to call).
REMIND_AFTER = datetime.timedelta(hours=20)


class InvalidTransition(Exception):
    """A change the order's status does not allow (TRANSITIONS)."""


def check(name, provisioning):
    if provisioning.status not in TRANSITIONS[name][0]:
        raise InvalidTransition(f"{name} from {provisioning.status}")


def statuses(name):
    """The statuses `name` may start from, for a set-based statement's WHERE clause."""
    return sorted(status.value for status in TRANSITIONS[name][0] if status is not None)


# --- Dates ---------------------------------------------------------------------------------------

def local_time_on(day, hour):
    """An aware datetime for `day` at `hour` in the site's time zone (DST-safe)."""
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=ZoneInfo(settings.TIME_ZONE))


def window_length(product):
    """How long a setup window of `product` lasts: SETUP_WINDOW_DAYS, SETUP_WINDOW_DAYS_FLEX for
    A-FLEX. The one place it is computed; every message that states the number of days reads it."""
    days = settings.SETUP_WINDOW_DAYS_FLEX if product == Product.A_FLEX else settings.SETUP_WINDOW_DAYS
    return datetime.timedelta(days=days)


def window_closed(provisioning, now=None):
    """The setup window is over: the order was closed, or its last day has passed and the hourly
    job has not closed it yet. Links then say 'expired' and the email can no longer change."""
    return provisioning.status == S.CLOSED or (now or timezone.now()) > provisioning.window_closes_at


def window_reminder_before(product):
    """How long before its window closes an order's installer (and rep) is reminded."""
    days = settings.WINDOW_REMINDER_DAYS_FLEX if product == "A-FLEX" else settings.WINDOW_REMINDER_DAYS
    return datetime.timedelta(days=days)


def schedule_for(order):
    """The provisioning timestamps an order's start date implies. The stall clock starts at the
    email hour; the email's actual delivery moves it later (`record_sent`)."""
    email_due = local_time_on(order.requested_start_date, settings.DEPLOYMENT_EMAIL_HOUR)
    window = local_time_on(order.requested_start_date + window_length(order.product), 23) \
        .replace(minute=59, second=59)
    return {"email_due_at": email_due, "email_next_attempt_at": email_due,
            "stall_due_at": email_due + STALL_AFTER, "window_closes_at": window,
            "window_reminder_due_at": window - window_reminder_before(order.product)}


TABLE = Provisioning._meta.db_table


# --- Created, rescheduled ------------------------------------------------------------------------

@transaction.atomic
def create(order, actor=None):
    """The provisioning row of a newly imported order, and its 'imported' history entry."""
    provisioning = Provisioning.objects.create(order=order, **schedule_for(order))
    Event.objects.create(order=order, kind=Event.Kind.IMPORTED, actor=actor)
    return provisioning


def create_many(orders, actor=None):
    """`create` for a batch of new orders, in two INSERTs (the caller holds the transaction)."""
    Provisioning.objects.bulk_create([Provisioning(order=order, **schedule_for(order))
                                      for order in orders])
    Event.objects.bulk_create([Event(order=order, kind=Event.Kind.IMPORTED, actor=actor)
                               for order in orders])


def reschedule(provisioning, order, actor=None, data=None):
    """A re-import changed a scheduled order: its dates follow the new start date (the caller
    holds the order's lock and decided the change may apply)."""
    check("rescheduled", provisioning)
    schedule = schedule_for(order)
    for name, value in schedule.items():
        setattr(provisioning, name, value)
    provisioning.save(update_fields=[*schedule, "updated_at"])
    Event.objects.create(order=order, kind=Event.Kind.UPDATED, actor=actor, data=data or {})


# --- The deployment email (set-based, for the job's batches) -------------------------------------

def claim_due_emails(now, limit, order_id=None):
    """One statement: lease up to `limit` due, unsent orders (skipping rows another run is
    claiming right now) and return their ids; `order_id`, that order only. Orders set up or
    closed leave the due index instead (next attempt NULL): they are never emailed."""
    only = [] if order_id is None else [order_id]
    not_emailed = [S.SET_UP.value, S.DEPLOYED.value, S.CLOSED.value]
    # MATERIALIZED: the LIMIT is applied once. As `IN (subquery)` the planner may rescan the
    # subquery per row, each rescan skipping the rows this UPDATE has just changed and locking
    # the next ones: a claim of 2 came back with 3 orders in a full-suite run.
    sql = f"""
        WITH claimed AS MATERIALIZED (
            SELECT order_id FROM {TABLE}
            WHERE email_sent_at IS NULL AND email_next_attempt_at <= %s
              {"AND order_id = %s" if only else ""}
            ORDER BY email_next_attempt_at LIMIT %s{skip_locked()})
        UPDATE {TABLE} SET email_next_attempt_at = CASE
            WHEN set_up_at IS NOT NULL OR status IN ({placeholders(not_emailed)}) THEN NULL ELSE %s END
        WHERE order_id IN (SELECT order_id FROM claimed)
        RETURNING order_id"""
    return [row[0] for row in returning_rows(
        sql, [sql_datetime(now), *only, limit, *not_emailed,
              sql_datetime(timezone.now() + EMAIL_LEASE)])]


def email_due_now(order, now):
    """An unsent deployment email whose hour has not come is due now (the demo of `make run`)."""
    Provisioning.objects.filter(pk=order.pk, email_sent_at__isnull=True,
                                email_next_attempt_at__gt=now).update(email_next_attempt_at=now)


def emails_queued(email_ids):
    """The claimed orders' deployment emails are in the outbox (`email_ids`: {order id: outbox
    email id}): no longer due here; the outbox sends and retries them."""
    if not email_ids:
        return
    returning_rows(f"""
        WITH queued(order_id, email_id) AS (VALUES {", ".join(["(%s, %s)"] * len(email_ids))})
        UPDATE {TABLE} SET email_next_attempt_at = NULL, outbox_email_id = queued.email_id
        FROM queued WHERE {TABLE}.order_id = queued.order_id
        RETURNING {TABLE}.order_id""", [value for pair in email_ids.items() for value in pair])


def record_sent(sent, now):
    """The mail server accepted these deployment emails (`sent`: {outbox email id: (address,
    provider's message id, "" over SMTP)}), each still its order's current one (a rep's resend or change of
    contact since makes it an old email, recorded nowhere here): sent (a scheduled order becomes
    email_sent), the stall clock restarted from now if that is later than the email hour (a
    late import, an email that failed for days), the message id kept for the provider's
    delivery webhook, and the history. Returns {order id: set up?} of the orders recorded; the
    caller issues the links of those not set up."""
    if not sent:
        return {}
    ids = list(sent)
    known = [pk for pk in ids if sent[pk][1]]
    message_id = (f"CASE outbox_email_id {' '.join(['WHEN %s THEN %s'] * len(known))} ELSE '' END"
                  if known else "''")
    updated = returning_rows(f"""
        UPDATE {TABLE} SET email_sent_at = COALESCE(email_sent_at, %s),
            email_next_attempt_at = NULL, email_failed_at = NULL, email_last_error = '',
            email_message_id = {message_id}, email_delivery = '', email_delivery_reason = '',
            email_delivery_at = NULL,
            email_attempts = email_attempts + 1, updated_at = %s,
            stall_due_at = CASE WHEN stalled_at IS NULL AND stall_due_at < %s THEN %s
                                ELSE stall_due_at END,
            status = CASE WHEN status = %s THEN %s ELSE status END
        WHERE outbox_email_id IN ({placeholders(ids)})
          AND status IN ({placeholders(statuses("email_sent"))})
        RETURNING order_id, outbox_email_id, set_up_at""",
        [sql_datetime(now), *[value for pk in known for value in (pk, sent[pk][1])],
         sql_datetime(now), sql_datetime(now + STALL_AFTER), sql_datetime(now + STALL_AFTER),
         S.SCHEDULED.value, S.EMAIL_SENT.value, *ids, *statuses("email_sent")])
    Event.objects.bulk_create([
        Event(order_id=order_id, kind=Event.Kind.EMAIL_SENT, at=now,
              data={"to": sent[email_id][0],
                    **({"message_id": sent[email_id][1]} if sent[email_id][1] else {})})
        for order_id, email_id, _set_up_at in updated])
    # set_up_at itself, not `set_up_at IS NULL`: SQLite 3.40 (make run) returns 0 for the latter
    # in a RETURNING clause even when the column is NULL.
    return {order_id: set_up_at is not None for order_id, _email_id, set_up_at in updated}


def record_failures(failures, now):
    """The mail server refused these deployment emails, each still its order's current one
    (`failures`: {outbox email id: error text}; the outbox retries them): attempts + 1, the
    error kept for admin and the dashboard, one EMAIL_FAILED event per failure streak."""
    if not failures:
        return
    rows = list(Provisioning.objects.select_for_update(of=("self",)).select_related("order")
                .filter(outbox_email_id__in=list(failures), email_sent_at__isnull=True,
                        status__in=statuses("email_failed")).order_by("pk"))
    if not rows:
        return
    Provisioning.objects.filter(pk__in=[p.pk for p in rows]).update(
        email_attempts=F("email_attempts") + 1,
        email_failed_at=Coalesce(F("email_failed_at"), Value(now)),
        email_last_error=Case(*[When(pk=p.pk, then=Value(failures[p.outbox_email_id]))
                                for p in rows]),
        updated_at=now)
    Event.objects.bulk_create([
        Event(order_id=p.pk, kind=Event.Kind.EMAIL_FAILED, at=now,
              data={"to": p.order.deployment_contact_email,
                    "error": failures[p.outbox_email_id]})
        for p in rows if p.email_failed_at is None])


def take_over_email(provisioning, now, event_kind, actor=None, data=None):
    """A rep's resend or change of contact, or a re-open: the order's deployment email becomes
    unsent and due now, its unsent email (if any) withdrawn from the outbox (the caller writes
    the new one). The caller holds the provisioning row's lock."""
    check("email_taken_over", provisioning)
    outbox.withdraw(provisioning.outbox_email_id)
    provisioning.outbox_email = None
    provisioning.email_sent_at = None
    provisioning.email_next_attempt_at = now
    provisioning.email_attempts = 0
    provisioning.email_failed_at = None
    provisioning.email_last_error = ""
    # A new email, a new delivery: what the provider says later of the previous one (a bounce
    # arriving late, a replay) no longer finds this order.
    provisioning.email_message_id = ""
    provisioning.email_delivery = ""
    provisioning.email_delivery_reason = ""
    provisioning.email_delivery_at = None
    provisioning.save(update_fields=["outbox_email", "email_sent_at", "email_next_attempt_at",
                                     "email_attempts", "email_failed_at", "email_last_error",
                                     "email_message_id", "email_delivery",
                                     "email_delivery_reason", "email_delivery_at", "updated_at"])
    if event_kind is not None:
        Event.objects.create(order_id=provisioning.pk, kind=event_kind, actor=actor, at=now,
                             data=data or {})


# Heavier words replace lighter ones, never the reverse: "delivered" after a complaint (events
# may arrive out of order) or a second bounce changes nothing.
DELIVERY_WEIGHT = {"": 0, Delivery.DELIVERED: 1, Delivery.COMPLAINED: 2, Delivery.BOUNCED: 3,
                   Delivery.REJECTED: 3}


def record_delivery(message_id, delivery, reason, at):
    """The email provider's tracking webhook about the deployment email `message_id`: delivered,
    reported as spam, bounced or rejected, with its reason. A bounce or rejection of an order
    still waiting for its setup is also in its history. Returns (provisioning, changed); the
    provisioning is None when no order's current deployment email has this id (an older email
    of a contact since changed, another system's), and `changed` is True only when this event
    made the deployment email bounced (the caller then tells the rep: once per email)."""
    provisioning = (Provisioning.objects.select_for_update(of=("self",))
                    .select_related("order", "order__account_rep")
                    .filter(email_message_id=message_id).first()) if message_id else None
    if provisioning is None:
        return None, False
    bounce = delivery in UNDELIVERED
    if provisioning.status not in TRANSITIONS["email_bounced" if bounce else "email_delivered"][0] \
            or DELIVERY_WEIGHT[delivery] <= DELIVERY_WEIGHT[provisioning.email_delivery]:
        return provisioning, False
    provisioning.email_delivery = delivery
    provisioning.email_delivery_reason = reason
    provisioning.email_delivery_at = at
    provisioning.save(update_fields=["email_delivery", "email_delivery_reason",
                                     "email_delivery_at", "updated_at"])
    if bounce:
        Event.objects.create(order_id=provisioning.pk, kind=Event.Kind.EMAIL_BOUNCED, at=at,
                             data={"to": provisioning.order.deployment_contact_email,
                                   "delivery": delivery, "reason": reason,
                                   "message_id": message_id})
    return provisioning, bounce


def is_undelivered(provisioning):
    """The deployment email bounced or was rejected, and no rep has acted on it yet."""
    return provisioning.email_delivery in UNDELIVERED


# --- The wizard ----------------------------------------------------------------------------------

@transaction.atomic
def begin_setup(order):
    """The first POST in the wizard (never a GET: mail scanners fetch links). Once per order."""
    if Provisioning.objects.filter(pk=order.pk, setup_begun_at__isnull=True,
                                   status__in=statuses("setup_begun")) \
            .update(setup_begun_at=timezone.now()):
        Event.objects.create(order=order, kind=Event.Kind.SETUP_BEGUN)
        return True
    return False


def hand_over(provisioning, *, link, installer, installer_name, installer_email,
              customer_admin_email, partner_org_created, new_admin, browser):
    """The partner handed the setup to the customer (step 5): the order waits for the customer
    administrator, whose own link the caller has just issued. The caller holds the lock."""
    check("handed_over", provisioning)
    provisioning.setup_mode = SetupMode.CUSTOMER
    provisioning.installer_name = installer_name
    provisioning.installer_email = installer_email
    provisioning.handed_over_at = timezone.now()
    provisioning.handover_link = link
    provisioning.customer_admin_email = customer_admin_email
    provisioning.new_admin = new_admin
    provisioning.confirmed_in_browser = browser
    provisioning.save(update_fields=["setup_mode", "installer_name", "installer_email",
                                     "handed_over_at", "handover_link", "customer_admin_email",
                                     "new_admin", "confirmed_in_browser", "updated_at"])
    Event.objects.create(order_id=provisioning.pk, kind=Event.Kind.CUSTOMER_INVITED, actor=installer,
                         data={"customer_admin": customer_admin_email, "by": installer_email,
                               "partner_org_created": partner_org_created})


def customer_admin_link_resent(provisioning, actor=None):
    """A rep resent the customer administrator's link of an order handed to the customer."""
    check("handed_over", provisioning)
    Event.objects.create(order_id=provisioning.pk, kind=Event.Kind.RESENT, actor=actor,
                         data={"to": provisioning.customer_admin_email, "customer_admin": True})


def customer_admin_changed(provisioning, email, actor=None):
    """A rep sent the customer administrator's invitation of an order handed to the customer to
    another address (the caller issued the new link)."""
    check("handed_over", provisioning)
    old = provisioning.customer_admin_email
    provisioning.customer_admin_email = email
    provisioning.save(update_fields=["customer_admin_email", "updated_at"])
    Event.objects.create(order_id=provisioning.pk, kind=Event.Kind.CONTACT_CHANGED, actor=actor,
                         data={"from": old, "to": email, "customer_admin": True})


def set_up(provisioning, *, mode, actor, installer_name, installer_email, customer_admin_email,
           new_admin, browser, data):
    """Step 9, Confirm (the caller holds the lock and created the organisations). A customer
    finishing a hand-over keeps the partner installer who handed it over (told when the order is
    deployed)."""
    check("set_up", provisioning)
    outbox.withdraw(provisioning.outbox_email_id)  # a deployment email still failing: not needed
    finishing_hand_over = (mode == SetupMode.CUSTOMER and provisioning.handed_over_at is not None)
    if not finishing_hand_over:
        provisioning.installer_name = installer_name
        provisioning.installer_email = installer_email
    provisioning.set_up_at = timezone.now()
    provisioning.status = S.SET_UP
    provisioning.setup_mode = mode
    provisioning.customer_admin_email = customer_admin_email
    provisioning.confirmed_in_browser = browser
    if new_admin is not None:
        provisioning.new_admin = new_admin
    provisioning.save(update_fields=["set_up_at", "status", "setup_mode", "installer_name",
                                     "installer_email", "customer_admin_email", "new_admin",
                                     "confirmed_in_browser", "updated_at"])
    Event.objects.create(order_id=provisioning.pk, kind=Event.Kind.SET_UP, actor=actor, data=data)


def password_set(order, user):
    """Step 10: the new administrator chose their password (the caller stored its hash)."""
    Provisioning.objects.filter(pk=order.pk, password_set_at__isnull=True) \
        .update(password_set_at=timezone.now())
    Event.objects.create(order=order, kind=Event.Kind.PASSWORD_SET, actor=user)


# --- Stalled, contacted, closed, re-opened -------------------------------------------------------

def flag_stalled(now):
    """Orders not set up one day after the later of their email hour and their deployment
    email's delivery: flagged (and their rep marked notified: the caller emails them in this
    transaction) with ONE update, so a row flagged by a concurrent run no longer matches.
    Returns their ids."""
    ids = [row[0] for row in returning_rows(f"""
        UPDATE {TABLE} SET stalled_at = %s, rep_notified_at = %s, updated_at = %s
        WHERE stalled_at IS NULL AND set_up_at IS NULL AND stall_due_at <= %s
          AND email_sent_at IS NOT NULL AND status IN ({placeholders(statuses("stalled"))})
        RETURNING order_id""", [sql_datetime(now), sql_datetime(now), sql_datetime(now), sql_datetime(now), *statuses("stalled")])]
    return ids


def record_stalled(orders_by_rep, now, email_ids):
    """The STALLED and REP_NOTIFIED history of the orders `flag_stalled` returned."""
    events = []
    for rep, orders in orders_by_rep.items():
        for order in orders:
            events.append(Event(order=order, kind=Event.Kind.STALLED, at=now))
            events.append(Event(order=order, kind=Event.Kind.REP_NOTIFIED, at=now,
                                data={"rep": rep.email, "email_id": email_ids[rep.pk]}))
    Event.objects.bulk_create(events)


@transaction.atomic
def mark_contacted(order, note, actor=None):
    """The rep contacted the partner about a stalled order (the source's step 3)."""
    now = timezone.now()
    Provisioning.objects.filter(pk=order.pk).update(last_contacted_at=now, updated_at=now)
    return Event.objects.create(order_id=order.pk, kind=Event.Kind.CONTACTED, actor=actor, at=now,
                                note=note.strip())


def close_expired(now):
    """Orders whose setup window ended without a deployment become CLOSED (their links say
    'expired') until an admin or rep re-opens them. One update, one history insert; a deployment
    email still unsent (failing, or held for a bounce) leaves the outbox: nothing is sent into a
    closed window (a re-open writes a new one). An email being sent this instant is left to its
    sender, whose record finds the order closed."""
    with transaction.atomic():
        ids = [row[0] for row in returning_rows(f"""
            UPDATE {TABLE} SET status = %s, updated_at = %s,
                outbox_email_id = CASE WHEN email_sent_at IS NULL THEN NULL ELSE outbox_email_id END
            WHERE window_closes_at < %s AND deployed_at IS NULL
              AND status IN ({placeholders(statuses("closed"))})
            RETURNING order_id""", [S.CLOSED.value, sql_datetime(now), sql_datetime(now), *statuses("closed")])]
        Event.objects.bulk_create([Event(order_id=pk, kind=Event.Kind.CLOSED, at=now) for pk in ids])
        if ids:
            outbox_table = OutboundEmail._meta.db_table
            returning_rows(f"""
                DELETE FROM {outbox_table} WHERE id IN (
                    SELECT id FROM {outbox_table}
                    WHERE kind = %s AND sent_at IS NULL AND order_id IN ({placeholders(ids)})
                    {skip_locked()})
                RETURNING id""", [OutboundEmail.Kind.DEPLOYMENT.value, *ids])
    return ids


def can_reopen(provisioning, now=None):
    now = now or timezone.now()
    return provisioning.status in TRANSITIONS["reopened"][0] and provisioning.deployed_at is None \
        and window_closed(provisioning, now)


def reopen_sends_new_link(provisioning):
    """Re-opening emails a fresh link when the deployment email went out and nobody set up."""
    return provisioning.set_up_at is None and provisioning.email_sent_at is not None


def reopen(provisioning, now, actor=None):
    """A new setup window of the usual length from now; the status goes back to where the order
    was. Returns whether a fresh link must be emailed (the caller sends it: the email is taken
    over here). The caller holds the lock and checked `can_reopen`."""
    check("reopened", provisioning)
    provisioning.window_closes_at = now + window_length(provisioning.order.product)
    # A new window, a new reminder before it ends.
    provisioning.window_reminder_due_at = (provisioning.window_closes_at
                                           - window_reminder_before(provisioning.order.product))
    provisioning.window_reminded_at = None
    new_link = reopen_sends_new_link(provisioning)
    if provisioning.set_up_at is not None:
        provisioning.status = S.SET_UP
    elif provisioning.email_sent_at is not None:
        provisioning.status = S.EMAIL_SENT
    else:
        provisioning.status = S.SCHEDULED
        provisioning.email_next_attempt_at = now
    provisioning.save(update_fields=["window_closes_at", "status", "email_next_attempt_at",
                                     "window_reminder_due_at", "window_reminded_at", "updated_at"])
    Event.objects.create(order_id=provisioning.pk, kind=Event.Kind.REOPENED, actor=actor, at=now,
                         data={"window_closes_at": provisioning.window_closes_at.isoformat(),
                               "new_link": new_link})
    if new_link:
        take_over_email(provisioning, now, None)
    return new_link


# --- Nudges before the rep has to call -----------------------------------------------------------

def claim_setup_reminders(now):
    """Orders whose deployment email went out REMIND_AFTER ago and whose setup has not begun
    (not those whose email bounced: nothing goes to that address until the rep acts):
    marked reminded with ONE update (a second beat finds none of them) and returned. The caller
    emails each contact a fresh link in this transaction."""
    return [row[0] for row in returning_rows(f"""
        UPDATE {TABLE} SET reminded_at = %s, updated_at = %s
        WHERE reminded_at IS NULL AND setup_begun_at IS NULL AND set_up_at IS NULL
          AND email_sent_at IS NOT NULL AND email_sent_at <= %s AND stalled_at IS NULL
          AND window_closes_at > %s AND status IN ({placeholders(statuses("reminded"))})
          AND email_delivery NOT IN ({placeholders(UNDELIVERED)})
        RETURNING order_id""",
        [sql_datetime(now), sql_datetime(now), sql_datetime(now - REMIND_AFTER),
         sql_datetime(now), *statuses("reminded"), *UNDELIVERED])]


def claim_window_reminders(now):
    """Orders not deployed whose window closes within their reminder's lead time: marked
    reminded with ONE update and returned (the caller emails the installer and the rep)."""
    return [row[0] for row in returning_rows(f"""
        UPDATE {TABLE} SET window_reminded_at = %s, updated_at = %s
        WHERE window_reminded_at IS NULL AND deployed_at IS NULL
          AND window_reminder_due_at <= %s AND window_closes_at > %s
          AND status IN ({placeholders(statuses("window_reminded"))})
        RETURNING order_id""",
        [sql_datetime(now), sql_datetime(now), sql_datetime(now), sql_datetime(now),
         *statuses("window_reminded")])]


def record_reminders(kind, reminded, now):
    """The history of the reminders sent: `reminded` is [(order, the address reminded)]."""
    Event.objects.bulk_create([Event(order=order, kind=kind, at=now, data={"to": to})
                               for order, to in reminded])


# --- Deployed ------------------------------------------------------------------------------------

def deployed(provisioning, now, actor, data):
    """Deploy and start billing went through (the caller holds the lock and started billing)."""
    check("deployed", provisioning)
    provisioning.status = S.DEPLOYED
    provisioning.deployed_at = now
    provisioning.save(update_fields=["status", "deployed_at", "updated_at"])
    Event.objects.create(order_id=provisioning.pk, kind=Event.Kind.DEPLOYED, actor=actor, data=data)
