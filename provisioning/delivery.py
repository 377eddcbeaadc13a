"""Delivery feedback: what the email provider says of each email after accepting it.

Sending goes through django-anymail when a provider is configured (settings.EMAIL_ESP), which
gives every email a provider's message id: the outbox keeps it on the OutboundEmail row, and
the order's provisioning row that of its current deployment email (lifecycle.record_sent). The provider's signed
tracking webhook (anymail's view, provisioning/webhooks.py) then sends anymail's `tracking`
signal, handled here:

- delivered, complained (reported as spam), bounced, rejected (the provider refused to send:
  its suppression list, an invalid address) are recorded on the email, with the reason; other
  kinds (opened, clicked, deferred, queued…) are counted and ignored;
- a deployment email that bounced or was rejected, for an order still waiting for its setup,
  shows on the rep dashboard's failing panel and in admin, goes in the order's history, and its
  rep is emailed once (lifecycle.record_delivery changes it once per email);
- each event is kept once per the provider's event id (DeliveryEvent): the same event posted
  again changes nothing; an event about a message id that is not ours changes nothing either.

The rule for bounces (`BouncedAddress`): an address whose email bounced or was rejected is sent
nothing more, by the outbox or the deployment-email job, until a rep acts on it: a resend to it,
a change of contact to it, or a re-open (each clears it, `forget_bounce`). Until then the
emails to it wait as failing ones (retried, each time checking again, so they go once cleared).
A complaint is recorded but does not stop later emails (the email was delivered).
"""
import datetime
import logging

from anymail.signals import EventType
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from orgs.models import normalise_email
from provisioning import lifecycle, metrics, outbox
from provisioning.models import UNDELIVERED, BouncedAddress, Delivery, DeliveryEvent, OutboundEmail

log = logging.getLogger(__name__)

# anymail's normalised event types → what we record.
KINDS = {EventType.DELIVERED: Delivery.DELIVERED, EventType.COMPLAINED: Delivery.COMPLAINED,
         EventType.BOUNCED: Delivery.BOUNCED, EventType.REJECTED: Delivery.REJECTED}
# An event about a message id we do not know, this recent, may be about an email whose sending
# is not recorded yet (the deployment job records a batch once all of it is sent): answered
# "not yet" so that the provider posts it again later (Mailgun retries for hours).
NOT_YET_KNOWN_FOR = datetime.timedelta(minutes=30)


class NotYetKnown(Exception):
    """A recent event about a message id that is not (yet) ours: the provider should retry."""


def reason_of(event):
    """The provider's words on a failure: its description and the receiving server's answer."""
    parts = [part.strip() for part in (event.description, event.mta_response) if part and part.strip()]
    reason = " — ".join(dict.fromkeys(parts))
    if not reason and event.reject_reason:
        reason = event.reject_reason
    return reason[:2000]


def tracking_received(sender, event, esp_name, **kwargs):
    """anymail.signals.tracking receiver (connected in apps.py). Every event is counted for
    /metrics first, outside the transaction that acts on it."""
    metrics.webhook_event(event.event_type)
    kind = KINDS.get(event.event_type)
    if kind is None or not event.message_id:
        return
    record(esp_name, event, kind)


def record(esp_name, event, kind):
    """One delivery event about one of our emails. Raises NotYetKnown for a recent event whose
    message id is unknown (see NOT_YET_KNOWN_FOR); any older one changes nothing."""
    message_id = str(event.message_id)
    at = event.timestamp or timezone.now()
    event_id = str(event.event_id or f"{message_id}:{kind}:{at.isoformat()}")
    if DeliveryEvent.objects.filter(esp=esp_name, event_id=event_id).exists():
        return  # posted again (a retry, a replay): recorded the first time
    with transaction.atomic():
        _record(esp_name, event, kind, message_id, event_id, at)


def _record(esp_name, event, kind, message_id, event_id, at):
    email = OutboundEmail.objects.select_for_update().filter(message_id=message_id).first()
    provisioning, bounced_now = lifecycle.record_delivery(message_id, kind, reason_of(event), at) \
        if email is None or email.kind == OutboundEmail.Kind.DEPLOYMENT else (None, False)
    if email is None and provisioning is None:
        if timezone.now() - at < NOT_YET_KNOWN_FOR:
            raise NotYetKnown(message_id)
        log.info("delivery event %s about an unknown message %s: ignored", event.event_id, message_id)
        return
    try:
        with transaction.atomic():
            DeliveryEvent.objects.create(
                esp=esp_name, event_id=event_id, kind=kind, message_id=message_id,
                recipient=event.recipient or "", reason=reason_of(event), occurred_at=at,
                email=email, order_id=provisioning.pk if provisioning else None)
    except IntegrityError:
        # The same event posted twice at once: the other request recorded it (and
        # lifecycle.record_delivery changed nothing here: the same word twice never does).
        return
    recipient = normalise_email(event.recipient or (email.to if email else
                                                    provisioning.order.deployment_contact_email))
    if email is not None:
        _record_on_outbox_email(email, kind, reason_of(event), at)
    if kind in UNDELIVERED:
        _hold(recipient, kind, reason_of(event), at, message_id)
    if bounced_now:
        _tell_the_rep(provisioning)


def _record_on_outbox_email(email, kind, reason, at):
    if lifecycle.DELIVERY_WEIGHT[kind] <= lifecycle.DELIVERY_WEIGHT[email.delivery]:
        return
    email.delivery, email.delivery_reason, email.delivery_at = kind, reason, at
    email.save(update_fields=["delivery", "delivery_reason", "delivery_at"])


def _hold(address, kind, reason, at, message_id):
    """Nothing more to `address` until a rep acts (the rule in this module's docstring)."""
    BouncedAddress.objects.bulk_create(  # one INSERT … ON CONFLICT (email) DO UPDATE
        [BouncedAddress(email=address, delivery=kind, reason=reason, bounced_at=at,
                        message_id=message_id)],
        update_conflicts=True, unique_fields=["email"],
        update_fields=["delivery", "reason", "bounced_at", "message_id"])


def _tell_the_rep(provisioning):
    """The rep of an order whose deployment email just bounced, once, in the rep's language,
    with the change-contact page one click away."""
    order = provisioning.order
    rep = order.account_rep
    contact_url = settings.SITE_URL + reverse("provisioning:change_contact", args=[order.number])
    outbox.enqueue(OutboundEmail.Kind.REP_EMAIL_BOUNCED, rep.email, "rep-email-bounced",
                   {"rep": rep, "order": order, "provisioning": provisioning,
                    "contact": order.deployment_contact_email, "contact_url": contact_url,
                    "dashboard_url": settings.SITE_URL + reverse("provisioning:stalled")},
                   language=rep.language, order=order)


# --- The rule, for the senders ------------------------------------------------------------------

def bounced(addresses):
    """{address: BouncedAddress} of those among `addresses` that are held: one query."""
    wanted = {normalise_email(a) for a in addresses if a}
    return {row.email: row for row in BouncedAddress.objects.filter(email__in=wanted)} if wanted else {}


def forget_bounce(address):
    """A rep resends to `address`, makes it an order's contact, or re-opens its order: emails to
    it go out again."""
    BouncedAddress.objects.filter(email=normalise_email(address)).delete()
