"""Every provisioning state change is one function here: it checks the current state, changes
it in one transaction, appends the history row and schedules side effects on commit."""
import datetime
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from provisioning import outbox, tokens
from provisioning.models import Event, Provisioning, SetupLink, Status
from provisioning.tokens import hash_token


def local_time_on(day, hour):
    """An aware datetime for `day` at `hour` in the site's time zone (DST-safe)."""
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=ZoneInfo(settings.TIME_ZONE))


def schedule_for(order):
    """The provisioning timestamps an order's start date implies."""
    email_due = local_time_on(order.requested_start_date, settings.DEPLOYMENT_EMAIL_HOUR)
    stall_due = local_time_on(order.requested_start_date + datetime.timedelta(days=1),
                              settings.DEPLOYMENT_EMAIL_HOUR)
    days = settings.SETUP_WINDOW_DAYS_FLEX if order.product == "A-FLEX" else settings.SETUP_WINDOW_DAYS
    window = local_time_on(order.requested_start_date + datetime.timedelta(days=days), 23) \
        .replace(minute=59, second=59)
    return {"email_due_at": email_due, "email_next_attempt_at": email_due,
            "stall_due_at": stall_due, "window_closes_at": window}


@transaction.atomic
def create_provisioning(order, actor=None):
    """The provisioning row of a newly imported order, and its 'imported' history entry."""
    provisioning = Provisioning.objects.create(order=order, **schedule_for(order))
    Event.objects.create(order=order, kind=Event.Kind.IMPORTED, actor=actor)
    return provisioning


# --- Setup links -------------------------------------------------------------------------------

class LinkProblem:
    """Why a setup link does not open the wizard; each has its own page."""
    UNKNOWN = "unknown"          # never issued (or tampered with)
    SUPERSEDED = "superseded"    # a newer link was sent for this order
    EXPIRED = "expired"          # the setup window closed (order closed until re-opened)
    DEPLOYED = "deployed"        # the order is deployed: nothing left to set up


@dataclass(frozen=True)
class LinkCheck:
    link: "SetupLink | None"
    problem: "str | None"

    @property
    def ok(self):
        return self.problem is None


LINK_PURPOSE = "setup-link"


@transaction.atomic
def issue_link(order, recipient_email, purpose, actor=None):
    """A fresh link for `order`, superseding any live one. Returns the raw token, derived from
    the link's nonce and SECRET_KEY (256 bits): we keep the nonce and the token's hash, and an
    email asks for the link with `link_secret(link_id)`, so it is derived again when sent."""
    nonce = tokens.new_nonce()
    raw = tokens.derive(LINK_PURPOSE, nonce)
    now = timezone.now()
    SetupLink.objects.filter(order=order, superseded_at__isnull=True).update(superseded_at=now)
    link = SetupLink.objects.create(order=order, token_hash=hash_token(raw), nonce=nonce,
                                    recipient_email=recipient_email.lower(), purpose=purpose)
    Event.objects.create(order=order, kind=Event.Kind.LINK_ISSUED, actor=actor, at=now,
                         data={"recipient": link.recipient_email, "purpose": purpose})
    return raw


def live_link_id(order):
    return SetupLink.objects.filter(order=order, superseded_at__isnull=True) \
        .values_list("pk", flat=True).first()


def link_secret(link_id):
    """What outbox.enqueue takes to put this link's URL in an email when it is sent."""
    return ("setup_link", link_id)


@outbox.register_secret("setup_link")
def _link_url(link_id):
    nonce = SetupLink.objects.values_list("nonce", flat=True).get(pk=link_id)
    return setup_url(tokens.derive(LINK_PURPOSE, nonce))


def setup_url(raw_token):
    """Links are built from SITE_URL, never from a request's Host header."""
    return f"{settings.SITE_URL}/setup/{raw_token}/"


def check_link(raw_token):
    """Read-only: which link this token is and whether it may open the wizard."""
    if not raw_token or len(raw_token) > 100:
        return LinkCheck(None, LinkProblem.UNKNOWN)
    link = (SetupLink.objects.select_related("order", "order__provisioning")
            .filter(token_hash=hash_token(raw_token)).first())
    if link is None:
        return LinkCheck(None, LinkProblem.UNKNOWN)
    return LinkCheck(link, link_problem(link))


