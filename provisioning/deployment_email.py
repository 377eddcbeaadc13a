"""The deployment email (the source's step 3), through the outbox like every email.

- The job claims the due orders (lifecycle.claim_due_emails) and writes their emails to the
  outbox in the same transaction, leased to itself (`queue`), then sends each batch over one SMTP
  connection (`send_queued`, outbox.send_leased).
- A rep's resend, change of contact or re-open writes the order's email in its own transaction
  (`queue_now`); a worker delivers it after commit, or the outbox sweep if the broker is down.

Whoever sends it, what follows is here (`_after_send`, in the transaction that records the
accepted email): the order recorded sent and its link issued, never before. If the mail server
refuses, the partner's current link keeps working, the order still has exactly one live link
(setuplink_one_live_per_order), and a superseded link always means a newer one was really sent.
The link's token is made when the email is sent (links.new_link_secret): the outbox holds a
placeholder. A contact whose address bounced before is not emailed (the outbox holds it: the
order shows failing) until a rep resends or changes the contact."""
from dataclasses import dataclass, field

from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone, translation
from django.utils.html import escape

from orders import dates
from orders.models import Product, Service
from provisioning import lifecycle, links, outbox
from provisioning.models import OutboundEmail, Provisioning, SetupLink, Status

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


def email_values(provisioning):
    """What the deployment email's templates show of the order, as strings in its language."""
    order = provisioning.order
    with translation.override(order.language):
        services = [f"{_label(Service, line.service)} × {line.quantity}" for line in order.lines.all()]
        return {
            "number": order.number, "product": _label(Product, order.product),
            "customer": order.customer_name, "partner": order.partner_name,
            "start_date": dates.long_date(order.requested_start_date),
            "window_closes": dates.long_date(timezone.localtime(provisioning.window_closes_at)),
            "services": ", ".join(services),
            "services_html": "<br>".join(escape(service) for service in services),
            "language": order.language,
        }


def _label(choices, value):
    """A choice's label in the active language, as get_FOO_display() gives it, without building
    the field's choices again at every call, as it does: the job writes thousands of emails."""
    try:
        return str(choices(value).label)
    except ValueError:  # not one of the choices: shown as it is, as get_FOO_display() shows it
        return value


def build(provisioning, next_attempt_at=None):
    """The order's deployment email, unsaved, its link a placeholder until sent. Rendered from
    a frame per language (outbox.render_framed): the job renders thousands of them."""
    order = provisioning.order
    return outbox.build(OutboundEmail.Kind.DEPLOYMENT, order.deployment_contact_email,
                        "deployment", email_values(provisioning), order.language, order,
                        secrets={"url": links.new_link_secret()}, next_attempt_at=next_attempt_at,
                        framed=True, html_safe={"services_html"})


# What the email and its sending read of the order and its provisioning.
EMAIL_FIELDS = ["status", "set_up_at", "window_closes_at", "email_next_attempt_at",
                "order__number", "order__product", "order__requested_start_date",
                "order__deployment_contact_email", "order__language", "order__customer_name",
                "order__partner_name"]


def queue(ids, next_attempt_at):
    """Write the emails of the claimed orders `ids` to the outbox (call in the claim's
    transaction), skipping those set up or closed since they became due. Returns
    ({outbox email: provisioning}, skipped)."""
    rows = list(Provisioning.objects.filter(pk__in=ids).select_related("order")
                .only(*EMAIL_FIELDS).prefetch_related("order__lines")
                .order_by("email_next_attempt_at", "pk"))
    eligible = [p for p in rows if p.set_up_at is None and p.status not in NOT_EMAILED]
    return _write(eligible, next_attempt_at), len(rows) - len(eligible)


def _write(rows, next_attempt_at):
    emails = OutboundEmail.objects.bulk_create([build(p, next_attempt_at) for p in rows])
    lifecycle.emails_queued({p.pk: email.pk for p, email in zip(rows, emails)})
    return dict(zip(emails, rows))


def claim_and_queue(now, limit, order_id=None):
    """One transaction: claim up to `limit` due orders and write their emails to the outbox,
    leased to the caller, who sends them with send_queued."""
    with transaction.atomic():
        ids = lifecycle.claim_due_emails(now, limit, order_id=order_id)
        batch, skipped = queue(ids, timezone.now() + lifecycle.EMAIL_LEASE) if ids else ({}, 0)
    return ids, batch, skipped


def send_queued(batch, connection, run):
    """Send a batch written by `queue` over one connection (outbox.send_leased). Returns
    {order id: link} of the emails the mail server accepted."""
    sent, failed = outbox.send_leased(list(batch), connection)
    run.sent += [batch[item.email].order.number for item in sent]
    run.failed += [(batch[email].order.number, outbox.error_text(exc)) for email, exc in failed]
    return {batch[item.email].pk: item.secrets["url"] for item in sent}


def queue_now(provisioning):
    """The order's email, just taken over (lifecycle.take_over_email, a re-open): written to the
    outbox in the caller's transaction, which holds the order's lock (no job run can claim it
    meanwhile), and delivered after commit."""
    batch = _write([provisioning], timezone.now())
    for email in batch:
        outbox.deliver_after_commit(email.pk)
    return batch


def send_now(order_id):
    """One order's email, due now, sent from here (the demo of `make run`; not a page)."""
    run = DeploymentRun()
    _ids, batch, _skipped = claim_and_queue(timezone.now(), 1, order_id=order_id)
    connection = get_connection()
    try:
        urls = send_queued(batch, connection, run) if batch else {}
    finally:
        outbox.close_quietly(connection)
    if order_id in urls:
        return SendOutcome(sent=True, url=urls[order_id])
    return SendOutcome(sent=False, error=run.failed[0][1] if run.failed else "")


@outbox.after_send(OutboundEmail.Kind.DEPLOYMENT)
def _after_send(sent, failed, now):
    """The orders of the accepted emails recorded sent, and each email's link made the order's
    live one unless the order was set up while it was on the wire (its installer keeps theirs);
    the refused ones recorded failing. An email replaced while it was on the wire (a rep's
    resend or change of contact) changes nothing of the order, and its link is issued already
    superseded: whoever clicks it reads that a newer one was sent."""
    recorded = lifecycle.record_sent({item.email.pk: (item.email.to, item.message_id)
                                      for item in sent}, now)
    tokens = {item.email.order_id: (links.token_in(item.secrets["url"]), item.email.to)
              for item in sent}
    links.issue_links({order_id: tokens[order_id] for order_id, set_up in recorded.items()
                       if not set_up}, SetupLink.Purpose.DEPLOYMENT, now)
    stale = {item.email.order_id: item.email.pk for item in sent
             if item.email.order_id not in recorded}
    if stale:
        replaced = Provisioning.objects.filter(pk__in=stale).exclude(
            outbox_email_id__in=stale.values()).values_list("pk", flat=True)
        links.issue_links({order_id: tokens[order_id] for order_id in replaced},
                          SetupLink.Purpose.DEPLOYMENT, now, superseded=True)
    lifecycle.record_failures({email.pk: outbox.error_text(exc) for email, exc in failed}, now)
