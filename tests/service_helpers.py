"""Set-up orders for the service setup tests: what the order setup wizard (steps 3-10) leaves
behind, made directly so these tests do not depend on the wizard's pages."""
from django.utils import timezone

from onboarding.access import SESSION_LINKS_KEY
from orgs.models import Membership, Organization, User
from provisioning import links, webex_setup
from provisioning.models import Event, SetupLink, SetupMode, Status
from tests.factories import (INSTALLER_EMAIL, CustomerOrgFactory, MembershipFactory, OrderFactory,
                             PartnerOrgFactory, RepFactory, UserFactory)

INSTALLER = INSTALLER_EMAIL  # the installer the wizard recorded
PARTNER_CONTACT = "webex-deploy@partner.example"


def set_up_order(services_=("calling", "meetings"), *, mode=SetupMode.SELF, partner_org=None,
                 customer_org=None, installer_email=INSTALLER, configured=False, **order_fields):
    """An order as the wizard leaves it at step 9: orgs linked, status set_up. With
    configured=True every service setup step before Deploy is done too."""
    if "account_rep" not in order_fields:
        # One rep for all the orders of a test: each new user costs a password hash.
        order_fields["account_rep"] = (User.objects.filter(email__startswith="rep").first()
                                       or RepFactory())
    order = OrderFactory(lines=list(services_), **order_fields)
    partner_org = partner_org or PartnerOrgFactory()
    customer_org = customer_org or CustomerOrgFactory(
        external_id=order.customer_external_id, name=order.customer_name,
        country=order.customer_country, city=order.customer_city,
        managed_by=None if mode == SetupMode.CUSTOMER else partner_org)
    order.partner_org, order.customer_org = partner_org, customer_org
    order.save(update_fields=["partner_org", "customer_org"])
    provisioning = order.provisioning
    provisioning.status = Status.SET_UP
    provisioning.set_up_at = provisioning.setup_begun_at = timezone.now()
    provisioning.setup_mode = mode
    provisioning.installer_email = installer_email
    provisioning.save()
    Event.objects.create(order=order, kind=Event.Kind.SET_UP)
    if configured:
        configure(order)
    return webex_setup.load_order(pk=order.pk)


def configure(order, subdomain=None, steps=("subscription", "calling", "meetings", "enterprise")):
    """The service setup steps before Deploy done (all of them, or those `steps` names), through
    the same services the pages use."""
    names = set(order.services)
    if "subscription" in steps:
        webex_setup.mark_subscription_reviewed(order)
    if "calling" in steps and "calling" in names:
        webex_setup.save_calling_settings(order, country="FR", time_zone="Europe/Paris",
                                       location_name="Lyon", main_number="+33478000000")
    if "meetings" in steps and "meetings" in names:
        webex_setup.save_meeting_settings(order, language="fr", time_zone="Europe/Paris",
                                       recording_allowed=True, guests_allowed=True,
                                       join_before_host=False)
    if "enterprise" in steps:
        webex_setup.reserve_subdomain(order, subdomain or f"site-{order.pk}")
    return webex_setup.load_order(pk=order.pk)


def with_link(client, order, email=INSTALLER, purpose=SetupLink.Purpose.DEPLOYMENT):
    """`client` as someone who followed the order's setup link (the wizard keeps it in the
    session). Returns the link."""
    links.issue_link(order, email, purpose)
    link = SetupLink.objects.get(order=order, superseded_at__isnull=True)
    session = client.session
    session[SESSION_LINKS_KEY] = {**session.get(SESSION_LINKS_KEY, {}), order.number: link.pk}
    session.save()
    return link


def member_of(org, email=None, role=Membership.Role.ADMIN):
    user = UserFactory(**({"email": email} if email else {}))
    MembershipFactory(user=user, organization=org, role=role)
    return user


def sign_in_installer(client, order, role=Membership.Role.ADMIN):
    """`client` as a signed-in member (an administrator unless `role` says otherwise) of the
    organisation that set the order up: its partner's, or its customer's when the customer did
    the setup. Returns the user."""
    customer_led = order.provisioning.setup_mode == SetupMode.CUSTOMER
    org = order.customer_org if customer_led else order.partner_org
    user = (User.objects.filter(membership__organization=org, membership__role=role).first()
            or member_of(org, role=role))
    client.force_login(user)
    return user


def step_url(order, step):
    return f"/orders/{order.number}/services/{step}/"


def reload(org):
    return Organization.objects.get(pk=org.pk)
