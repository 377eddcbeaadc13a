"""The service setup assistant's state changes (spec step 11): review the subscription, save the
calling and meeting settings, reserve the subdomain, deploy and start billing.

Each function locks the order's provisioning row first, so a deploy never interleaves with a
settings change of the same order, and refuses changes once the order is deployed."""
import functools
import secrets
from dataclasses import dataclass

from django.conf import settings as django_settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from config.db import SelectRelated, update_rows
from orders.models import Order, OrderLine, Service
from orgs import subdomains
from orgs.models import Organization, normalise_email
from provisioning import lifecycle, outbox
from provisioning.models import (BillingPeriod, CallingSettings, Event, MeetingSettings,
                                 OutboundEmail, Provisioning, SetupMode, Status, Subscription)

# The assistant's steps, in order. Calling and meetings only when purchased.
SUBSCRIPTION, CALLING, MEETINGS, ENTERPRISE, DEPLOY = (
    "subscription", "calling", "meetings", "enterprise", "deploy")


class ServiceSetupError(Exception):
    """A change the order's state does not allow. `code` says which rule."""

    NOT_SET_UP = "not_set_up"      # the order setup (steps 3-10) is not finished
    CLOSED = "closed"              # the setup window closed
    DEPLOYED = "deployed"          # nothing may change after deployment
    INCOMPLETE = "incomplete"      # deploy before every step is done
    TAKEN = "taken"                # the subdomain went to another organisation meanwhile
    LOCKED = "locked"              # the organisation's subdomain is live for an earlier order

    def __init__(self, code, missing=()):
        super().__init__(code)
        self.code = code
        self.missing = list(missing)


def services_of(order):
    """The services purchased: `purchased` when load_order read them, else from the lines."""
    purchased = getattr(order, "purchased", None)
    return sorted(set(purchased)) if purchased is not None else order.services


def steps_for(order):
    """The step keys of this order, according to the services purchased."""
    services = set(services_of(order))
    steps = [SUBSCRIPTION]
    if Service.CALLING in services:
        steps.append(CALLING)
    if Service.MEETINGS in services:
        steps.append(MEETINGS)
    return steps + [ENTERPRISE, DEPLOY]


def related_or_none(obj, name):
    """A reverse one-to-one that may not exist (select_related leaves it cached either way)."""
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


def subscription_of(order):
    return related_or_none(order, "subscription")


def done_steps(order):
    """The steps of `order` already done. Reads the order's cached relations: load it with
    `load_order` for a fixed number of queries."""
    subscription = subscription_of(order)
    done = set()
    if subscription is not None and subscription.reviewed_at:
        done.add(SUBSCRIPTION)
    if related_or_none(order, "calling_settings") is not None:
        done.add(CALLING)
    if related_or_none(order, "meeting_settings") is not None:
        done.add(MEETINGS)
    if order.customer_org_id and order.customer_org.subdomain:
        done.add(ENTERPRISE)
    if order.provisioning.deployed_at:
        done.add(DEPLOY)
    return done


def first_step_not_done(order):
    done = done_steps(order)
    return next((step for step in steps_for(order) if step not in done), None)


def missing_before_deploy(order):
    done = done_steps(order)
    return [step for step in steps_for(order)[:-1] if step not in done]


_LOADED = ("provisioning", "customer_org", "subscription", "calling_settings", "meeting_settings")


@functools.cache
def _order_statement(column, vendor):
    # The services of its lines in the same row where the database has arrays (PostgreSQL);
    # elsewhere (make run's SQLite) services_of reads the lines.
    purchased = ({"purchased": f"ARRAY(SELECT service FROM {OrderLine._meta.db_table} "
                               'WHERE order_id = "t"."id")'} if vendor == "postgresql" else {})
    return SelectRelated(Order, *_LOADED, where=f'"t"."{column}" = %s', extra=purchased)


def load_order(**lookup):
    """The order with everything each page of the assistant reads, in one query: its relations,
    and the services of its lines (which decide the steps). A page that lists the lines reads
    them itself. Its SQL is written once per process (config/db.py): compiling this queryset
    cost several times running it. Raises Order.DoesNotExist."""
    (name, value), = lookup.items()
    column = Order._meta.pk.column if name == "pk" else Order._meta.get_field(name).column
    order = _order_statement(column, connection.vendor).first([value])
    if order is None:
        raise Order.DoesNotExist(f"no order with {name} {value!r}")
    return order