def link_problem(link):
    provisioning = link.order.provisioning
    if link.superseded_at is not None:
        return LinkProblem.SUPERSEDED
    if provisioning.deployed_at is not None:
        return LinkProblem.DEPLOYED
    if provisioning.status == Status.CLOSED or timezone.now() > provisioning.window_closes_at:
        return LinkProblem.EXPIRED
    return None


def new_tokens(orders):
    """A raw token per order ({order_id: token}), not yet a link: see issue_links."""
    return {order.pk: secrets.token_urlsafe(32) for order in orders}


def issue_links(orders, purpose, tokens=None, now=None):
    """issue_link for a batch of orders in three queries (the deployment-email job's batches),
    from `tokens` made earlier by new_tokens (or fresh ones). Returns {order_id: raw token}."""
    now = now or timezone.now()
    tokens = tokens or new_tokens(orders)
    tokens = {order.pk: tokens[order.pk] for order in orders}
    if not tokens:
        return tokens
    with transaction.atomic():
        SetupLink.objects.filter(order_id__in=tokens, superseded_at__isnull=True) \
            .update(superseded_at=now)
        SetupLink.objects.bulk_create([
            SetupLink(order=order, token_hash=hash_token(tokens[order.pk]), purpose=purpose,
                      recipient_email=order.deployment_contact_email.lower(), created_at=now)
            for order in orders])
        Event.objects.bulk_create([
            Event(order=order, kind=Event.Kind.LINK_ISSUED, at=now,
                  data={"recipient": order.deployment_contact_email.lower(), "purpose": purpose})
            for order in orders])
    return tokens


# --- Deployment email: resend, change contact, re-open, contacted ------------------------------

class NotAllowed(Exception):
    """A state change refused for a reason the person who asked should read."""


class NotYours(NotAllowed):
    """Refused because of who asked, not because of the order's state."""


def may_change_contact(user, order):
    """Superusers change any order's deployment contact; a rep only the orders they are the
    account representative of (pointing someone else's order at one's own mailbox would hand
    its setup link over)."""
    return user.is_superuser or order.account_rep_id == user.pk


def check_may_change_contact(user, order):
    from django.utils.translation import gettext as _

    if user is not None and not may_change_contact(user, order):
        raise NotYours(_("Only the account representative of order %(number)s, or an administrator, "
                         "may change its deployment contact.") % {"number": order.number})


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one deployment email sent at once (resend, change contact, demo)."""
    sent: bool
    url: "str | None" = None
    error: str = ""


def window_length(order):
    days = settings.SETUP_WINDOW_DAYS_FLEX if order.product == "A-FLEX" else settings.SETUP_WINDOW_DAYS
    return datetime.timedelta(days=days)


def check_email_can_change(provisioning, now):
    from django.utils.translation import gettext as _

    if provisioning.set_up_at is not None or provisioning.deployed_at is not None:
        raise NotAllowed(_("Order %(number)s is already set up: its deployment email can no longer "
                           "be resent or sent to another contact.")
                         % {"number": provisioning.order.number})
    if provisioning.status == Status.CLOSED or now > provisioning.window_closes_at:
        raise NotAllowed(_("The setup window of order %(number)s is closed: re-open it first.")
                         % {"number": provisioning.order.number})


def _take_over_email(provisioning, now):
    """Make the order's deployment email unsent and claimed by us, so that if the send below
    fails the deployment-email job retries it after the lease."""
    from provisioning import jobs

    provisioning.email_sent_at = None
    provisioning.email_next_attempt_at = now + jobs.EMAIL_LEASE
    provisioning.email_attempts = 0
    provisioning.email_failed_at = None
    provisioning.email_last_error = ""
    provisioning.save(update_fields=["email_sent_at", "email_next_attempt_at", "email_attempts",
                                     "email_failed_at", "email_last_error", "updated_at"])


def resend_deployment_email(order, actor=None):
    """1. refuse once the order is set up (or closed); 2. record RESENT and take the email over;
    3. issue a fresh link (the old one stops working) and send at once through the job's path."""
    from provisioning import jobs

    now = timezone.now()
    with transaction.atomic():
        provisioning = Provisioning.objects.select_for_update().select_related("order").get(pk=order.pk)
        check_email_can_change(provisioning, now)
        _take_over_email(provisioning, now)
        Event.objects.create(order_id=order.pk, kind=Event.Kind.RESENT, actor=actor, at=now,
                             data={"to": provisioning.order.deployment_contact_email})
    return jobs.send_deployment_email_now(order.pk)


