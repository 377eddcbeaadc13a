"""Issue 12's setup-link actors, beyond the matrix's one answer per page
(tests/reliability/test_access_matrix.py): what each of them holds afterwards. The link proves a
mailbox and opens one order's wizard up to Confirm; it never signs anyone in, never makes a member
of an address nobody proved, and after Confirm only the browser that confirmed gets the new
administrator's password. An existing partner organisation takes a signed-in member (or its
administrators' approval); another partner's customer is never joined."""
import pytest
from django.test import Client

from orgs.models import Invitation, JoinRequest, Membership, Organization, User
from provisioning.models import Event, OutboundEmail, Provisioning, SetupLink
from provisioning.links import issue_link
from tests.factories import OrderFactory
from tests.reliability.access_world import P_CUSTOMER_ADMIN, UNPROVEN, World, signed_in_as
from tests.wizard_helpers import (ADMIN_PASSWORD, DEFAULT_ANSWERS,
                                  INSTALLER_EMAIL, code_sent_to, current_step, done_url,
                                  needs_code, open_link, post_step, set_password, setup_url, walk)

pytestmark = pytest.mark.django_db


def granted():
    """Everything a setup can grant: organisations, memberships, accounts, invitations, requests
    to join, and who has a password."""
    return {"orgs": sorted(Organization.objects.values_list("kind", "external_id")),
            "memberships": sorted(Membership.objects.values_list("user__email", "organization_id",
                                                                 "role")),
            "users": sorted(User.objects.values_list("email", flat=True)),
            "invitations": sorted(Invitation.objects.values_list("email", flat=True)),
            "join_requests": sorted(JoinRequest.objects.values_list("email", flat=True)),
            "passwords": sorted(u.email for u in User.objects.all() if u.has_usable_password())}


# --- An unverified installer address ------------------------------------------------------------

def test_an_unverified_installer_address_is_granted_nothing_and_goes_no_further():
    world = World()
    browser = world.client("unverified")
    order = world.order_p
    before = granted()
    assert not User.objects.filter(email__iexact=UNPROVEN).exists()

    # The step asks for the code that went to that address, and only there.
    page = browser.get(setup_url(order))
    assert current_step(page) == "installer" and "code" in page.context["wizard"]["form"].fields
    sent = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.VERIFICATION)
    assert list(sent.values_list("to", flat=True)) == [UNPROVEN]

    # Every later step, posted without the code, sends the browser back; nothing is made.
    for step, data in [("partner_org", DEFAULT_ANSWERS["partner_org"]),
                       ("customer_admin", {"email": P_CUSTOMER_ADMIN}),
                       ("customer_org", DEFAULT_ANSWERS["customer_org"]), ("confirm", {})]:
        response = post_step(browser, order, step, data)
        assert current_step(response) == "role", step
    wrong = post_step(browser, order, "installer", {"choice": "self", "name": "Someone Else",
                                                     "email": UNPROVEN, "code": "not-the-code"})
    assert needs_code(wrong) and "is not the one we sent" in wrong.content.decode()
    assert granted() == before
    assert Provisioning.objects.get(pk=order.pk).set_up_at is None
    assert signed_in_as(browser) is None
    assert browser.get("/my/orders/")["Location"].startswith("/accounts/login/")

    # The code from that mailbox proves it: the wizard moves on, and still grants nothing
    # before Confirm.
    right = post_step(browser, order, "installer", {"choice": "self", "name": "Someone Else",
                                                     "email": UNPROVEN,
                                                     "code": code_sent_to(UNPROVEN)})
    assert current_step(right) == "partner_org"
    assert granted() == before


def test_an_unverified_address_cannot_ask_to_join_an_existing_partner_organisation():
    world = World()
    partner = world.partner_org
    order = OrderFactory(partner_external_id=partner.external_id)
    browser = Client()
    open_link(browser, order)
    post_step(browser, order, "role", {"role": "partner"})
    response = post_step(browser, order, "installer", {"choice": "self", "name": "Someone Else",
                                                        "email": UNPROVEN})
    assert needs_code(response)
    before = granted()
    # Skipping to the partner organisation's "Ask to join" button: back to the first step.
    response = post_step(browser, order, "partner_org", {}, ask_to_join="1")
    assert current_step(response) == "role"
    assert granted() == before
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.JOIN_REQUEST).exists()


