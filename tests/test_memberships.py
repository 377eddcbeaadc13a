"""Joining an organisation (onboarding/memberships.py): a request to join an existing partner
organisation that its administrators answer, and the invitation of a new customer organisation's
administrator, accepted from its own mailbox. Nothing is granted by a typed address alone."""
import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from orgs.models import Invitation, JoinRequest, Membership, User
from provisioning.models import Event, OutboundEmail, Provisioning
from tests.factories import (CustomerOrgFactory, MembershipFactory, OrderFactory, OutsiderFactory,
                             PartnerOrgFactory, UserFactory)
from tests.wizard_helpers import (ADMIN_PASSWORD, CUSTOMER_ADMIN_EMAIL, DEFAULT_ANSWERS,
                                  INSTALLER_EMAIL, as_sent, current_step, done_url,
                                  existing_customer, open_link, post_step, setup_url, walk)

pytestmark = pytest.mark.django_db
ADMIN_EMAIL = "alice.admin@partner.example"


@pytest.fixture
def order():
    return OrderFactory()


@pytest.fixture
def partner():
    """The order's partner organisation exists; Alice administers it."""
    org = PartnerOrgFactory(external_id="PTN-4411", name="Réseaux Alpins SARL")
    MembershipFactory(user=UserFactory(email=ADMIN_EMAIL), organization=org, role="admin")
    return org


def link_in(email, pattern):
    return re.search(pattern, as_sent(email)[1]).group(0)


def ask_to_join(client, order):
    open_link(client, order)
    response = walk(client, order, until="partner_org")
    html = response.content.decode()
    assert "Only members of Réseaux Alpins SARL can set up its orders." in html
    assert "Ask to join as ines.installer@partner.example" in html
    return post_step(client, order, "partner_org", ask_to_join="1")


def approval_link(admin_email=ADMIN_EMAIL):
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.JOIN_REQUEST, to=admin_email)
    return link_in(email, r"https://onboarding\.example/join-requests/[\w-]+/").removeprefix(
        "https://onboarding.example")


# --- A request to join an existing partner organisation ------------------------------------------

def test_a_non_member_cannot_verify_the_partner_org_and_next_refuses(client, order, partner):
    open_link(client, order)
    walk(client, order, until="partner_org")
    response = post_step(client, order, "partner_org")
    assert current_step(response) == "partner_org"
    assert "Only members of this organisation can set up its orders." in response.content.decode()
    assert not Membership.objects.filter(user__email=INSTALLER_EMAIL).exists()


def test_asking_to_join_emails_each_admin_and_the_order_waits(client, order, partner):
    MembershipFactory(user=UserFactory(email="bob.admin@partner.example"), organization=partner,
                      role="admin")
    MembershipFactory(user=UserFactory(email="carl.member@partner.example"), organization=partner,
                      role="member")
    response = ask_to_join(client, order)
    html = response.content.decode()
    assert "Waiting for approval" in html and "ines.installer@partner.example" in html

    request = JoinRequest.objects.get()
    assert (request.email, request.organization, request.order, request.status) == (
        INSTALLER_EMAIL, partner, order, JoinRequest.Status.PENDING)
    sent_to = set(OutboundEmail.objects.filter(kind=OutboundEmail.Kind.JOIN_REQUEST)
                  .values_list("to", flat=True))
    assert sent_to == {ADMIN_EMAIL, "bob.admin@partner.example"}  # admins only
    assert order.events.filter(kind=Event.Kind.JOIN_REQUESTED, data__email=INSTALLER_EMAIL).exists()
    assert not Membership.objects.filter(user__email=INSTALLER_EMAIL).exists()
    assert Provisioning.objects.get(pk=order.pk).set_up_at is None
    # Asking again while waiting is the same request: nobody is emailed twice.
    ask_to_join(client, order)
    assert JoinRequest.objects.count() == 1
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.JOIN_REQUEST).count() == 2


