"""The setup wizard's state changes (steps 3-10); those of the order's provisioning are the
lifecycle's (provisioning/lifecycle.py), which these call. The wizard writes nothing before
Confirm except `lifecycle.begin_setup` (the "setup begun" mark of the rep dashboard) and the
exits that end it: a hand-over to a colleague, and "I don't recognise this organisation"."""
import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onboarding import memberships, selectors
from orgs import services as orgs_services
from orgs.models import Membership, Organization, User, normalise_email
from provisioning import lifecycle, outbox
from provisioning.models import Event, OutboundEmail, Provisioning, SetupLink
from provisioning.links import send_link

EMAIL_IN_OTHER_ORG = _(
    "This email already belongs to another Webex organisation, and a user can belong to only one "
    "organisation at a time. Enter another email, or ask that organisation's administrator to "
    "remove this user first.")
SAME_PERSON_BOTH_SIDES = _(
    "The customer administrator must be someone other than the installer: a user can belong to "
    "only one organisation at a time. Enter the customer's own email.")
PARTNER_ORG_APPEARED = _(
    "Your partner organisation was created by someone else a moment ago. Check its details "
    "below before you continue.")
NOT_A_MEMBER = _(
    "Only members of this organisation can set up its orders. Sign in if you are one, or ask its "
    "administrators to let you join.")
NOT_AN_ADMIN = _(
    "This customer's Webex organisation already exists: enter the email of one of its "
    "administrators. To add a new administrator, ask one of them.")
MANAGED_ELSEWHERE = _(
    "This customer's Webex organisation is managed by another partner, or by the customer itself: "
    "it cannot be added to this order's setup. Tell your account representative, who will sort "
    "it out with you.")
CUSTOMER_ORG_APPEARED = _(
    "This customer organisation was created by someone else a moment ago. Check its details "
    "below before you continue.")


class AlreadySetUp(Exception):
    """Someone completed this order's setup first (double click, second tab, colleague)."""


class LinkNoLongerValid(Exception):
    """The link in the session was superseded (a hand-over) while this wizard was open."""


class SetupConflict(Exception):
    """A rule checked at Confirm failed: send the user back to `step` with `message`."""

    def __init__(self, step, field, message):
        super().__init__(str(message))
        self.step, self.field, self.message = step, field, message


@dataclass(frozen=True)
class OrgDetails:
    name: str
    country: str
    address: str = ""
    city: str = ""
    postal_code: str = ""


@dataclass(frozen=True)
class SetupPlan:
    """What the wizard's steps decided; `complete_setup` re-checks it under the order's lock."""
    mode: str                          # SetupMode
    installer_name: str
    installer_email: str               # the person doing this part of the setup
    customer_admin_email: str
    partner_led: bool = True           # False: the customer sets up their own organisation
    partner_org_id: "int | None" = None
    new_partner_org: "OrgDetails | None" = None
    customer_org_id: "int | None" = None
    new_customer_org: "OrgDetails | None" = None
    hand_to_customer: bool = False     # the partner stops after attaching the order
    member_id: "int | None" = None     # the signed-in member verifying an existing partner org


@dataclass(frozen=True)
class SetupResult:
    order_id: int
    set_up: bool                       # False when handed to the customer
    password_user_id: "int | None"     # a user this setup created, who needs a password


# --- Rules shared by the forms and by Confirm ---------------------------------------------------

def installer_email_problem(email, partner_org):
    """An installer joins the partner org: refuse an email of another organisation."""
    _user, org = selectors.user_with_org(email)
    if org is None or (partner_org is not None and org.pk == partner_org.pk):
        return None
    return EMAIL_IN_OTHER_ORG