# --- The link holder before Confirm, and the browser that confirms ------------------------------

def test_the_link_holder_confirms_without_becoming_anyone_until_the_password_is_chosen():
    world = World()
    browser = world.client("link_before")
    order = world.order_p
    assert current_step(browser.get(setup_url(order))) == "confirm"
    assert signed_in_as(browser) is None

    response = post_step(browser, order, "confirm")
    assert response["Location"] == done_url(order)
    # The link's recipient, proven by the link, administers the new partner organisation; the
    # customer administrator the partner named is invited, not made a member.
    recipient = order.deployment_contact_email
    partner = Organization.objects.get(kind="partner", external_id=order.partner_external_id)
    assert list(Membership.objects.filter(organization=partner)
                .values_list("user__email", "role")) == [(recipient, "admin")]
    assert list(Invitation.objects.filter(order=order).values_list("email", flat=True)) == \
        [P_CUSTOMER_ADMIN]
    assert not User.objects.filter(email=P_CUSTOMER_ADMIN).exists()
    assert signed_in_as(browser) is None
    assert browser.get(f"/orders/{order.number}/services/")["Location"].startswith(
        "/accounts/login/")

    assert "new_password1" in browser.get(done_url(order)).content.decode()
    chosen = set_password(browser, order)
    assert chosen["Location"] == f"/orders/{order.number}/services/"
    assert signed_in_as(browser) == str(User.objects.get(email=recipient).pk)
    assert browser.get(f"/orders/{order.number}/services/subscription/").status_code == 200


# --- The same link in another browser after Confirm ---------------------------------------------

def test_the_same_link_in_another_browser_after_confirm_gets_no_account_before_or_after_the_password():
    world = World()
    other = world.client("link_after_other")
    confirmer = world.client("confirmer")
    order = world.order_w
    admin = User.objects.get(email=INSTALLER_EMAIL)
    assert not admin.has_usable_password()

    for chosen in (False, True):  # before and after the confirming browser chose the password
        page = other.get(setup_url(order))
        assert page.status_code == 200 and "This order is already set up" in page.content.decode()
        assert "new_password1" not in page.content.decode()
        assert other.get(done_url(order)).status_code == 403
        assert set_password(other, order, "Other-Browser-Password-1").status_code == 403
        assert signed_in_as(other) is None
        for url in (f"/orders/{order.number}/services/subscription/",
                    f"/orders/{order.number}/services/deploy/"):
            assert other.get(url)["Location"].startswith("/accounts/login/")
            assert other.post(url)["Location"].startswith("/accounts/login/")
        if not chosen:
            assert set_password(confirmer, order).status_code == 302

    admin.refresh_from_db()
    assert admin.check_password(ADMIN_PASSWORD)
    assert not admin.check_password("Other-Browser-Password-1")
    assert Event.objects.filter(order=order, kind=Event.Kind.PASSWORD_SET).count() == 1
    assert signed_in_as(confirmer) == str(admin.pk)


def test_after_a_hand_over_to_the_customer_another_browser_gets_no_password_either():
    order = OrderFactory(partner_external_id="PTN-8888")
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    confirmer, other = Client(), Client()
    open_link(confirmer, order, raw=raw)
    walk(confirmer, order, {"installer": {**DEFAULT_ANSWERS["installer"], "choice": "customer"}})
    assert "new_password1" in confirmer.get(done_url(order)).content.decode()

    response = other.get(f"/setup/{raw}/")  # superseded by the customer's link: says so
    assert response.status_code == 410 and "new_password1" not in response.content.decode()
    assert other.get(setup_url(order)).status_code == 403  # it was not kept in the session
    assert other.get(done_url(order)).status_code == 403
    assert set_password(other, order).status_code == 403
    assert not User.objects.get(email=INSTALLER_EMAIL).has_usable_password()
    assert signed_in_as(other) is None


# --- An existing partner organisation: a signed-in member, or its administrators' approval ------

@pytest.mark.parametrize("signed_in,goes_on", [
    ("anonymous", False), ("partner_admin", True), ("member", True), ("other_partner", False),
    ("customer_admin", False), ("other_customer_admin", False), ("rep", False),
    ("superuser", False)])