def test_the_approval_link_is_not_stored_and_a_get_decides_nothing(client, order, partner):
    ask_to_join(client, order)
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.JOIN_REQUEST)
    url = approval_link()
    token = url.split("/")[-2]
    assert token not in email.body_text + email.body_html
    admin = Client()
    page = admin.get(url)
    assert page.status_code == 200
    assert "Approve" in page.content.decode() and INSTALLER_EMAIL in page.content.decode()
    assert JoinRequest.objects.get().status == JoinRequest.Status.PENDING  # mail scanners welcome


def test_an_admin_approves_from_the_email_and_the_requester_finishes_the_setup(client, order,
                                                                                partner):
    ask_to_join(client, order)
    admin = Client()
    response = admin.post(approval_link(), {"decision": "approve"})
    assert "is a member and has been told" in response.content.decode()
    request = JoinRequest.objects.get()
    assert request.status == JoinRequest.Status.APPROVED
    assert request.decided_by == User.objects.get(email=ADMIN_EMAIL)
    member = User.objects.get(email=INSTALLER_EMAIL)
    assert (member.membership.organization, member.membership.role) == (partner, "member")
    assert not member.has_usable_password()
    assert order.events.filter(kind=Event.Kind.JOIN_DECIDED, data__approved=True).exists()

    # The requester's email carries a single-use link to choose a password.
    told = OutboundEmail.objects.get(kind=OutboundEmail.Kind.JOIN_DECIDED, to=INSTALLER_EMAIL)
    assert "You have joined Réseaux Alpins SARL on Webex" in told.subject
    reset = link_in(told, r"https://onboarding\.example/accounts/reset/[\w-]+/[\w-]+/")
    assert reset.split("/")[-2] not in told.body_text  # made when sent
    reset_path = reset.removeprefix("https://onboarding.example")
    form = client.get(reset_path, follow=True)
    set_page = form.redirect_chain[-1][0]
    client.post(set_page, {"new_password1": ADMIN_PASSWORD, "new_password2": ADMIN_PASSWORD})
    assert User.objects.get(email=INSTALLER_EMAIL).check_password(ADMIN_PASSWORD)
    assert client.get(reset_path, follow=True).status_code == 200  # a used link ...
    assert "new_password1" not in client.get(reset_path, follow=True).content.decode()  # ... is dead

    # Signed in, the member opens the Set up now link again and finishes.
    assert client.login(username=INSTALLER_EMAIL, password=ADMIN_PASSWORD)
    open_link(client, order)
    assert walk(client, order)["Location"] == done_url(order)
    order.refresh_from_db()
    assert order.partner_org == partner and order.provisioning.set_up_at is not None


def test_a_decision_is_taken_once(client, order, partner):
    ask_to_join(client, order)
    url = approval_link()
    Client().post(url, {"decision": "decline"})
    again = Client().post(url, {"decision": "approve"})
    assert "Declined on" in again.content.decode()
    assert JoinRequest.objects.get().status == JoinRequest.Status.DECLINED
    assert not Membership.objects.filter(user__email=INSTALLER_EMAIL).exists()
    told = OutboundEmail.objects.get(kind=OutboundEmail.Kind.JOIN_DECIDED)
    assert "was not approved" in told.subject and "/accounts/reset/" not in as_sent(told)[1]


@pytest.mark.parametrize("tamper", ["another admin id", "another request", "garbage"])
def test_a_forged_or_foreign_approval_link_decides_nothing(client, order, partner, tamper):
    ask_to_join(client, order)
    request_id, admin_id, digest = approval_link().split("/")[-2].split("-", 2)
    outsider = OutsiderFactory(organization=PartnerOrgFactory())  # an administrator elsewhere
    forged = {"another admin id": f"{request_id}-{outsider.pk}-{digest}",
              "another request": f"{int(request_id) + 1}-{admin_id}-{digest}",
              "garbage": "not-a-token"}[tamper]
    response = Client().post(f"/join-requests/{forged}/", {"decision": "approve"})
    assert response.status_code == 404
    assert JoinRequest.objects.get().status == JoinRequest.Status.PENDING


def test_an_admin_no_longer_admin_can_no_longer_use_their_link(client, order, partner):
    ask_to_join(client, order)
    url = approval_link()
    Membership.objects.filter(user__email=ADMIN_EMAIL).update(role="member")
    assert Client().post(url, {"decision": "approve"}).status_code == 404
    assert JoinRequest.objects.get().status == JoinRequest.Status.PENDING