def customer_admin_problem(email, order, partner_org, customer_org, installer_email=None,
                           customer_led=False):
    """(error or None, the existing customer org this email selects or None).

    An existing customer organisation gains no administrator here: the address must already be
    one of its administrators. A new organisation's administrator is invited (partner-led) or
    is the customer's own proven address (customer-led)."""
    if installer_email and normalise_email(email) == normalise_email(installer_email):
        return SAME_PERSON_BOTH_SIDES, None
    user, org = selectors.user_with_org(email)
    if customer_org is not None:
        if org is not None and org.pk == customer_org.pk and _is_admin(user):
            return None, org
        return (NOT_AN_ADMIN if org is None or org.pk == customer_org.pk
                else EMAIL_IN_OTHER_ORG), None
    if org is None:
        return None, None
    if org.kind == Organization.Kind.CUSTOMER and _is_admin(user):
        # No org under the order's customer id yet: the admin's own org is taken for the
        # customer's only when it is that customer (known under another id), and this partner
        # manages it (or, customer-led, nobody does). Anyone can type an email: it must not
        # open some other org's details.
        managers = {None} if customer_led else set()
        if partner_org is not None:
            managers.add(partner_org.pk)
        if org.managed_by_id in managers and _is_the_orders_customer(org, order):
            return None, org
    return EMAIL_IN_OTHER_ORG, None


def customer_org_managed_elsewhere(customer_org, partner_org, customer_led=False):
    """True when the order's existing customer organisation may not be used by this setup: it
    is managed by another partner, or (for a partner's setup) by the customer itself."""
    if customer_org is None:
        return False
    partner_id = partner_org.pk if partner_org is not None else None
    if customer_led:
        return customer_org.managed_by_id not in (None, partner_id)
    return customer_org.managed_by_id is None or customer_org.managed_by_id != partner_id


def _is_admin(user):
    membership = getattr(user, "membership", None)
    return membership is not None and membership.role == Membership.Role.ADMIN


def _same_name(a, b):
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _is_the_orders_customer(org, order):
    return (org.country.upper() == order.customer_country.upper()
            and _same_name(org.name, order.customer_name))


# --- State changes ------------------------------------------------------------------------------

def _lock(link):
    """The order's provisioning row, locked; raises unless this link may still finish a step."""
    provisioning = (Provisioning.objects.select_for_update().select_related("order")
                    .get(pk=link.order_id))
    if provisioning.set_up_at is not None:
        raise AlreadySetUp()
    if provisioning.status not in lifecycle.OPEN:
        raise LinkNoLongerValid()  # closed meanwhile: the link's page says so
    if not SetupLink.objects.filter(pk=link.pk, superseded_at__isnull=True).exists():
        raise LinkNoLongerValid()
    return provisioning


@transaction.atomic
def hand_to_colleague(link, colleague_email):
    """Step 5, "Someone else in my company will do the setup": a fresh link for the colleague
    (the current one stops working) and their email, in the order's language."""
    provisioning = _lock(link)
    order = provisioning.order
    email = normalise_email(colleague_email)
    send_link(OutboundEmail.Kind.COLLEAGUE, "colleague", order, email,
               SetupLink.Purpose.COLLEAGUE, link.recipient_email)
    Event.objects.create(order=order, kind=Event.Kind.COLLEAGUE_INVITED,
                         data={"colleague": email, "by": link.recipient_email})
    return email


NOT_RECOGNISED_QUIET = datetime.timedelta(hours=1)


def _tell_rep_once_an_hour(order, kind, org, data, email_kind, template, context,
                           record_each_time=True):
    """The rep's email at most once an hour per organisation; a history entry each time (or,
    `record_each_time` False, with each email only)."""
    recent = Event.objects.filter(order=order, kind=kind, data__org_id=org.pk,
                                  at__gte=timezone.now() - NOT_RECOGNISED_QUIET).exists()
    if record_each_time or not recent:
        Event.objects.create(order=order, kind=kind, data={**data, "org_id": org.pk})
    if not recent:
        outbox.enqueue(email_kind, order.account_rep.email, template,
                       {"order": order, "org": org, **context,
                        "admin_url": f"{settings.SITE_URL}/admin/orders/order/{order.pk}/change/"},
                       order.account_rep.language, order)


@transaction.atomic
def report_not_recognised(link, org):
    """"I don't recognise this organisation": tell the order's account rep (once an hour per
    organisation, however often the button is pressed) and record it. Nothing else is saved."""
    which = "partner" if org.kind == Organization.Kind.PARTNER else "customer"
    _tell_rep_once_an_hour(link.order, Event.Kind.NOT_RECOGNISED, org,
                           {"organisation": which, "reported_by": link.recipient_email},
                           OutboundEmail.Kind.REP_NOT_RECOGNISED, "rep-not-recognised",
                           {"which": which, "reported_by": link.recipient_email})


