"""Who may open an order's setup pages.

- Someone who followed a valid setup link: the /setup/<token>/ view stores the link's id in the
  session under its order's number (the token leaves the URL) and redirects to that order's clean
  URL. A browser holds one link per order, so a partner can set up several orders in several tabs.
- A signed-in user whose organisation is the order's partner org (unless the customer did the
  setup) or the order's customer org.
"""
from orders.models import Order
from provisioning.models import SetupLink, SetupMode

SESSION_LINKS_KEY = "setup_links"  # {order number: link id}, the order opened last at the end


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
    return (SetupLink.objects.select_related("order", "order__provisioning")
            .filter(pk=link_id, order__number=number).first())


def user_can_manage(user, order):
    """True when a signed-in user's organisation may manage this order's setup."""
    if not user.is_authenticated:
        return False
    membership = getattr(user, "membership", None)
    if membership is None:
        return False
    org_id = membership.organization_id
    if order.customer_org_id == org_id:
        return True
    customer_led = order.provisioning.setup_mode == SetupMode.CUSTOMER
    return order.partner_org_id == org_id and not customer_led


def orders_for(user):
    """The orders a signed-in user sees on 'My orders'."""
    membership = getattr(user, "membership", None)
    if membership is None:
        return Order.objects.none()
    org_id = membership.organization_id
    from django.db.models import Q

    return (Order.objects.filter(Q(customer_org_id=org_id) |
                                 Q(partner_org_id=org_id, provisioning__setup_mode__in=["self", "colleague"]))
            .select_related("provisioning", "partner_org", "customer_org")
            .order_by("-requested_start_date"))
