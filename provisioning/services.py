"""Every provisioning state change is one function here: it checks the current state, changes
it in one transaction, appends the history row and schedules side effects on commit."""
import datetime
import hashlib
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from provisioning.models import Event, Provisioning, SetupLink, Status


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


def hash_token(raw_token):
    return hashlib.sha256(raw_token.encode()).hexdigest()


@transaction.atomic
def issue_link(order, recipient_email, purpose, actor=None):
    """A fresh link for `order`, superseding any live one. Returns the raw token: it exists only
    in the email; we keep its hash. 32 random bytes = 256 bits."""
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    SetupLink.objects.filter(order=order, superseded_at__isnull=True).update(superseded_at=now)
    link = SetupLink.objects.create(order=order, token_hash=hash_token(raw),
                                    recipient_email=recipient_email.lower(), purpose=purpose)
    Event.objects.create(order=order, kind=Event.Kind.LINK_ISSUED, actor=actor,
                         data={"recipient": link.recipient_email, "purpose": purpose})
    return raw


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
