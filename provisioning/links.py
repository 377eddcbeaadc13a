"""Setup links: the Set up now link of an order, one live at a time. The raw token exists only
in the email (derived when it is sent, provisioning/tokens.py); we keep its nonce and hash."""
import functools
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.db import SelectRelated
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


@functools.cache
def _link_with_order():
    return SelectRelated(SetupLink, "order", "order__provisioning",
                         where='"t"."id" = %s AND "order"."number" = %s')


def link_for_order(link_id, number):
    """Setup link `link_id` with its order and the order's provisioning, if it is order
    `number`'s; else None: the look-up every page of the wizard begins with, as
    `select_related("order", "order__provisioning")` makes it."""
    return _link_with_order().first([link_id, number])


def link_problem(link):
    provisioning = link.order.provisioning
    if link.superseded_at is not None:
        return LinkProblem.SUPERSEDED
    if provisioning.deployed_at is not None:
        return LinkProblem.DEPLOYED
    if lifecycle.window_closed(provisioning):
        return LinkProblem.EXPIRED
    return None


def new_link_secret():
    """What outbox.build takes to put a new setup link in an email: a token made when the email
    is sent, which becomes the order's link only once the mail server accepted it (issue_links,
    by the deployment email's after_send)."""
    return ("new_setup_link", "")


@outbox.register_secret("new_setup_link")
def _new_link_url(_ref):
    return setup_url(secrets.token_urlsafe(32))


def token_in(url):
    """The raw token of a setup_url."""
    return url.removeprefix(f"{settings.SITE_URL}/setup/").rstrip("/")


def issue_links(sent, purpose, now, superseded=False):
    """issue_link for a batch of orders in three queries, from tokens already emailed (the
    deployment email's, in the transaction recording it sent): `sent` is {order id: (raw
    token, recipient)}. `superseded`: links of emails replaced while they were on the wire,
    issued already superseded (the orders' live links stay)."""
    if not sent:
        return
    if not superseded:
        SetupLink.objects.filter(order_id__in=sent, superseded_at__isnull=True) \
            .update(superseded_at=now)
    SetupLink.objects.bulk_create([
        SetupLink(order_id=order_id, token_hash=hash_token(token), purpose=purpose,
                  recipient_email=normalise_email(recipient), created_at=now,
                  superseded_at=now if superseded else None)
        for order_id, (token, recipient) in sent.items()])
    Event.objects.bulk_create([
        Event(order_id=order_id, kind=Event.Kind.LINK_ISSUED, at=now,
              data={"recipient": normalise_email(recipient), "purpose": purpose,
                    **({"superseded": True} if superseded else {})})
        for order_id, (_token, recipient) in sent.items()])


def send_link(kind, template, order, email, purpose, invited_by, actor=None):
    """A fresh link for `email` (the order's previous one stops working) and its email through
    the outbox, the URL derived when it is sent. The caller holds the order's lock."""
    issue_link(order, email, purpose, actor=actor)
    outbox.enqueue(kind, email, template,
                   {"order": order, "invited_by": invited_by,
                    "window_closes_at": order.provisioning.window_closes_at},
                   order.language, order, secrets={"url": link_secret(live_link_id(order))})