def test_the_requests_page_lets_a_signed_in_admin_answer_and_nobody_else(client, order, partner):
    ask_to_join(client, order)
    request = JoinRequest.objects.get()
    member = UserFactory(email="carl.member@partner.example")
    MembershipFactory(user=member, organization=partner, role="member")
    other_admin = OutsiderFactory(organization=PartnerOrgFactory())
    for outsider in (member, other_admin):
        browser = Client()
        browser.force_login(outsider)
        assert INSTALLER_EMAIL not in browser.get("/my/organisation/requests/").content.decode()
        assert browser.post("/my/organisation/requests/",
                            {"request": request.pk, "decision": "approve"}).status_code == 404
    assert JoinRequest.objects.get().status == JoinRequest.Status.PENDING

    admin = Client()
    admin.force_login(User.objects.get(email=ADMIN_EMAIL))
    assert INSTALLER_EMAIL in admin.get("/my/organisation/requests/").content.decode()
    admin.post("/my/organisation/requests/", {"request": request.pk, "decision": "approve"})
    assert JoinRequest.objects.get().status == JoinRequest.Status.APPROVED


def test_with_no_admin_to_answer_the_rep_is_asked(client, order):
    PartnerOrgFactory(external_id="PTN-4411", name="Réseaux Alpins SARL")
    ask_to_join(client, order)
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.JOIN_REQUEST)
    assert email.to == order.account_rep.email
    assert "/admin/orgs/joinrequest/" in as_sent(email)[1]


def test_asking_to_join_needs_a_proven_address(client, order, partner):
    """The request names the address the installer step proved: a typed one gets a code first."""
    open_link(client, order)
    post_step(client, order, "role", {"role": "partner"})
    post_step(client, order, "installer", {**DEFAULT_ANSWERS["installer"],
                                           "email": "mallory@partner.example"})
    response = post_step(client, order, "partner_org", ask_to_join="1")
    assert not JoinRequest.objects.exists()
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.JOIN_REQUEST).exists()
    assert current_step(response) in ("role", "installer")  # back to what is still unanswered


# --- The invited customer administrator ----------------------------------------------------------

def invitation_path():
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.INVITATION)
    return link_in(email, r"https://onboarding\.example/invitations/[\w-]+/").removeprefix(
        "https://onboarding.example"), email


