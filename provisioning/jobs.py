"""The beat jobs. Each claims its rows with one set-based statement (provisioning/lifecycle.py), so
several beat or worker processes may run the same job at once without doing a row twice, and
works in batches, so its number of queries grows with batches, not with orders. Tasks (tasks.py)
and management commands call these functions; they take `now` so tests can move the clock."""
import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from provisioning import deployment_email, lifecycle, links, outbox
from provisioning.deployment_email import DeploymentRun
from provisioning.models import Event, OutboundEmail, SetupLink

log = logging.getLogger(__name__)

BATCH_SIZE = 100
OUTBOX_LEASE = datetime.timedelta(minutes=5)


# --- Deployment email ----------------------------------------------------------------------------

def send_due_deployment_emails(now=None, batch_size=BATCH_SIZE, on_sent=None):
    """The deployment email of every order whose start date (at DEPLOYMENT_EMAIL_HOUR, site time)
    has come, including those a stopped beat missed.
    1. claim a batch and write its emails to the outbox, leased to this run; 2. send them over
    one connection; 3. repeat until a short batch. A refused email is retried by the outbox
    sweep. `on_sent(order_id, url)` is told each accepted email's link (load_demo prints it)."""
    now = now or timezone.now()
    run = DeploymentRun()
    connection = get_connection()  # one session for the whole run
    try:
        while True:
            ids, batch, skipped = deployment_email.claim_and_queue(now, batch_size)
            if not ids:
                break
            run.batches += 1
            run.skipped += skipped
            try:
                urls = deployment_email.send_queued(batch, connection, run)
            except Exception:  # e.g. the database hiccuped: the sweep sends them after the lease
                log.exception("deployment email batch failed; sent after the lease")
                continue
            if on_sent:
                for order_id, url in urls.items():
                    on_sent(order_id, url)
            if len(ids) < batch_size:
                break
    finally:
        outbox.close_quietly(connection)
    return run


# --- Stalled provisioning ------------------------------------------------------------------------

@dataclass
class StallRun:
    flagged: list = field(default_factory=list)   # order numbers
    reps_emailed: int = 0


def flag_stalled_provisioning(now=None):
    """Orders not set up one day after their deployment email (and their start date).
    1. flag them all with one update (lifecycle.flag_stalled); 2. one outbox email per rep listing
    their newly stalled orders; 3. STALLED + REP_NOTIFIED history. All in one transaction:
    flagged means the rep's email is in the outbox."""
    now = now or timezone.now()
    run = StallRun()
    with transaction.atomic():
        ids = lifecycle.flag_stalled(now)
        if not ids:
            return run
        orders = list(Order.objects.filter(pk__in=ids).select_related("account_rep", "provisioning")
                      .order_by("requested_start_date", "number"))
        by_rep = defaultdict(list)
        for order in orders:
            by_rep[order.account_rep].append(order)
        dashboard = settings.SITE_URL + reverse("provisioning:stalled")
        email_ids = {}
        for rep, rep_orders in by_rep.items():
            email_ids[rep.pk] = outbox.enqueue(
                OutboundEmail.Kind.REP_STALLED, rep.email, "rep-stalled",
                {"rep": rep, "orders": rep_orders, "dashboard_url": dashboard},
                language=rep.language).pk
        lifecycle.record_stalled(by_rep, now, email_ids)
    run.flagged = [order.number for order in orders]
    run.reps_emailed = len(by_rep)
    return run


# --- Nudges before the rep has to call ----------------------------------------------------------

def send_setup_reminders(now=None):
    """The deployment contact who has not begun about a day after their email: a short reminder
    with a fresh link (the old one then says a newer one was sent), saying a representative will
    call otherwise. 1. claim (lifecycle.claim_setup_reminders); 2. one email each, in the order's
    language; 3. history. One transaction: claimed means emailed. Returns the order numbers."""
    now = now or timezone.now()
    with transaction.atomic():
        orders = _orders(lifecycle.claim_setup_reminders(now))
        for order in orders:
            links.send_link(OutboundEmail.Kind.SETUP_REMINDER, "setup-reminder", order,
                            order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT, "")
        lifecycle.record_reminders(Event.Kind.REMINDED,
                                   [(order, order.deployment_contact_email) for order in orders], now)
    return [order.number for order in orders]


def send_window_reminders(now=None):
    """A few days before an order's setup window closes (lifecycle.window_reminder_before): its
    installer is reminded (the customer administrator after a hand-over, the deployment contact
    before anyone began), with a working link, and each rep gets one email listing their orders.
    Claimed in one update, emailed in the same transaction. Returns the order numbers."""
    now = now or timezone.now()
    with transaction.atomic():
        orders = _orders(lifecycle.claim_window_reminders(now))
        reminded, by_rep = [], defaultdict(list)
        for order in orders:
            reminded.append((order, _remind_before_the_window_closes(order)))
            by_rep[order.account_rep].append(order)
        for rep, rep_orders in by_rep.items():
            outbox.enqueue(OutboundEmail.Kind.REP_WINDOW_CLOSING, rep.email, "rep-window-closing",
                           {"rep": rep, "orders": rep_orders,
                            "dashboard_url": settings.SITE_URL + reverse("provisioning:stalled")},
                           language=rep.language)
        lifecycle.record_reminders(Event.Kind.WINDOW_REMINDED, reminded, now)
    return [order.number for order in orders]


def _orders(ids):
    return list(Order.objects.filter(pk__in=ids).select_related("account_rep", "provisioning")
                .order_by("number"))


def _remind_before_the_window_closes(order):
    """Emails whoever holds the order's setup now; returns their address."""
    provisioning = order.provisioning
    context = {"order": order, "window_closes_at": provisioning.window_closes_at}
    if provisioning.set_up_at is not None:
        to = provisioning.installer_email or order.deployment_contact_email
        url = settings.SITE_URL + reverse("onboarding:service_resume", args=[order.number])
        outbox.enqueue(OutboundEmail.Kind.WINDOW_REMINDER, to, "window-reminder",
                       {**context, "url": url, "set_up": True}, order.language, order)
        return to
    if provisioning.handed_over_at is not None:
        to, purpose = provisioning.customer_admin_email, SetupLink.Purpose.CUSTOMER_ADMIN
    else:
        to, purpose = order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT
    links.issue_link(order, to, purpose)
    outbox.enqueue(OutboundEmail.Kind.WINDOW_REMINDER, to, "window-reminder",
                   {**context, "set_up": False}, order.language, order,
                   secrets={"url": links.link_secret(links.live_link_id(order))})
    return to


# --- Setup windows -------------------------------------------------------------------------------

def close_expired_setup_windows(now=None):
    """Orders whose setup window ended without a deployment are closed (lifecycle.close_expired)."""
    return lifecycle.close_expired(now or timezone.now())


# --- Outbox sweep --------------------------------------------------------------------------------

def send_pending_emails(now=None, batch_size=100):
    """Outbox emails whose delivery task never ran (broker down) or whose retry is due.
    1. lease a batch (outbox.claim_pending: skips rows another sweep holds); 2. deliver each over
    one connection; a failure pushes that email's next attempt back (outbox.backoff)."""
    now = now or timezone.now()
    sent = failed = 0
    connection = get_connection()
    while True:
        ids = outbox.claim_pending(now, batch_size, OUTBOX_LEASE)
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
                outbox.close_quietly(connection)
        outbox.close_quietly(connection)
        if len(ids) < batch_size:
            break
    return {"sent": sent, "failed": failed}
