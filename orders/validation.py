"""Validation of one order in the ordering system's JSON format, shared by `import_orders` and
`POST /api/orders`.

`validate_order(data)` returns a `Validated` with either `cleaned` (plain Python values ready for
the models) or `errors`: {field: [reason, …]}. Field names are JSON paths (`partner.name`,
`lines[1].quantity`) so an operator can find the culprit in the file. A valid order never fails
a database constraint of `orders` (lengths, choices, quantity ≥ 1, one line per SKU), so the import
only meets the database's refusal on a race.
"""
import datetime
import json
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _, gettext_lazy

from orders.models import Language, Order, OrderLine, Product, Service
from orgs.models import normalise_email

COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Printable, no spaces: order numbers end up in URLs, emails and search boxes.
ORDER_NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


# Built once: validating 10,000 orders calls these 100,000 times.
PRODUCTS, LANGUAGES, SERVICES = Product.values, Language.values, Service.values
# Lazy: translated only when an order is actually wrong.
UNKNOWN_PRODUCT = gettext_lazy("unknown product %(value)s (expected %(expected)s)")
UNKNOWN_LANGUAGE = gettext_lazy("unknown language %(value)s (expected %(expected)s)")
UNKNOWN_SERVICE = gettext_lazy("unknown service %(value)s (expected %(expected)s)")
NOT_A_DATE = gettext_lazy("not a date %(value)s (expected YYYY-MM-DD)")
BAD_ORDER_NUMBER = gettext_lazy("must be letters, digits, dots, dashes or slashes, without spaces")


# Python refuses to turn more than 4,300 digits into an int (a denial-of-service guard), so a
# hostile body could make json.loads raise. No field takes a number that long: keep it whole as
# text, and let each field say what is wrong with it where it is.
MAX_NUMBER_DIGITS = 64


class OversizedNumber:
    """A JSON number too long to be any field's value."""

    __slots__ = ("literal",)

    def __init__(self, literal):
        self.literal = literal

    def __str__(self):
        return f"{self.literal[:20]}… ({len(self.literal)} characters)"


def _number(literal, convert):
    if len(literal) > MAX_NUMBER_DIGITS:
        return OversizedNumber(literal)
    return convert(literal)


def loads(text):
    """json.loads for order files and API bodies: any number too long for a field is an
    OversizedNumber rather than an exception. Raises json.JSONDecodeError and RecursionError."""
    return json.loads(text, parse_int=lambda s: _number(s, int),
                      parse_float=lambda s: _number(s, float))


def _max_length(model, name):
    return model._meta.get_field(name).max_length


@dataclass
class Validated:
    cleaned: dict | None = None
    errors: dict = field(default_factory=dict)

    @property
    def ok(self):
        return not self.errors


def order_label(data, position=None):
    """How an operator finds this order in the file: its number, else its position."""
    number = data.get("order_number") if isinstance(data, dict) else None
    if isinstance(number, str) and number.strip() and len(number) <= 64:
        return _printable(number.strip())
    return f"#{position}" if position is not None else "?"


class _Checker:
    def __init__(self):
        self.errors = {}

    def add(self, path, reason):
        self.errors.setdefault(path, []).append(reason)

    def string(self, obj, key, path, *, max_length, required=True, pattern=None, pattern_reason=None):
        if key not in obj or obj[key] is None or (isinstance(obj[key], str) and not obj[key].strip()):
            if required:
                self.add(path, _("this field is required"))
            return ""
        value = obj[key]
        if not isinstance(value, str):
            self.add(path, _("must be a string"))
            return None
        value = value.strip()
        if len(value) > max_length:
            self.add(path, _("must be at most %(max)d characters") % {"max": max_length})
            return None
        if "\x00" in value or not _encodable(value):
            self.add(path, _("must be valid text (no NUL character or lone surrogate)"))
            return None
        if pattern is not None and not pattern.match(value):
            self.add(path, str(pattern_reason))
            return None
        return value

    def email(self, obj, key, path, *, required=True):
        value = self.string(obj, key, path, max_length=254, required=required)
        if not value:
            return value
        try:
            validate_email(value)
        except ValidationError:
            self.add(path, _("invalid email address %(value)s") % {"value": _quote(value)})
            return None
        return value

    def choice(self, obj, key, path, choices, reason, *, required=True, default=None):
        if key not in obj or obj[key] is None:
            if required:
                self.add(path, _("this field is required"))
            return default
        value = obj[key]
        if not isinstance(value, str) or value.strip() not in choices:
            self.add(path, reason % {"value": _quote(value), "expected": _or_list(choices)})
            return None
        return value.strip()

    def country(self, obj, key, path):
        value = self.string(obj, key, path, max_length=2)
        if not value:
            return value
        value = value.upper()
        if not COUNTRY_RE.match(value):
            self.add(path, _("must be a two-letter country code such as FR"))
            return None
        return value

    def date(self, obj, key, path):
        if key not in obj or obj[key] is None or obj[key] == "":
            self.add(path, _("this field is required"))
            return None
        value = obj[key]
        reason = NOT_A_DATE
        if not isinstance(value, str) or not DATE_RE.match(value.strip()):
            self.add(path, reason % {"value": _quote(value)})
            return None
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            self.add(path, reason % {"value": _quote(value)})
            return None

    def quantity(self, obj, key, path):
        if key not in obj or obj[key] is None:
            self.add(path, _("this field is required"))
            return None
        value = obj[key]
        # JSON true is a Python int; 50.0 is a float: neither is a count of licences.
        if isinstance(value, OversizedNumber):
            self.add(path, _("is too large"))
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, _("must be a whole number, got %(value)s") % {"value": _quote(value)})
            return None
        if value < 1:
            self.add(path, _("must be at least 1, got %(value)s") % {"value": value})
            return None
        if value > 2_147_483_647:
            self.add(path, _("is too large"))
            return None
        return value

    def obj(self, data, key, path):
        if key not in data or data[key] is None:
            self.add(path, _("this field is required"))
            return None
        if not isinstance(data[key], dict):
            self.add(path, _("must be an object"))
            return None
        return data[key]


