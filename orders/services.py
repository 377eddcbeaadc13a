"""Order intake: every write of the import command and of POST /api/orders goes through here.

Each order is validated as a whole (orders.validation) and written all or nothing: the order,
its lines, its provisioning row and the 'imported' history event. New orders go in 250 per
transaction (OrderImporter.import_many), a failed batch one order per transaction.

Re-import policy (a known order number never creates a duplicate):
- identical to what we have: reported "unchanged", nothing written;
- different, and nothing has happened yet (deployment email not yet due, not set up, still
  scheduled): the order is updated, its provisioning schedule recomputed when the start date or
  product changed, and an 'updated' history event records what changed;
- different, but the email is due or sent (or the order is set up/closed): kept as it is and
  reported unchanged with the ignored fields. Changes then go through admin actions.
"""
import datetime
import hashlib
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import ApiKey, Order, OrderLine
from orders.validation import order_label, validate_order
from orgs.models import User, normalise_email
from provisioning import lifecycle
from provisioning.models import Event, Provisioning, Status

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
KEPT = "kept"            # known, differs, but provisioning has started: nothing applied
REJECTED = "rejected"

# Order fields the JSON carries (the rep is compared by email, the lines as a set).
ORDER_FIELDS = [
    "product", "requested_start_date", "deployment_contact_email", "language",
    "partner_external_id", "partner_name", "partner_country",
    "customer_external_id", "customer_name", "customer_country",
    "customer_address", "customer_city", "customer_postal_code",
]
SCHEDULE_FIELDS = {"requested_start_date", "product"}  # what schedule_for() reads


@dataclass
class Outcome:
    label: str
    status: str
    errors: dict = field(default_factory=dict)
    order: Order | None = None
    changed: list = field(default_factory=list)
    reason: str = ""

    def describe(self):
        """One line for an operator: `order CCW-…: …`."""
        prefix = f"order {self.label}"
        if self.status == REJECTED:
            return "\n".join(f"{prefix}: {path}: {reason}"
                             for path, reasons in self.errors.items() for reason in reasons)
        if self.status == CREATED:
            return f"{prefix}: imported"
        if self.status == UPDATED:
            return f"{prefix}: updated ({', '.join(self.changed)})"
        if self.status == KEPT:
            return (f"{prefix}: unchanged, {self.reason} "
                    f"(changes not applied: {', '.join(self.changed)})")
        return f"{prefix}: unchanged"


def _lines_key(lines):
    return sorted((line["sku"], line["service"], line["quantity"], line["deployment_contact_email"])
                  for line in lines)


def _differences(order, lines, cleaned):
    """({field: (ours, theirs)}, lines differ?) between a stored order and a validated one."""
    changes = {name: (getattr(order, name), cleaned[name]) for name in ORDER_FIELDS
               if getattr(order, name) != cleaned[name]}
    if normalise_email(order.account_rep.email) != cleaned["account_rep_email"]:
        changes["account_rep_email"] = (order.account_rep.email, cleaned["account_rep_email"])
    ours = [{"sku": line.sku, "service": line.service, "quantity": line.quantity,
             "deployment_contact_email": line.deployment_contact_email} for line in lines]
    lines_changed = _lines_key(ours) != _lines_key(cleaned["lines"])
    if not changes and not lines_changed:
        return {}, False
    return changes, lines_changed


def _why_frozen(provisioning):
    """Why a known order may no longer be changed by a re-import, or '' when it may."""
    if provisioning is None:
        return ""
    if provisioning.email_sent_at is not None:
        return _("the deployment email was already sent")
    if provisioning.email_due_at <= timezone.now():
        # Due: the email job may be sending it right now (its lease is not our lock).
        return _("the deployment email is already due")
    if provisioning.set_up_at is not None:
        return _("the order is already set up")
    if provisioning.status != Status.SCHEDULED:
        return _("its provisioning is %(status)s") % {"status": provisioning.get_status_display()}
    return ""


