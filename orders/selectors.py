"""Read queries on orders: the order search, the admin's and (its email rule) the rep dashboard's."""
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

from orgs.models import User, normalise_email

# CCW-88213407, PTN-4411, 88213407: looked up exactly (or by prefix) through indexes.
IDENTIFIER_RE = re.compile(r"^([A-Za-z]{1,8}-)?\d[\w./-]*$")


def whole_address(term):
    """The term as normalise_email stores an address when it is a whole email address, else None
    (a piece of one, such as "it@fromagerie", is searched as a fragment)."""
    email = normalise_email(term)
    if "@" not in email:
        return None
    try:
        validate_email(email)
    except ValidationError:
        return None
    return email


def email_q(email, prefix=""):
    """The email rule of both order searches (the admin's and the rep dashboard's): a whole
    address, whatever its case, finds the orders it is the deployment contact of and the orders
    of the account rep who has it, each through a btree index (order_contact_lower_idx, the
    rep's foreign key)."""
    # The rep is looked up first: an OR across the join to users made PostgreSQL scan every
    # order; on two indexed columns of the orders it is a BitmapOr.
    rep_ids = list(User.objects.filter(email=email).values_list("pk", flat=True))
    return (Q(Exact(Lower(f"{prefix}deployment_contact_email"), email))
            | Q(**{f"{prefix}account_rep_id__in": rep_ids}))


def search_orders(queryset, term, prefix=""):
    """Orders matching an admin search term, each branch served by an index on a large table:
    a whole email address (email_q), an order number or partner/customer id (exact or number
    prefix), else a name or email fragment (contains)."""
    term = " ".join(term.split())
    if not term:
        return queryset
    p = prefix
    email = whole_address(term)
    if email:
        return queryset.filter(email_q(email, p))
    if IDENTIFIER_RE.match(term):
        return queryset.filter(
            Q(**{f"{p}number": term}) | Q(**{f"{p}number__startswith": term.upper()})
            | Q(**{f"{p}partner_external_id": term}) | Q(**{f"{p}customer_external_id": term}))
    return queryset.filter(
        Q(**{f"{p}customer_name__icontains": term}) | Q(**{f"{p}partner_name__icontains": term})
        | Q(**{f"{p}deployment_contact_email__icontains": term}))