def _printable(text):
    """Shown to an operator: control characters and lone surrogates escaped, never a crash."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate such as "\ud800" from a JSON escape
        return False
    return True


def _quote(value):
    if isinstance(value, OversizedNumber):
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    if len(text) > 60:
        text = text[:57] + "…"
    text = _printable(text)
    return f'"{text}"' if isinstance(value, str) else text


def _or_list(choices):
    choices = list(choices)
    return _("%(first)s or %(last)s") % {"first": ", ".join(choices[:-1]), "last": choices[-1]}


def validate_order(data):
    """Check one order as a whole; every problem is reported, not only the first."""
    check = _Checker()
    if not isinstance(data, dict):
        check.add("order", _("must be a JSON object"))
        return Validated(errors=check.errors)

    number = check.string(data, "order_number", "order_number",
                          max_length=_max_length(Order, "number"), pattern=ORDER_NUMBER_RE,
                          pattern_reason=BAD_ORDER_NUMBER)
    product = check.choice(data, "product", "product", PRODUCTS, UNKNOWN_PRODUCT)
    start = check.date(data, "requested_start_date", "requested_start_date")
    contact = check.email(data, "deployment_contact_email", "deployment_contact_email")
    language = check.choice(data, "language", "language", LANGUAGES, UNKNOWN_LANGUAGE,
                            required=False, default=Language.EN)
    rep = check.email(data, "account_rep_email", "account_rep_email")

    partner = check.obj(data, "partner", "partner")
    partner_fields = {}
    if partner is not None:
        partner_fields = {
            "partner_external_id": check.string(partner, "id", "partner.id",
                                                max_length=_max_length(Order, "partner_external_id")),
            "partner_name": check.string(partner, "name", "partner.name",
                                         max_length=_max_length(Order, "partner_name")),
            "partner_country": check.country(partner, "country", "partner.country"),
        }

    customer = check.obj(data, "customer", "customer")
    customer_fields = {}
    if customer is not None:
        customer_fields = {
            "customer_external_id": check.string(customer, "id", "customer.id",
                                                 max_length=_max_length(Order, "customer_external_id")),
            "customer_name": check.string(customer, "name", "customer.name",
                                          max_length=_max_length(Order, "customer_name")),
            "customer_country": check.country(customer, "country", "customer.country"),
        }
        for key in ("address", "city", "postal_code"):
            customer_fields[f"customer_{key}"] = check.string(
                customer, key, f"customer.{key}", required=False,
                max_length=_max_length(Order, f"customer_{key}"))

    lines = []
    raw_lines = data.get("lines")
    if raw_lines is None:
        check.add("lines", _("this field is required"))
    elif not isinstance(raw_lines, list):
        check.add("lines", _("must be a list of order lines"))
    elif not raw_lines:
        check.add("lines", _("must contain at least one line"))
    else:
        seen_skus = set()
        for i, raw in enumerate(raw_lines):
            path = f"lines[{i}]"
            if not isinstance(raw, dict):
                check.add(path, _("must be an object"))
                continue
            sku = check.string(raw, "sku", f"{path}.sku", max_length=_max_length(OrderLine, "sku"))
            if sku:
                if sku in seen_skus:
                    check.add(f"{path}.sku", _("duplicate SKU %(value)s in this order")
                              % {"value": _quote(sku)})
                seen_skus.add(sku)
            service = check.choice(raw, "service", f"{path}.service", SERVICES, UNKNOWN_SERVICE)
            quantity = check.quantity(raw, "quantity", f"{path}.quantity")
            line_contact = check.email(raw, "deployment_contact_email",
                                       f"{path}.deployment_contact_email", required=False)
            lines.append({"sku": sku, "service": service, "quantity": quantity,
                          "deployment_contact_email": line_contact or ""})

    if check.errors:
        return Validated(errors=check.errors)
    return Validated(cleaned={
        "number": number, "product": product, "requested_start_date": start,
        "deployment_contact_email": contact, "language": language,
        "account_rep_email": normalise_email(rep),
        **partner_fields, **customer_fields,
        "lines": lines,
    })
