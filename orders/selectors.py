"""Read queries on orders (admin search)."""
import re

from django.db.models import Q
from django.db.models.functions import Lower

# CCW-88213407, PTN-4411, 88213407: looked up exactly (or by prefix) through indexes.
IDENTIFIER_RE = re.compile(r"^([A-Za-z]{1,8}-)?\d[\w./-]*$")


def search_orders(queryset, term, prefix=""):
    """Orders matching an admin search term, each branch served by an index on a large table:
    an email (exact, case-insensitive), an order number or partner/customer id (exact or number
    prefix), else a name or email fragment (contains)."""
    term = " ".join(term.split())
    if not term:
        return queryset
    p = prefix
    if "@" in term and " " not in term:
        email = term.lower()
        # The rep is looked up first: an OR across the join to users made PostgreSQL scan every
        # order (1 s on a million, bench/RESULTS.md); on two indexed columns it is a BitmapOr.
        from orgs.models import User

        rep_ids = list(User.objects.filter(email=email).values_list("pk", flat=True))
        return queryset.alias(**{"contact_lower_search": Lower(f"{p}deployment_contact_email")}).filter(
            Q(contact_lower_search=email) | Q(**{f"{p}account_rep_id__in": rep_ids}))
    if IDENTIFIER_RE.match(term):
        return queryset.filter(
            Q(**{f"{p}number": term}) | Q(**{f"{p}number__startswith": term.upper()})
            | Q(**{f"{p}partner_external_id": term}) | Q(**{f"{p}customer_external_id": term}))
    return queryset.filter(
        Q(**{f"{p}customer_name__icontains": term}) | Q(**{f"{p}partner_name__icontains": term})
        | Q(**{f"{p}deployment_contact_email__icontains": term}))