@transaction.atomic
def report_managed_elsewhere(link, org):
    """The order's customer organisation is managed by another partner (or by the customer):
    this setup cannot use it. Tell the rep and record it, once an hour (the step tells them as it
    is reached, and again on its button); nothing else."""
    managed_by = org.managed_by.name if org.managed_by_id else ""
    _tell_rep_once_an_hour(link.order, Event.Kind.ORG_REFUSED, org,
                           {"organisation": org.name, "managed_by": managed_by,
                            "reported_by": link.recipient_email},
                           OutboundEmail.Kind.REP_ORG_REFUSED, "rep-org-refused",
                           {"managed_by": managed_by, "reported_by": link.recipient_email},
                           record_each_time=False)


def _partner_org(plan, order):
    if plan.new_partner_org is not None:
        if selectors.partner_org_for(order) is not None:
            raise SetupConflict("partner_org", None, PARTNER_ORG_APPEARED)
        d = plan.new_partner_org
        try:
            return orgs_services.create_org(Organization.Kind.PARTNER, order.partner_external_id,
                                            d.name, d.country), True
        except orgs_services.OrgConflict:
            raise SetupConflict("partner_org", None, PARTNER_ORG_APPEARED) from None
    if plan.partner_org_id is not None:
        return Organization.objects.get(pk=plan.partner_org_id), False
    return None, False