def test_the_named_customer_admin_accepts_the_invitation_and_administers_the_org(client, order):
    open_link(client, order)
    walk(client, order)
    path, email = invitation_path()
    assert email.to == CUSTOMER_ADMIN_EMAIL
    assert path.split("/")[-2] not in email.body_text + email.body_html  # never stored

    customer = Client()
    page = customer.get(path)
    assert page.status_code == 200 and "new_password1" in page.content.decode()
    assert not User.objects.filter(email=CUSTOMER_ADMIN_EMAIL).exists()  # a GET grants nothing
    response = customer.post(path, {"new_password1": ADMIN_PASSWORD,
                                    "new_password2": ADMIN_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/my/orders/"
    admin = User.objects.get(email=CUSTOMER_ADMIN_EMAIL)
    assert (admin.membership.organization, admin.membership.role) == (
        Invitation.objects.get().organization, "admin")
    assert admin.check_password(ADMIN_PASSWORD)
    assert customer.session["_auth_user_id"] == str(admin.pk)
    assert order.number in customer.get("/my/orders/").content.decode()

    # Single use.
    again = Client().get(path)
    assert again.status_code == 410 and "already accepted" in again.content.decode()


def test_a_weak_password_is_refused_and_nothing_is_granted(client, order):
    open_link(client, order)
    walk(client, order)
    path, _email = invitation_path()
    response = Client().post(path, {"new_password1": "camille", "new_password2": "camille"})
    assert response.status_code == 200
    assert not User.objects.filter(email=CUSTOMER_ADMIN_EMAIL).exists()


def test_an_expired_or_forged_invitation_grants_nothing(client, order):
    open_link(client, order)
    walk(client, order)
    path, _email = invitation_path()
    invitation_id, digest = path.split("/")[-2].split("-", 1)
    forged = f"/invitations/{invitation_id}-{'A' * len(digest)}/"
    assert Client().post(forged, {"new_password1": ADMIN_PASSWORD,
                                  "new_password2": ADMIN_PASSWORD}).status_code == 404
    Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert Client().post(path, {"new_password1": ADMIN_PASSWORD,
                                "new_password2": ADMIN_PASSWORD}).status_code == 410
    assert not User.objects.filter(email=CUSTOMER_ADMIN_EMAIL).exists()


def test_an_invitee_with_an_account_signs_in_to_accept(client, order):
    UserFactory(email=CUSTOMER_ADMIN_EMAIL)  # has a password, no organisation yet
    open_link(client, order)
    walk(client, order)
    path, _email = invitation_path()
    stranger = Client()
    assert "sign in, then open this link again" in stranger.get(path).content.decode()
    stranger.post(path)
    assert not Membership.objects.filter(user__email=CUSTOMER_ADMIN_EMAIL).exists()
    invitee = Client()
    invitee.force_login(User.objects.get(email=CUSTOMER_ADMIN_EMAIL))
    assert invitee.post(path)["Location"] == "/my/orders/"
    assert Membership.objects.get(user__email=CUSTOMER_ADMIN_EMAIL).role == "admin"


# --- Existing customer organisations ------------------------------------------------------------

@pytest.mark.parametrize("managed_by", ["another partner", "the customer"])
def test_a_customer_org_managed_elsewhere_is_never_joined_and_the_rep_is_told(client, order,
                                                                              managed_by):
    other = PartnerOrgFactory(name="Concurrent SAS") if managed_by == "another partner" else None
    customer = CustomerOrgFactory(external_id=order.customer_external_id, managed_by=other)
    open_link(client, order)
    response = walk(client, order, until="customer_admin")
    html = response.content.decode()
    assert "is managed by another partner, or by the customer itself" in html
    assert 'name="customer_admin-email"' not in html
    assert f"We told your account representative ({order.account_rep.email})" in html
    # Next is refused even when forced; a reload offers to tell the rep (once an hour).
    forced = post_step(client, order, "customer_admin", {"email": CUSTOMER_ADMIN_EMAIL})
    assert current_step(forced) == "customer_admin"
    assert "Tell my account representative" in client.get(setup_url(order)).content.decode()
    told = post_step(client, order, "customer_admin", tell_rep="1")
    assert "We told your account representative" in told.content.decode()
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.REP_ORG_REFUSED)
    assert email.to == order.account_rep.email and customer.name in email.body_text
    assert order.events.filter(kind=Event.Kind.ORG_REFUSED, data__org_id=customer.pk).exists()
    assert not Membership.objects.filter(organization=customer).exists()
    assert Provisioning.objects.get(pk=order.pk).set_up_at is None


def test_an_existing_customer_org_gains_no_new_admin_from_a_typed_address(client, order):
    from tests.wizard_helpers import existing_partner

    partner, _installer = existing_partner(client)
    customer = existing_customer(order, partner, admin_email="amelie@customer.example")
    open_link(client, order)
    walk(client, order, until="customer_admin")
    response = post_step(client, order, "customer_admin", {"email": "newcomer@customer.example"})
    assert current_step(response) == "customer_admin"
    assert "enter the email of one of its administrators" in response.content.decode()
    assert Membership.objects.filter(organization=customer).count() == 1


def test_a_hand_over_names_an_existing_admin_of_the_customer_s_own_org(client, order):
    existing_customer(order, None, admin_email="amelie@customer.example")
    open_link(client, order)
    hand_over = {"installer": {**DEFAULT_ANSWERS["installer"], "choice": "customer"}}
    walk(client, order, hand_over, until="customer_admin")
    refused = post_step(client, order, "customer_admin", {"email": "newcomer@customer.example"})
    assert current_step(refused) == "customer_admin"
    accepted = post_step(client, order, "customer_admin", {"email": "amelie@customer.example"})
    assert current_step(accepted) == "confirm"