# --- State changes -----------------------------------------------------------------------------

@functools.cache
def _lock_statement(_vendor):
    return SelectRelated(Provisioning, where='"t"."order_id" = %s', lock=True)


def _lock(order):
    """Lock the provisioning row; refuse when the order is not (or no longer) open for changes.
    Every save of the assistant begins here: its SQL is written once per process."""
    provisioning = _lock_statement(connection.vendor).first([order.pk])
    if provisioning is None:
        raise Provisioning.DoesNotExist(f"no provisioning for order {order.pk}")
    if provisioning.deployed_at is not None:
        raise ServiceSetupError(ServiceSetupError.DEPLOYED)
    if provisioning.status == Status.CLOSED:
        raise ServiceSetupError(ServiceSetupError.CLOSED)
    if provisioning.set_up_at is None or provisioning.status != Status.SET_UP:
        raise ServiceSetupError(ServiceSetupError.NOT_SET_UP)
    return provisioning


def new_subscription_id():
    return f"Sub{secrets.randbelow(10 ** 9):09d}"


def ensure_subscription(order):
    """The order's subscription, created on first sight with a readable unique id. Two tabs
    creating it at once end with the same row (the order is unique on Subscription)."""
    existing = Subscription.objects.filter(order=order).first()
    if existing is not None:
        return existing
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Subscription.objects.create(order=order, subscription_id=new_subscription_id())
        except IntegrityError:
            existing = Subscription.objects.filter(order=order).first()
            if existing is not None:
                return existing  # the other tab won; otherwise an id collision: draw again
    raise RuntimeError("could not draw a free subscription id")


@transaction.atomic
def mark_subscription_reviewed(order, by=None):
    _lock(order)
    subscription = ensure_subscription(order)
    if subscription.reviewed_at is None:
        subscription.reviewed_at = timezone.now()
        subscription.save(update_fields=["reviewed_at"])
        Event.objects.create(order=order, kind=Event.Kind.SETTINGS_SAVED, actor=_actor(by),
                             data={"step": SUBSCRIPTION, "subscription": subscription.subscription_id})
    return subscription


def _update_or_create(model, order, values):
    """The order's settings row updated, else inserted. The caller holds the provisioning row's
    lock, so no other writer can insert it meanwhile: update_or_create's own row lock and
    savepoint would only add round trips."""
    if not update_rows(model, "order", order.pk, {"saved_at": timezone.now(), **values}):
        model.objects.create(order=order, **values)


@transaction.atomic
def save_calling_settings(order, *, country, time_zone, location_name, main_number, by=None):
    _lock(order)
    values = dict(country=country, time_zone=time_zone, location_name=location_name,
                  main_number=main_number)
    _update_or_create(CallingSettings, order, values)
    Event.objects.create(order=order, kind=Event.Kind.SETTINGS_SAVED, actor=_actor(by),
                         data={"step": CALLING, **values})


@transaction.atomic
def save_meeting_settings(order, *, language, time_zone, recording_allowed, guests_allowed,
                          join_before_host, by=None):
    _lock(order)
    values = dict(language=language, time_zone=time_zone, recording_allowed=recording_allowed,
                  guests_allowed=guests_allowed, join_before_host=join_before_host)
    _update_or_create(MeetingSettings, order, values)
    Event.objects.create(order=order, kind=Event.Kind.SETTINGS_SAVED, actor=_actor(by),
                         data={"step": MEETINGS, **values})


def subdomain_locked(org, order):
    """An organisation whose Webex site is live (an earlier order deployed) keeps its subdomain."""
    return bool(org.subdomain) and Order.objects.filter(
        customer_org=org, provisioning__deployed_at__isnull=False).exclude(pk=order.pk).exists()