class OrderImporter:
    """Imports orders, each all or nothing (import_many batches them). Keeps account reps and the
    reps group in memory across orders, and looks up a batch's reps and known numbers in two
    queries."""

    def __init__(self, *, actor=None, source="import"):
        self.actor = actor
        self.source = source
        self._reps = {}          # lower-cased email -> User (committed rows only)
        self._group = None

    # --- batches ---------------------------------------------------------------------------------

    def import_many(self, items, *, start=1, batch_size=250):
        """Yield one Outcome per item, in order. `start` numbers items for error labels.

        Per batch: validate everything, look up its reps and known orders in a few queries, then
        write all its new orders in one transaction with bulk inserts. Each order is still
        all-or-nothing; if that transaction fails (a race on a number, say), it is rolled back
        whole and its orders are redone one transaction each, so one bad order never blocks the
        others. Known numbers go one by one through the re-import policy."""
        for offset in range(0, len(items), batch_size):
            yield from self._import_batch(items[offset:offset + batch_size], start + offset)

    def import_one(self, data):
        validated = validate_order(data)
        label = order_label(data)
        if not validated.ok:
            return Outcome(label, REJECTED, errors=validated.errors)
        return self._guarded(label, self._create_or_reimport, validated.cleaned)

    def _import_batch(self, batch, first_position):
        checked = [validate_order(data) for data in batch]
        labels = [order_label(data, first_position + i) for i, data in enumerate(batch)]
        outcomes = [Outcome(labels[i], REJECTED, errors=v.errors) if not v.ok else None
                    for i, v in enumerate(checked)]
        valid = [(i, v.cleaned) for i, v in enumerate(checked) if v.ok]
        if not valid:
            return outcomes
        self._prefetch_reps({cleaned["account_rep_email"] for _i, cleaned in valid})
        known = {order.number: order for order in (
            Order.objects.filter(number__in=[cleaned["number"] for _i, cleaned in valid])
            .select_related("account_rep").prefetch_related("lines"))}

        fresh, later, seen = [], [], set()
        for i, cleaned in valid:
            if cleaned["number"] in known or cleaned["number"] in seen:
                later.append((i, cleaned))  # a re-import, or a repeat within this batch
            else:
                seen.add(cleaned["number"])
                fresh.append((i, cleaned))

        created = self._bulk_create([cleaned for _i, cleaned in fresh]) if fresh else []
        if created is None:  # the batch's transaction failed and was rolled back: one by one
            for i, cleaned in fresh:
                outcomes[i] = self._guarded(labels[i], self._create_or_reimport, cleaned)
        else:
            for (i, _cleaned), order in zip(fresh, created):
                outcomes[i] = Outcome(labels[i], CREATED, order=order)

        for i, cleaned in later:
            current = known.get(cleaned["number"])
            if current is not None and _differences(current, list(current.lines.all()), cleaned) == ({}, False):
                outcomes[i] = Outcome(labels[i], UNCHANGED, order=current)  # no write, no lock
            else:
                outcomes[i] = self._guarded(labels[i], self._create_or_reimport, cleaned)
        return outcomes

    def _guarded(self, label, fn, cleaned):
        try:
            return fn(label, cleaned)
        except DatabaseError as exc:
            # Validation should make this unreachable; one bad row must not stop the file.
            return Outcome(label, REJECTED, errors={"order": [
                _("could not be saved: %(error)s") % {"error": str(exc).strip().splitlines()[0]}]})

    def _bulk_create(self, cleaned_list):
        """New orders of one batch in one transaction; None if it failed (nothing was written)."""
        new_reps = {}
        try:
            with transaction.atomic():
                orders = [Order(number=cleaned["number"],
                                account_rep=self._rep(cleaned["account_rep_email"], new_reps),
                                **{name: cleaned[name] for name in ORDER_FIELDS})
                          for cleaned in cleaned_list]
                Order.objects.bulk_create(orders)
                OrderLine.objects.bulk_create([OrderLine(order=order, **line)
                                               for order, cleaned in zip(orders, cleaned_list)
                                               for line in cleaned["lines"]])
                lifecycle.create_many(orders, actor=self.actor)
        except DatabaseError:
            return None
        self._reps.update(new_reps)
        return orders

    def _create_or_reimport(self, label, cleaned):
        if Order.objects.filter(number=cleaned["number"]).exists():
            return self._reimport(label, cleaned)
        try:
            return self._create(label, cleaned)
        except IntegrityError:
            if Order.objects.filter(number=cleaned["number"]).exists():
                return self._reimport(label, cleaned)
            raise

    # --- writes ----------------------------------------------------------------------------------

    def _create(self, label, cleaned):
        new_reps = {}
        with transaction.atomic():
            order = Order.objects.create(
                number=cleaned["number"], account_rep=self._rep(cleaned["account_rep_email"], new_reps),
                **{name: cleaned[name] for name in ORDER_FIELDS})
            OrderLine.objects.bulk_create([OrderLine(order=order, **line) for line in cleaned["lines"]])
            lifecycle.create(order, actor=self.actor)
        self._reps.update(new_reps)
        return Outcome(label, CREATED, order=order)

    def _reimport(self, label, cleaned):
        new_reps = {}
        with transaction.atomic():
            # Locks the order and its provisioning row: the email job cannot send in between.
            order = (Order.objects.select_for_update(of=("self",)).select_related("account_rep")
                     .get(number=cleaned["number"]))
            provisioning = Provisioning.objects.select_for_update().filter(order=order).first()
            changes, lines_changed = _differences(order, list(order.lines.all()), cleaned)
            changed = list(changes) + (["lines"] if lines_changed else [])
            if not changed:
                return Outcome(label, UNCHANGED, order=order)
            frozen = _why_frozen(provisioning)
            if frozen:
                return Outcome(label, KEPT, order=order, changed=changed, reason=frozen)

            for name in ORDER_FIELDS:
                setattr(order, name, cleaned[name])
            if "account_rep_email" in changes:
                order.account_rep = self._rep(cleaned["account_rep_email"], new_reps)
            order.save()
            if lines_changed:
                order.lines.all().delete()
                OrderLine.objects.bulk_create([OrderLine(order=order, **line)
                                               for line in cleaned["lines"]])
            history = {"source": self.source, "lines_changed": lines_changed,
                       "changes": {name: [str(old), str(new)] for name, (old, new) in changes.items()}}
            if provisioning is None:
                lifecycle.create(order, actor=self.actor)
                Event.objects.create(order=order, kind=Event.Kind.UPDATED, actor=self.actor,
                                     data=history)
            elif SCHEDULE_FIELDS & set(changes):
                lifecycle.reschedule(provisioning, order, actor=self.actor, data=history)
            else:
                Event.objects.create(order=order, kind=Event.Kind.UPDATED, actor=self.actor,
                                     data=history)
        self._reps.update(new_reps)
        return Outcome(label, UPDATED, order=order, changed=changed)

    # --- account reps ----------------------------------------------------------------------------

    def _prefetch_reps(self, emails):
        missing = [email for email in emails if email not in self._reps]
        if missing:
            for user in User.objects.alias(email_lower=Lower("email")).filter(email_lower__in=missing):
                self._reps[normalise_email(user.email)] = user

    def _rep(self, email, new_reps):
        """The rep with this email; created if missing as an inactive staff user in the reps group
        with no usable password. Whoever sends orders names the rep, so the account cannot sign
        in until an administrator activates it (Users → "Activate the selected accounts"); then
        the rep chooses a password through "forgot password". An existing user is used as it is:
        an order never grants staff rights to someone who already has an account."""
        if email in self._reps:
            return self._reps[email]
        if email in new_reps:  # created earlier in this (uncommitted) batch
            return new_reps[email]
        user = User.objects.alias(email_lower=Lower("email")).filter(email_lower=email).first()
        if user is None:
            try:
                with transaction.atomic():
                    user = User(email=email, is_staff=True, is_active=False)
                    user.set_unusable_password()
                    user.save()
                    user.groups.add(self._reps_group())
            except IntegrityError:  # created concurrently
                user = User.objects.alias(email_lower=Lower("email")).get(email_lower=email)
        new_reps[email] = user
        return user

    def _reps_group(self):
        if self._group is None:
            self._group, _created = Group.objects.get_or_create(name=settings.REPS_GROUP)
        return self._group