@transaction.atomic
def complete_setup(link, plan, browser=""):
    """Step 9, Confirm: the first point at which the wizard saves anything, all in one
    transaction under the order's lock, so a double click, a second tab or two people with the
    same link create exactly one set of organisations and users.

    1. Lock the order; stop if it is set up already (AlreadySetUp) or the link was superseded.
    2. The partner org (created on the partner's first order) and the installer's membership.
    3. Handed to the customer: attach the order, send the customer admin their link, stop.
    4. Otherwise the customer org (managed by the partner unless the customer leads), the
       customer administrator, the order's links, the status "set up" and its history entry.

    `browser` (access.browser_id) is recorded with the history entry: only that browser is
    offered the new administrator's password.
    """
    provisioning = _lock(link)
    order = provisioning.order
    password_user = None

    partner_org, partner_new = (None, False)
    installer = None
    if plan.partner_led:
        partner_org, partner_new = _partner_org(plan, order)
        if partner_new:
            # The wizard proved this address (the link's own, or a code): it administers the
            # partner organisation it has just created.
            if installer_email_problem(plan.installer_email, partner_org):
                raise SetupConflict("installer", "email", EMAIL_IN_OTHER_ORG)
            try:
                installer, created = orgs_services.ensure_member(
                    plan.installer_email, partner_org, Membership.Role.ADMIN, plan.installer_name)
            except orgs_services.OrgConflict:
                raise SetupConflict("installer", "email", EMAIL_IN_OTHER_ORG) from None
            if created:
                password_user = installer  # step 10: the new partner org's administrator
        else:
            # An existing partner organisation is set up by one of its members, signed in.
            installer = User.objects.filter(pk=plan.member_id,
                                            membership__organization=partner_org).first()
            if installer is None:
                raise SetupConflict("partner_org", None, NOT_A_MEMBER)
    else:
        # The customer leads: the partner org is only recorded, never joined or managed.
        partner_org = order.partner_org or selectors.partner_org_for(order)

    existing_customer = selectors.customer_org_for(order)
    customer_leads = not plan.partner_led or plan.hand_to_customer
    if customer_org_managed_elsewhere(existing_customer, partner_org, customer_led=customer_leads):
        raise SetupConflict("customer_admin", "email", MANAGED_ELSEWHERE)
    problem, selected = customer_admin_problem(
        plan.customer_admin_email, order, partner_org, existing_customer,
        installer_email=plan.installer_email if plan.partner_led else None,
        customer_led=customer_leads)
    if problem:
        raise SetupConflict("customer_admin", "email", problem)
    installer_email = installer.email if installer is not None else normalise_email(
        plan.installer_email)

    if plan.hand_to_customer:
        order.partner_org = partner_org
        order.save(update_fields=["partner_org", "updated_at"])
        admin_email = normalise_email(plan.customer_admin_email)
        send_link(OutboundEmail.Kind.CUSTOMER_ADMIN, "customer-admin", order, admin_email,
                   SetupLink.Purpose.CUSTOMER_ADMIN, installer_email, actor=installer)
        lifecycle.hand_over(provisioning, link=link, installer=installer,
                            installer_name=plan.installer_name, installer_email=installer_email,
                            customer_admin_email=admin_email, partner_org_created=partner_new,
                            new_admin=password_user, browser=browser)
        return SetupResult(order.pk, False, password_user and password_user.pk)

    customer_new = False
    if plan.new_customer_org is not None:
        if existing_customer is not None or selected is not None:
            raise SetupConflict("customer_org", None, CUSTOMER_ORG_APPEARED)
        d = plan.new_customer_org
        try:
            customer_org = orgs_services.create_org(
                Organization.Kind.CUSTOMER, order.customer_external_id, d.name, d.country,
                d.address, d.city, d.postal_code,
                managed_by=partner_org if plan.partner_led else None)
        except orgs_services.OrgConflict:
            raise SetupConflict("customer_org", None, CUSTOMER_ORG_APPEARED) from None
        customer_new = True
    else:
        customer_org = Organization.objects.get(pk=plan.customer_org_id)
        if customer_org.pk not in {getattr(existing_customer, "pk", None),
                                   getattr(selected, "pk", None)}:
            raise SetupConflict("customer_org", None, CUSTOMER_ORG_APPEARED)
    admin_email = normalise_email(plan.customer_admin_email)
    admin = None
    if customer_new and plan.partner_led:
        # The partner named this address: it is invited, and administers the organisation once
        # it accepts from its own mailbox (onboarding/memberships.py).
        memberships.invite_admin(order, customer_org, admin_email, invited_by=installer,
                                 by_email=installer_email)
    elif customer_new:
        # The customer's own address, proven by its link or a code.
        try:
            admin, admin_created = orgs_services.ensure_member(
                admin_email, customer_org, Membership.Role.ADMIN, plan.installer_name)
        except orgs_services.OrgConflict:
            raise SetupConflict("customer_admin", "email", EMAIL_IN_OTHER_ORG) from None
        if admin_created:
            password_user = admin  # the customer set up their own new org: they administer it
    else:
        admin = User.objects.filter(email__iexact=admin_email,
                                    membership__organization=customer_org).first()

    order.partner_org = partner_org
    order.customer_org = customer_org
    order.save(update_fields=["partner_org", "customer_org", "updated_at"])
    lifecycle.set_up(provisioning, mode=plan.mode, actor=installer or admin,
                     installer_name=plan.installer_name, installer_email=installer_email,
                     customer_admin_email=admin_email, new_admin=password_user, browser=browser,
                     data={"mode": plan.mode, "partner_org_created": partner_new,
                           "customer_org_created": customer_new, "customer_admin": admin_email,
                           "customer_admin_invited": customer_new and plan.partner_led})
    return SetupResult(order.pk, True, password_user and password_user.pk)


@transaction.atomic
def set_admin_password(user, raw_password, order):
    """Step 10: the new administrator's password. Validated by the form; stored hashed only."""
    user.set_password(raw_password)
    user.save(update_fields=["password"])
    lifecycle.password_set(order, user)


def handed_over_by(link):
    """True when `link` is the one whose Confirm handed the setup to the customer. That Confirm
    supersedes the link, yet a second click or tab of it must still reach the done page."""
    return Provisioning.objects.filter(pk=link.order_id, handover_link_id=link.pk).exists()


def password_user_for(order, browser):
    """The administrator whom this order's setup created in `browser` (access.browser_id) and who
    has no password yet, or None. Any other browser, even with the same link, gets None: the link
    proves a mailbox, not the right to become this administrator."""
    provisioning = order.provisioning
    if not browser or provisioning.new_admin_id is None or \
            provisioning.confirmed_in_browser != browser:
        return None
    user = provisioning.new_admin
    if user is None or user.has_usable_password():
        return None
    return user
