"""Read queries of the setup wizard."""
import functools

from config.db import SelectRelated
from orders.models import Order
from orgs.models import Organization, User, normalise_email
from provisioning.models import SetupLink


@functools.cache
def _org_by_external_id():
    return SelectRelated(Organization, where='"t"."kind" = %s AND "t"."external_id" = %s')


def _org(kind, external_id):
    # On the wizard's every step after the first: its SQL written once (config/db.py).
    return _org_by_external_id().first([str(kind), external_id])


def partner_org_for(order):
    """The partner org of the order's partner id: None on the partner's first order."""
    return _org(Organization.Kind.PARTNER, order.partner_external_id)


def customer_org_for(order):
    return _org(Organization.Kind.CUSTOMER, order.customer_external_id)


@functools.cache
def _order_after_confirm():
    return SelectRelated(Order, "provisioning", "provisioning__new_admin", "partner_org",
                         "customer_org", where='"t"."number" = %s')


def order_after_confirm(number):
    """Order `number` with what the done page shows: its provisioning, the administrator its
    setup created, both organisations. None if there is no such order."""
    return _order_after_confirm().first([number])


def user_with_org(email):
    """(user, organisation or None) for an email, or (None, None) when nobody has it."""
    user = (User.objects.select_related("membership__organization")
            .filter(email__iexact=normalise_email(email)).first())
    if user is None:
        return None, None
    membership = getattr(user, "membership", None)
    return user, membership.organization if membership else None


def live_link(order):
    return SetupLink.objects.filter(order=order, superseded_at__isnull=True).first()


def mask_email(email):
    """j•••@partner.example: enough for the right person to recognise their address."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"