def test_the_partner_organisation_step_of_an_existing_organisation_takes_its_signed_in_member(
        signed_in, goes_on):
    world = World()
    admin = world.user("partner_admin")  # the organisation's administrator, told of requests
    order = OrderFactory(partner_external_id=world.partner_org.external_id,
                         account_rep=world.rep_user)
    browser = world.client(signed_in)
    open_link(browser, order)
    installer = {"choice": "self", "name": "Paul Partner",
                 "email": order.deployment_contact_email}
    walk(browser, order, {"installer": installer}, until="partner_org")
    page = browser.get(setup_url(order)).content.decode()
    before = granted()

    response = post_step(browser, order, "partner_org", {})
    if goes_on:
        assert current_step(response) == "customer_admin"
        assert "Ask to join" not in page
    else:
        assert current_step(response) == "partner_org"
        assert "Only members of this organisation can set up its orders" in \
            response.content.decode()
        assert "Sign in" in page and "Ask to join as" in page
        # Asking to join: a request to the organisation's administrators, nothing granted.
        asked = post_step(browser, order, "partner_org", {}, ask_to_join="1")
        assert asked.status_code == 200
        join_request = JoinRequest.objects.get(organization=world.partner_org)
        assert join_request.email == order.deployment_contact_email
        assert join_request.status == JoinRequest.Status.PENDING
        assert set(OutboundEmail.objects.filter(kind=OutboundEmail.Kind.JOIN_REQUEST)
                   .values_list("to", flat=True)) == {admin.email}
        before["join_requests"] = [order.deployment_contact_email]
    assert granted() == before
    assert signed_in_as(browser) == (None if signed_in == "anonymous"
                                     else str(world.user(signed_in).pk))


def test_a_join_link_decides_for_the_administrator_it_was_sent_to_whoever_opens_it():
    world = World()
    stranger = world.client("other_partner")
    token = world.join_token
    assert stranger.get(f"/join-requests/{token}/").status_code == 200
    assert world.join_request.status == JoinRequest.Status.PENDING  # a GET decides nothing
    stranger.post(f"/join-requests/{token}/", {"decision": "approve"})
    join_request = JoinRequest.objects.get(pk=world.join_request.pk)
    assert join_request.status == JoinRequest.Status.APPROVED
    assert join_request.decided_by == world.user("partner_admin")
    member = User.objects.get(email=join_request.email)
    assert (member.membership.organization, member.membership.role) == (world.partner_org,
                                                                       "member")
    assert not member.has_usable_password()  # chosen from the link emailed to that address
    # A token for an administrator of another organisation opens nothing.
    from onboarding.memberships import join_token
    forged = join_token(join_request, world.user("other_partner").pk)
    assert stranger.get(f"/join-requests/{forged}/").status_code == 404


# --- The customer administrator of another partner's customer -----------------------------------

@pytest.mark.parametrize("holder", ["partner_admin", "other_customer_admin"])
def test_another_partners_customer_is_never_joined_even_with_its_own_admins_email(holder):
    """The order's customer id is the other partner's customer's: a partner setting it up, or that
    customer's own administrator choosing "I am the customer" through this partner's order, is
    told to ask the rep; no email, not even its administrator's, takes the organisation in."""
    world = World()
    customer = world.other_customer_org
    customers_admin = world.user("other_customer_admin")
    order = OrderFactory(partner_external_id=world.partner_org.external_id,
                         customer_external_id=customer.external_id, account_rep=world.rep_user)
    browser = world.client(holder)
    open_link(browser, order)
    if holder == "partner_admin":
        walk(browser, order, {"installer": {"choice": "self", "name": "Paul Partner",
                                            "email": order.deployment_contact_email}},
             until="customer_admin")
    else:
        post_step(browser, order, "role", {"role": "customer"})
    page = browser.get(setup_url(order))
    assert current_step(page) == "customer_admin"
    assert "is managed by another partner" in page.content.decode()
    before = granted()

    response = post_step(browser, order, "customer_admin",
                         {"email": customers_admin.email})
    assert current_step(response) == "customer_admin"
    assert granted() == before
    told = post_step(browser, order, "customer_admin", {}, tell_rep="1")
    assert told.status_code == 200 and world.rep_user.email in told.content.decode()
    assert Event.objects.filter(order=order, kind=Event.Kind.ORG_REFUSED).count() == 1
    assert granted() == before
    assert Provisioning.objects.get(pk=order.pk).set_up_at is None
    assert not Invitation.objects.filter(organization=customer).exists()

