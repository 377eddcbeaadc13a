from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from onboarding.access import last_opened, link_in_session, orders_for, user_can_manage
from orgs.models import Membership
from provisioning.models import Status


def home(request):
    """The front door: a signed-in member resumes the order whose link this browser opened last,
    anyone else goes to their orders or signs in."""
    resume = None
    if request.user.is_authenticated:
        link = link_in_session(request, last_opened(request))
        if link is not None and link.order.provisioning.set_up_at and \
                user_can_manage(request.user, link.order):
            resume = link.order
    return render(request, "onboarding/home.html", {"resume_order": resume})


@login_required
def my_orders(request):
    """The signed-in user's organisation's orders (onboarding.access.orders_for decides which)."""
    orders = list(orders_for(request.user).prefetch_related("lines"))
    organization = None
    if orders:  # the user's organisation is on every order already loaded: no extra query
        org_id = request.user.membership.organization_id
        first = orders[0]
        organization = first.partner_org if first.partner_org_id == org_id else first.customer_org
    return render(request, "onboarding/my_orders.html", {
        "orders": orders, "organization": organization, "Status": Status,
        "is_admin": getattr(getattr(request.user, "membership", None), "role", "")
        == Membership.Role.ADMIN})