def import_order(data, *, actor=None, source="api"):
    """One order (the API): an Outcome with status created/updated/unchanged/kept/rejected."""
    return OrderImporter(actor=actor, source=source).import_one(data)


# --- API keys ------------------------------------------------------------------------------------

API_KEY_PREFIX = "onb_"


def hash_api_key(raw_key):
    return hashlib.sha256(raw_key.encode()).hexdigest()


def generate_api_key():
    """(raw key, prefix, hash): 256 random bits. The prefix helps tell keys apart in admin."""
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return raw, raw[:12], hash_api_key(raw)


def create_api_key(name):
    """A new key: returns (ApiKey, raw key). The raw key is shown once and never stored."""
    raw, prefix, key_hash = generate_api_key()
    key = ApiKey.objects.create(name=name, prefix=prefix, key_hash=key_hash)
    return key, raw


def authenticate_api_key(raw_key):
    """The live ApiKey for a raw key, or None (unknown or revoked)."""
    if not raw_key or len(raw_key) > 200:
        return None
    key = ApiKey.objects.filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True).first()
    if key is None:
        return None
    now = timezone.now()
    # At most one write a minute per key, however busy the ordering system is.
    if key.last_used_at is None or now - key.last_used_at > datetime.timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def revoke_api_keys(queryset):
    return queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
