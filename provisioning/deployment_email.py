"""The deployment email (the source's step 3): built and sent in batches over one SMTP
connection, by the job (provisioning/jobs.py), and by a worker right after a rep's resend, change
of contact or re-open commits (provisioning/services.py, provisioning/tasks.py). Its state
changes are the lifecycle's (provisioning/lifecycle.py); its link is issued only once the mail
server accepted it."""
import logging
from dataclasses import dataclass, field

from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.utils import timezone

from config.db import retry_on_disconnect
from provisioning import lifecycle, links, outbox
from provisioning.models import BouncedAddress, Provisioning, SetupLink, Status

log = logging.getLogger(__name__)

# Never emailed: nothing left to set up, or the setup window is closed.
NOT_EMAILED = (Status.SET_UP.value, Status.DEPLOYED.value, Status.CLOSED.value)


@dataclass
class DeploymentRun:
    sent: list = field(default_factory=list)      # order numbers accepted by the mail server
    failed: list = field(default_factory=list)    # (order number, error)
    skipped: int = 0                              # due but set up or closed meanwhile
    batches: int = 0


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one deployment email outside the job's batches: sent at once (send_now,
    the demo), or queued for a worker (a rep's resend, change of contact, re-open)."""
    sent: bool
    url: "str | None" = None
    error: str = ""
    queued_to: str = ""            # sent by a worker after the request, to this address
    to_customer_admin: bool = False  # a handed-over order: the customer admin's link

    @property
    def ok(self):
        return self.sent or bool(self.queued_to)


def claimed_rows(ids):
    """The claimed orders, each knowing whether its contact's address is held (an earlier email
    to it bounced: provisioning/delivery.py)."""
    held = BouncedAddress.objects.filter(email=Lower(OuterRef("order__deployment_contact_email")))
    return list(Provisioning.objects.filter(pk__in=ids).select_related("order")
                .prefetch_related("order__lines").annotate(contact_held=Exists(held))
                .order_by("email_next_attempt_at", "pk"))


def deployment_message(order, url, connection=None):
    context = {"order": order, "lines": list(order.lines.all()), "url": url,
               "window_closes_at": order.provisioning.window_closes_at}
    subject, text, html = outbox.render_email("deployment", context, order.language)
    return outbox.message(order.deployment_contact_email, subject, text, html, connection)


def send_batch(rows, connection, run):
    """Send the deployment email of each claimed row over one SMTP connection.
    1. skip rows set up or closed since; 2. send each email with a fresh token, one bad row never
    stopping the others; 3. record the accepted ones sent, issuing their links, and the failed
    ones for a retry with backoff. Returns {order_id: url} of the emails the mail server accepted.
    A contact whose address bounced before is not emailed: the order fails (shown as failing,
    retried, checking again each time) until a rep resends or changes the contact.

    The new link is issued (and the order's previous one superseded) only in the transaction that
    records the accepted email, never before the send: if the mail server refuses, the partner's
    current link keeps working, the order still has exactly one live link
    (setuplink_one_live_per_order), and a superseded link always means a newer one was really
    sent. Until then the token exists only in this email; should the process die between the
    server's acceptance and that commit, the order is emailed again after its lease."""
    rows = [p for p in rows if p.set_up_at is None and p.status not in NOT_EMAILED]
    rows = _hold_bounced_contacts(rows, run)
    if not rows:
        return {}
    try:
        connection.open()
    except Exception as exc:  # mail server unreachable: the whole batch waits for its backoff
        _record_failures([(p, exc) for p in rows])
        run.failed += [(p.order.number, outbox.error_text(exc)) for p in rows]
        return {}
    try:
        tokens = links.new_tokens([p.order for p in rows])
        sent, failed, urls, message_ids = [], [], {}, {}
        for provisioning in rows:
            url = links.setup_url(tokens[provisioning.pk])
            try:
                message = deployment_message(provisioning.order, url, connection)
                message.send()
            except Exception as exc:
                log.warning("deployment email for %s failed: %s", provisioning.order.number, exc,
                            extra={"order": provisioning.order.number})  # LOG_FORMAT=json
                failed.append((provisioning, exc))
                outbox.close_quietly(connection)
            else:
                sent.append(provisioning)
                urls[provisioning.pk] = url
                message_ids[provisioning.pk] = outbox.message_id_of(message)
        # The mail server accepted these: record it even across a database restart, or the next
        # run would send them again (config/db.py).
        retry_on_disconnect(_record_sent, sent, tokens, message_ids)
        retry_on_disconnect(_record_failures, failed)
    finally:
        outbox.close_quietly(connection)
    run.sent += [p.order.number for p in sent]
    run.failed += [(p.order.number, outbox.error_text(exc)) for p, exc in failed]
    return urls


def _hold_bounced_contacts(rows, run):
    """Rows whose contact's address is held are recorded failing, not sent; returns the others."""
    held = [p for p in rows if getattr(p, "contact_held", False)]
    if not held:
        return rows
    bounces = {b.email: b for b in BouncedAddress.objects.filter(
        email__in=[p.order.deployment_contact_email.lower() for p in held])}
    failures = [(p, outbox.HeldAddress(bounces.get(p.order.deployment_contact_email.lower())))
                for p in held]
    retry_on_disconnect(_record_failures, failures)
    run.failed += [(p.order.number, outbox.error_text(exc)) for p, exc in failures]
    return [p for p in rows if p not in held]


def _record_sent(rows, tokens, message_ids=None):
    """Mark the accepted emails sent, with the provider's message ids, and make their tokens the
    orders' live links. An order set up while its email was on the wire keeps its installer's
    link (the email's link stays unknown)."""
    if not rows:
        return
    now = timezone.now()
    with transaction.atomic():
        not_set_up = lifecycle.record_sent(rows, now, message_ids)
        links.issue_links([p.order for p in rows if p.pk in not_set_up],
                          SetupLink.Purpose.DEPLOYMENT, raw_tokens=tokens, now=now)


def _record_failures(failures):
    if not failures:
        return
    with transaction.atomic():
        lifecycle.record_failures(failures, timezone.now(), outbox.backoff, outbox.error_text)


def send_now(order_id):
    """One order's email, due now (a rep's action, the demo), through the job's own path: claimed
    first, so a job run sending it at the same moment is not doubled."""
    run = DeploymentRun()
    ids = lifecycle.claim_due_emails(timezone.now(), 1, order_id=order_id)
    urls = send_batch(claimed_rows(ids), get_connection(), run) if ids else {}
    if order_id in urls:
        return SendOutcome(sent=True, url=urls[order_id])
    error = run.failed[0][1] if run.failed else ""
    return SendOutcome(sent=False, error=error)
