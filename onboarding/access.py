"""Who may open an order's setup pages (docs/SECURITY.md has the whole table).

- A setup link proves control of its recipient's mailbox and opens that one order's wizard, up to
  Confirm. The /setup/<token>/ view stores the link's id in the session under its order's number
  (the token leaves the URL). It is never an account: it signs nobody in.
- The browser that confirmed an order's setup sees its done page and chooses the new
  administrator's password there; that browser is recognised by its session (`browser_id`).
- The service setup needs a signed-in member of an organisation that manages the order; Deploy,
  which starts billing, an administrator of it who entered their password recently.
"""
import secrets
import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models import Q
from django.dispatch import receiver

from orders.models import Order
from orgs.models import Membership
from provisioning import links
from provisioning.models import SetupMode

SESSION_LINKS_KEY = "setup_links"  # {order number: link id}, the order opened last at the end
AUTHENTICATED_AT_KEY = "authenticated_at"  # when this session last proved its password
BROWSER_KEY = "browser"  # see browser_id


def set_for_order(request, key, number, value):
    """Session entries kept per order under `key`: {order number: value}, the latest at the end.
    A value of None removes the order's entry."""
    entries = {n: v for n, v in request.session.get(key, {}).items() if n != number}
    request.session[key] = entries if value is None else {**entries, number: value}


def remember_link(request, link):
    set_for_order(request, SESSION_LINKS_KEY, link.order.number, link.pk)


def last_opened(request):
    """The number of the order whose link this browser opened last, or None."""
    return next(reversed(request.session.get(SESSION_LINKS_KEY, {})), None)


def link_in_session(request, number):
    """The link this browser followed for order `number`, or None."""
    link_id = request.session.get(SESSION_LINKS_KEY, {}).get(number)
    if link_id is None:
        return None
    return links.link_for_order(link_id, number)


def browser_id(request):
    """A random name for this browser, kept in its session (it survives the new session key a
    sign-in brings): recorded with a Confirm, so that only the browser that confirmed is offered
    the new administrator's password."""
    if BROWSER_KEY not in request.session:
        request.session[BROWSER_KEY] = secrets.token_hex(16)
    return request.session[BROWSER_KEY]


# --- Signed-in people ---------------------------------------------------------------------------

def _membership(user):
    if not user.is_authenticated:
        return None
    return getattr(user, "membership", None)


def managing_org_ids(order):
    """The organisations whose members may set up this order's services: its customer's, and its
    partner's unless the customer did the setup (spec step 5)."""
    ids = {order.customer_org_id} if order.customer_org_id else set()
    if order.partner_org_id and order.provisioning.setup_mode != SetupMode.CUSTOMER:
        ids.add(order.partner_org_id)
    return ids


def user_can_manage(user, order):
    """True when a signed-in user's organisation may manage this order's setup."""
    membership = _membership(user)
    return membership is not None and membership.organization_id in managing_org_ids(order)


def user_can_deploy(user, order):
    """Deploy starts billing: an administrator of a managing organisation."""
    membership = _membership(user)
    return (membership is not None and membership.role == Membership.Role.ADMIN
            and membership.organization_id in managing_org_ids(order))


def is_member_of(user, org):
    membership = _membership(user)
    return membership is not None and org is not None and membership.organization_id == org.pk


@receiver(user_logged_in)
def _remember_authentication(sender, request=None, user=None, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[AUTHENTICATED_AT_KEY] = int(time.time())


def mark_authenticated(request):
    """This session just proved its password again (Deploy's re-authentication)."""
    request.session[AUTHENTICATED_AT_KEY] = int(time.time())


def authenticated_recently(request):
    at = request.session.get(AUTHENTICATED_AT_KEY)
    return at is not None and time.time() - at <= settings.REAUTHENTICATE_AFTER


def orders_for(user):
    """The orders a signed-in user sees on 'My orders'."""
    membership = _membership(user)
    if membership is None:
        return Order.objects.none()
    org_id = membership.organization_id
    return (Order.objects.filter(Q(customer_org_id=org_id) |
                                 Q(partner_org_id=org_id,
                                   provisioning__setup_mode__in=[SetupMode.SELF, SetupMode.COLLEAGUE]))
            .select_related("provisioning", "partner_org", "customer_org")
            .order_by("-requested_start_date"))