@transaction.atomic
def reserve_subdomain(order, value, by=None):
    """Reserve `value` for the order's customer organisation. The case-insensitive unique
    constraint decides between two organisations saving the same name at the same moment:
    the loser gets ServiceSetupError(TAKEN)."""
    value = subdomains.normalise(value)
    subdomains.validate(value)
    _lock(order)
    org = Organization.objects.select_for_update().get(pk=order.customer_org_id)
    if org.subdomain == value:
        return org
    if subdomain_locked(org, order):
        raise ServiceSetupError(ServiceSetupError.LOCKED)
    previous = org.subdomain
    try:
        with transaction.atomic():  # a savepoint: the outer transaction survives the refusal
            Organization.objects.filter(pk=org.pk).update(subdomain=value)
    except IntegrityError:
        raise ServiceSetupError(ServiceSetupError.TAKEN) from None
    org.subdomain = value
    Event.objects.create(order=order, kind=Event.Kind.SUBDOMAIN_RESERVED, actor=_actor(by),
                         data={"subdomain": value, "previous": previous or ""})
    return org


@dataclass(frozen=True)
class Deployment:
    provisioning: Provisioning
    subscription: Subscription
    started_now: bool  # False when the order was already deployed (a replay, a second tab)


def deploy(order, by=None, installer_email=""):
    """Deploy the order's services and start billing. Idempotent: a double click, a replayed
    POST or another tab gets the first deployment back, and billing starts once per service.

    1. Lock the provisioning row (concurrent deploys of the order queue here).
    2. Already deployed: return it, nothing else happens.
    3. Refuse unless the order is set up and every step before Deploy is done.
    4. Activate the subscription, one BillingPeriod per purchased service (unique per
       subscription and service in the database, so even a bug above cannot bill twice).
    5. Status DEPLOYED, history row, confirmation emails through the outbox (sent on commit).
    """
    with transaction.atomic():
        provisioning = Provisioning.objects.select_for_update().get(pk=order.pk)
        if provisioning.deployed_at is not None:
            return Deployment(provisioning, Subscription.objects.get(order=order), False)
        if provisioning.status == Status.CLOSED:
            raise ServiceSetupError(ServiceSetupError.CLOSED)
        if provisioning.set_up_at is None or provisioning.status != Status.SET_UP:
            raise ServiceSetupError(ServiceSetupError.NOT_SET_UP)
        fresh = load_order(pk=order.pk)
        fresh.provisioning = provisioning
        missing = missing_before_deploy(fresh)
        if missing:
            raise ServiceSetupError(ServiceSetupError.INCOMPLETE, missing)

        now = timezone.now()
        subscription = ensure_subscription(fresh)
        subscription.activated_at = now
        subscription.save(update_fields=["activated_at"])
        services = services_of(fresh)
        BillingPeriod.objects.bulk_create(
            [BillingPeriod(subscription=subscription, service=service, started_at=now)
             for service in services])
        lifecycle.deployed(provisioning, now, _actor(by),
                           {"subscription": subscription.subscription_id, "services": services})
        _send_confirmations(fresh, subscription, provisioning, by, installer_email)
    return Deployment(provisioning, subscription, True)


def confirmation_recipients(order, provisioning, by=None, installer_email=""):
    """(email, for_partner) pairs: the installer. When the customer did the setup, the customer
    administrator and the partner (who keeps no access, but learns the order is live): the
    partner installer who handed the setup over, else the partner's deployment contact."""
    installer = normalise_email(provisioning.installer_email or installer_email
                                or (by.email if by is not None and by.is_authenticated else "")
                                or order.deployment_contact_email)
    if provisioning.setup_mode != SetupMode.CUSTOMER:
        return [(installer, False)]
    # After a hand-over the installer is the partner's; the customer admin is the one who set up.
    admin = normalise_email(provisioning.customer_admin_email or installer)
    partner = installer if installer != admin else normalise_email(order.deployment_contact_email)
    recipients = [(admin, False)]
    if partner != admin:
        recipients.append((partner, True))
    return recipients


def _send_confirmations(order, subscription, provisioning, by, installer_email):
    context = {
        "order": order,
        "subscription": subscription,
        "lines": list(order.lines.all()),
        "subdomain": order.customer_org.subdomain,
        "deployed_at": provisioning.deployed_at,
        "my_orders_url": django_settings.SITE_URL + reverse("onboarding:my_orders"),
    }
    for to, for_partner in confirmation_recipients(order, provisioning, by, installer_email):
        outbox.enqueue(OutboundEmail.Kind.DEPLOYED, to, "deployed",
                       {**context, "for_partner": for_partner}, language=order.language,
                       order=order)


def _actor(by):
    return by if by is not None and by.is_authenticated else None
