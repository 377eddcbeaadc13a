"""Webex subdomains (<name>.webex.com): the rules, availability and suggestions.

The database has the last word on uniqueness (org_subdomain_ci_unique, on Lower(subdomain));
`is_available` only answers the Check availability button and picks suggestions."""
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from orgs.models import Organization

MIN_LENGTH = 3
MAX_LENGTH = 30
ALLOWED = re.compile(r"[a-z0-9-]+\Z")

# Names that would impersonate the service or its infrastructure, or confuse users.
RESERVED = frozenset("""
    www www1 www2 admin administrator api apis app apps auth login logout signin signup sso oauth
    mail email smtp imap pop pop3 mx webmail ftp sftp ssh vpn dns ns ns1 ns2 cdn static assets
    media files images img help support status docs doc blog news dev test testing stage staging
    prod production demo sandbox beta alpha internal intranet root system sys billing pay payment
    payments account accounts my dashboard portal console control settings security secure
    webex cisco meet meeting meetings call calling message messaging team teams spark
    partner partners customer customers order orders setup onboarding hub hubs localhost
    example invalid null undefined
""".split())

MESSAGES = {
    "too_short": _("Use at least %(min)d characters."),
    "too_long": _("Use at most %(max)d characters."),
    "ascii": _("Use only unaccented letters a–z, digits and hyphens."),
    "chars": _("Use only lowercase letters a–z, digits and hyphens."),
    "hyphen_ends": _("A subdomain cannot start or end with a hyphen."),
    "reserved": _("This name is reserved. Choose another one."),
    "taken": _("This subdomain is already taken."),
    "just_taken": _("This subdomain was just taken by another organisation. Choose another one."),
}


def normalise(value):
    """What the user meant: surrounding spaces dropped, letters lowercased."""
    return (value or "").strip().lower()


def problem(value):
    """The code of the first rule `value` breaks (a key of MESSAGES), or None if it is valid.
    Availability is not checked here."""
    if not value.isascii():
        return "ascii"
    if len(value) < MIN_LENGTH:
        return "too_short"
    if len(value) > MAX_LENGTH:
        return "too_long"
    if not ALLOWED.match(value):
        return "chars"
    if value.startswith("-") or value.endswith("-"):
        return "hyphen_ends"
    if value in RESERVED:
        return "reserved"
    return None


def validate(value):
    code = problem(value)
    if code:
        raise ValidationError(MESSAGES[code], code=code, params={"min": MIN_LENGTH, "max": MAX_LENGTH})


def taken(candidates, exclude_org=None):
    """The subset of `candidates` (lowercase) held by another organisation, in one query."""
    candidates = {c.lower() for c in candidates}
    if not candidates:
        return set()
    held = Organization.objects.annotate(lower_subdomain=Lower("subdomain")) \
        .filter(lower_subdomain__in=candidates)
    if exclude_org is not None:
        held = held.exclude(pk=exclude_org.pk)
    return set(held.values_list("lower_subdomain", flat=True))


def is_available(value, exclude_org=None):
    return not taken([value], exclude_org)


def slugify_ascii(text):
    """'Boulangerie Martin & Fils' -> 'boulangerie-martin-fils' (accents folded, ASCII only)."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def _fit(base, suffix=""):
    """`base` + `suffix`, base trimmed so the whole fits MAX_LENGTH without a trailing hyphen."""
    room = MAX_LENGTH - len(suffix)
    return base[:room].rstrip("-") + suffix


def candidates_for(wanted, org=None):
    """Alternatives to `wanted`, most natural first: with the org's city or country, its name,
    then numbered. A reserved word such as "www" starts none of them ("www-lyon" still reads as
    the reserved name): the org's name does instead."""
    wanted = slugify_ascii(wanted)
    base = (wanted if wanted not in RESERVED else "") or slugify_ascii(org.name if org else "") \
        or "webex"
    words = []
    if org is not None:
        in_base = set(base.split("-"))
        rest_of_name = "-".join(w for w in slugify_ascii(org.name).split("-") if w not in in_base)
        words += [slugify_ascii(org.city), rest_of_name, (org.country or "").lower()]
    # The base itself, when it is not what was asked for (the org's name instead of "www").
    out = [_fit(base)] if base != wanted else []
    for word in words:
        if word and word not in base.split("-"):
            out.append(_fit(base, "-" + word))
    if org is not None:
        name = slugify_ascii(org.name)
        if name and name != base:
            out.append(_fit(name))
    out += [_fit(base, "-webex"), _fit(base, "-team")]
    out += [_fit(base, str(n)) for n in range(2, 10)]
    out += [_fit(base, f"-{n}") for n in range(2, 10)]
    seen, unique = set(), []
    for candidate in out:
        if candidate not in seen and candidate != wanted and problem(candidate) is None:
            seen.add(candidate)
            unique.append(candidate)
    return unique


def suggestions(wanted, org=None, count=3):
    """`count` available subdomains close to `wanted`, checked in one query."""
    candidates = candidates_for(wanted, org)
    held = taken(candidates, exclude_org=org)
    return [c for c in candidates if c not in held][:count]
