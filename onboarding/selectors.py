"""Read queries of the setup wizard."""
from orgs.models import Organization, User, normalise_email
from provisioning.models import SetupLink


def partner_org_for(order):
    """The partner org of the order's partner id: None on the partner's first order."""
    return Organization.objects.filter(kind=Organization.Kind.PARTNER,
                                       external_id=order.partner_external_id).first()


def customer_org_for(order):
    return Organization.objects.filter(kind=Organization.Kind.CUSTOMER,
                                       external_id=order.customer_external_id).first()


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
