from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from onboarding.access import last_opened, link_in_session, orders_for
from provisioning.models import Status


def home(request):
    """The front door: resume a setup started from a link, or go to one's orders."""
    link = link_in_session(request, last_opened(request))
    resume = None
    if link is not None and link.superseded_at is None and link.order.provisioning.set_up_at:
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
        "orders": orders, "organization": organization, "Status": Status})