def change_deployment_contact(order, email, apply_to_lines=False, actor=None):
    """Like resend, to a new deployment contact; `apply_to_lines` also sets the contact of every
    line of the order. `actor` must be allowed to (may_change_contact): NotYours otherwise. The
    previous contact gets a notice through the outbox."""
    from orders.models import Order, OrderLine
    from provisioning import jobs

    from provisioning import outbox
    from provisioning.models import OutboundEmail

    email = email.strip().lower()
    now = timezone.now()
    with transaction.atomic():
        provisioning = (Provisioning.objects.select_for_update(of=("self", "order"))
                        .select_related("order", "order__account_rep").get(pk=order.pk))
        check_may_change_contact(actor, provisioning.order)
        check_email_can_change(provisioning, now)
        old = provisioning.order.deployment_contact_email
        Order.objects.filter(pk=order.pk).update(deployment_contact_email=email, updated_at=now)
        lines = OrderLine.objects.filter(order_id=order.pk).update(deployment_contact_email=email) \
            if apply_to_lines else 0
        _take_over_email(provisioning, now)
        Event.objects.create(order_id=order.pk, kind=Event.Kind.CONTACT_CHANGED, actor=actor, at=now,
                             data={"from": old, "to": email, "lines_changed": lines})
        if old.lower() != email:
            # The previous contact learns that their link stopped working and whom to ask: a
            # contact changed by mistake, or by someone who should not have, does not go unseen.
            outbox.enqueue(OutboundEmail.Kind.CONTACT_CHANGED_NOTICE, old, "contact-changed-notice",
                           {"order": provisioning.order, "rep_email": provisioning.order.account_rep.email},
                           language=provisioning.order.language, order=provisioning.order)
    order.deployment_contact_email = email
    return jobs.send_deployment_email_now(order.pk)


def reopen_sends_new_link(provisioning):
    """Re-opening emails a fresh link when the deployment email went out and nobody set up."""
    return provisioning.set_up_at is None and provisioning.email_sent_at is not None


def can_reopen(provisioning, now=None):
    now = now or timezone.now()
    return provisioning.deployed_at is None and (
        provisioning.status == Status.CLOSED or now > provisioning.window_closes_at)


@dataclass(frozen=True)
class Reopened:
    provisioning: Provisioning
    email: "SendOutcome | None"  # the fresh link's email; None when none was due


def reopen(order, actor=None):
    """Give a closed order a new setup window of the usual length from now. What the expired-link
    page promises: if its deployment email had gone out, a fresh link is emailed at once and the
    old one stops working (an order already set up keeps its installer's link, which works
    again); an email never sent goes out on the job's next run."""
    from django.utils.translation import gettext as _

    from provisioning import jobs

    now = timezone.now()
    with transaction.atomic():
        provisioning = Provisioning.objects.select_for_update().select_related("order").get(pk=order.pk)
        if not can_reopen(provisioning, now):
            raise NotAllowed(_("Order %(number)s is not closed: there is nothing to re-open.")
                             % {"number": provisioning.order.number})
        provisioning.window_closes_at = now + window_length(provisioning.order)
        new_link = reopen_sends_new_link(provisioning)
        if provisioning.set_up_at is not None:
            provisioning.status = Status.SET_UP
        elif provisioning.email_sent_at is not None:
            provisioning.status = Status.EMAIL_SENT
        else:
            provisioning.status = Status.SCHEDULED
            provisioning.email_next_attempt_at = now
        provisioning.save(update_fields=["window_closes_at", "status", "email_next_attempt_at",
                                         "updated_at"])
        Event.objects.create(order_id=order.pk, kind=Event.Kind.REOPENED, actor=actor, at=now,
                             data={"window_closes_at": provisioning.window_closes_at.isoformat(),
                                   "new_link": new_link})
        if new_link:
            _take_over_email(provisioning, now)
    return Reopened(provisioning, jobs.send_deployment_email_now(order.pk) if new_link else None)


@transaction.atomic
def mark_contacted(order, note, actor=None):
    """The rep contacted the partner about a stalled order (the source's step 3)."""
    now = timezone.now()
    Provisioning.objects.filter(pk=order.pk).update(last_contacted_at=now, updated_at=now)
    return Event.objects.create(order_id=order.pk, kind=Event.Kind.CONTACTED, actor=actor, at=now,
                                note=note.strip())
