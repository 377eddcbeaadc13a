"""Setup links: the Set up now link of an order, one live at a time. The raw token exists only
in the email (derived when it is sent, provisioning/tokens.py); we keep its nonce and hash."""
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orgs.models import normalise_email
from provisioning import lifecycle, outbox, tokens
from provisioning.models import Event, SetupLink
from provisioning.tokens import hash_token


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
                                    recipient_email=normalise_email(recipient_email), purpose=purpose)
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
    if lifecycle.window_closed(provisioning):
        return LinkProblem.EXPIRED
    return None


def new_tokens(orders):
    """A raw token per order ({order_id: token}), not yet a link: see issue_links."""
    return {order.pk: secrets.token_urlsafe(32) for order in orders}


def issue_links(orders, purpose, raw_tokens=None, now=None):
    """issue_link for a batch of orders in three queries (the deployment-email job's batches),
    from `raw_tokens` made earlier by new_tokens (or fresh ones). Returns {order_id: token}."""
    now = now or timezone.now()
    raw_tokens = raw_tokens or new_tokens(orders)
    tokens_ = {order.pk: raw_tokens[order.pk] for order in orders}
    if not tokens_:
        return tokens_
    with transaction.atomic():
        SetupLink.objects.filter(order_id__in=tokens_, superseded_at__isnull=True) \
            .update(superseded_at=now)
        SetupLink.objects.bulk_create([
            SetupLink(order=order, token_hash=hash_token(tokens_[order.pk]), purpose=purpose,
                      recipient_email=normalise_email(order.deployment_contact_email), created_at=now)
            for order in orders])
        Event.objects.bulk_create([
            Event(order=order, kind=Event.Kind.LINK_ISSUED, at=now,
                  data={"recipient": normalise_email(order.deployment_contact_email),
                        "purpose": purpose})
            for order in orders])
    return tokens_


def send_link(kind, template, order, email, purpose, invited_by, actor=None):
    """A fresh link for `email` (the order's previous one stops working) and its email through
    the outbox, the URL derived when it is sent. The caller holds the order's lock."""
    issue_link(order, email, purpose, actor=actor)
    outbox.enqueue(kind, email, template,
                   {"order": order, "invited_by": invited_by,
                    "window_closes_at": order.provisioning.window_closes_at},
                   order.language, order, secrets={"url": link_secret(live_link_id(order))})
