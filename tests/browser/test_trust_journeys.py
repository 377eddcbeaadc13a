"""Who may do what, in a real browser (docs/SECURITY.md): the Set up now link opens one order's
wizard up to Confirm and is never an account.

- A non-member of an existing partner organisation asks to join it (the rep sees the order
  waiting for the partner's approval); an administrator approves from the email; the requester
  chooses a password from the emailed link, signs in and finishes.
- The same link opened in a second browser after Confirm: "already set up, sign in", no password
  form, no way to Deploy.
- Deploy asks for the password again once the set time has passed since the sign-in.
- The customer administrator the partner named accepts the invitation from their email; the
  partner, who chose to set their own password later, does it from the link emailed to them.
- "I am the customer": the customer's own address is proven by a code.
- A customer organisation another partner manages is never joined: the rep is told.

Every link and code is taken from the email that the real jobs delivered, as its recipient would.
"""
import datetime

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from orgs.models import Invitation, JoinRequest, Membership, User
from provisioning import jobs
from provisioning.models import Event, OutboundEmail, Status
from tests.browser.conftest import (PASSWORD, a_day_after_the_email, choose_partner_self, email_to,
                                    enter_emailed_code, import_order, link_in_email,
                                    send_deployment_emails, set_password)
from tests.factories import CustomerOrgFactory, MembershipFactory, PartnerOrgFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTACT = "webex-deploy@partner.example"  # the order's deployment contact: a shared alias
INSTALLER = "ines.installer@partner.example"
PARTNER_ADMIN = "alice.admin@partner.example"
CUSTOMER_ADMIN = "camille.admin@boulangerie.example"
REP = "rachel.rep@vendor.example"
NEW_PASSWORD = "Lilas-Lyon-69003!"
REP_PASSWORD = "Rep-Password-2026!"


def deployment_link(order):
    send_deployment_emails(order)
    return link_in_email(email_to(CONTACT, order.number))


def confirm_first_order(j, name="Inès Installer"):
    """A partner's first order, from the role step to Confirm, by the link's own recipient (the
    address prefilled: no code asked)."""
    choose_partner_self(j, name)
    j.visit("partner-org-create")
    j.press("Next")
    j.visit("customer-admin")
    j.page.get_by_label("Customer administrator's email").fill(CUSTOMER_ADMIN)
    j.press("Next")
    j.visit("customer-org-new")
    j.press("Next")
    j.visit("confirm")
    j.press("Next")


def main_text(j):
    return j.page.get_by_role("main").inner_text()


def no_check_mark_before(locator):
    """The heading's ✓ (wizard.css) is not also drawn, on a line of its own, above an alert."""
    return locator.evaluate("el => getComputedStyle(el, '::before').content") in ("none", "normal")


# --- Journey: asking to join an existing partner organisation ------------------------------------

def test_a_non_member_asks_to_join_an_admin_approves_from_the_email_and_they_finish_the_setup(
        journey):
    partner = PartnerOrgFactory(external_id="PTN-4411", name="Réseaux Alpins SARL")
    MembershipFactory(organization=partner, role=Membership.Role.ADMIN,
                      user__email=PARTNER_ADMIN, user__full_name="Alice Admin")
    # Started two days ago: stalled, on the rep's dashboard.
    start = datetime.date.today() - datetime.timedelta(days=2)
    order = import_order("CCW-40001", requested_start_date=start.isoformat())
    link = deployment_link(order)
    jobs.flag_stalled_provisioning(now=a_day_after_the_email(order))

    # Inès, new at the partner, opens the link forwarded from the shared alias.
    ines = journey("join-1-requester")
    ines.open(link)
    choose_partner_self(ines, "Inès Installer", INSTALLER)  # her own address: proven by a code
    ines.visit("partner-org-not-a-member")
    assert ines.heading() == "Verify your partner organisation"
    assert "Only members of Réseaux Alpins SARL can set up its orders." in main_text(ines)
    assert not ines.button("Next").count()
    ines.press(f"Ask to join as {INSTALLER}")
    ines.visit("waiting-for-approval")
    assert ines.heading() == "Waiting for approval"
    assert INSTALLER in main_text(ines)
    join_request = JoinRequest.objects.get()
    assert (join_request.email, join_request.status) == (INSTALLER, JoinRequest.Status.PENDING)
    assert not User.objects.filter(email=INSTALLER).exists(), "nothing granted before an answer"
    assert Event.objects.filter(order=order, kind=Event.Kind.JOIN_REQUESTED).count() == 1
    assert order.provisioning.__class__.objects.get(pk=order.pk).set_up_at is None

    # The rep's dashboard shows why the order waits.
    rep = User.objects.get(email=REP)
    rep.is_active = True  # activated by an administrator (see the rep's journey)
    rep.set_password(REP_PASSWORD)
    rep.save()
    rachel = journey("join-0-rep")
    rachel.sign_in(REP, REP_PASSWORD)
    rachel.open("/reps/stalled/")
    rachel.page.get_by_label("Setup").select_option(label="Waiting for the partner's approval")
    rachel.press("Filter")
    rachel.visit("stalled-waiting-for-approval")
    row = rachel.page.get_by_role("row").filter(has_text=order.number)
    assert "Waiting for the partner's approval" in row.inner_text()

    # Alice, an administrator, in her own browser: her requests page, then the emailed link.
    request_email = email_to(PARTNER_ADMIN, "asks to join")
    assert INSTALLER in request_email.subject
    stored = OutboundEmail.objects.get(kind=OutboundEmail.Kind.JOIN_REQUEST)
    decision_url = link_in_email(request_email, "Approve or decline", "/join-requests/")
    assert decision_url.split("/join-requests/")[1].strip("/") not in stored.body_html, \
        "the outbox keeps a placeholder where the link goes"
    alice = journey("join-2-admin")
    alice.sign_in(PARTNER_ADMIN, PASSWORD)
    alice.open("/my/organisation/requests/")
    alice.visit("requests-page")
    assert alice.heading() == "Requests to join"
    assert alice.page.get_by_role("row").filter(has_text=INSTALLER).count() == 1
    alice.open(decision_url)
    alice.visit("request-from-the-email")
    assert alice.heading() == "Request to join Réseaux Alpins SARL"
    assert INSTALLER in main_text(alice) and order.number in main_text(alice)
    join_request.refresh_from_db()
    assert join_request.status == JoinRequest.Status.PENDING, "opening the link decides nothing"
    alice.press("Approve")
    alice.visit("approved")
    assert f"{INSTALLER} is a member and has been told" in main_text(alice)
    assert no_check_mark_before(alice.page.locator(".alert.success"))
    member = User.objects.get(email=INSTALLER)
    assert member.membership.organization == partner
    assert member.membership.role == Membership.Role.MEMBER
    assert not member.has_usable_password()
    alice.open("/my/organisation/requests/")
    alice.visit("requests-page-answered")
    assert "No request is waiting for an answer." in main_text(alice)

    # Inès reads the answer, chooses her password from its single-use link and signs in.
    decided = email_to(INSTALLER, "You have joined")
    password_url = link_in_email(decided, "Choose your password", "/accounts/reset/")
    ines.open(password_url)
    ines.visit("choose-password")
    assert ines.heading() == "Choose a new password"
    set_password_fields = ines.page.get_by_label("New password", exact=True)
    set_password_fields.fill(NEW_PASSWORD)
    ines.page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    ines.press("Change my password")
    ines.visit("password-chosen")
    assert ines.heading() == "Password changed"
    ines.open(password_url)
    ines.visit("password-link-used")
    assert ines.heading() == "This link no longer works"
    ines.sign_in(INSTALLER, NEW_PASSWORD)
    ines.visit("my-orders")
    assert ines.heading() == "My orders"

    # Then she opens her Set up now link again: as a member, she verifies the org and confirms.
    ines.open(link)
    ines.visit("role-again")
    assert ines.heading() == "Who is setting up this order?"
    ines.page.get_by_label("I am a partner").check()
    ines.press("Next")
    ines.visit("installer-signed-in")
    email_field = ines.page.get_by_label("Your email")
    assert email_field.input_value() == INSTALLER and email_field.is_disabled()
    ines.page.get_by_label("Yes, I will do the setup").check()
    ines.page.get_by_label("Your name").fill("Inès Installer")
    ines.press("Next")
    ines.visit("partner-org-verify-as-member")
    assert ines.heading() == "Verify your partner organisation"
    assert not ines.button(f"Ask to join as {INSTALLER}").count()
    ines.press("Next")
    ines.visit("customer-admin")
    ines.page.get_by_label("Customer administrator's email").fill(CUSTOMER_ADMIN)
    ines.press("Next")
    ines.visit("customer-org-new")
    ines.press("Next")
    ines.visit("confirm")
    assert INSTALLER in main_text(ines)
    ines.press("Next")
    # The member has a password already: the assistant starts at once, with the success.
    ines.visit("subscription-set-up")
    assert ines.heading() == "Subscription details"
    assert "Your order has been set up successfully" in ines.page.locator(".messages").inner_text()
    order.refresh_from_db()
    assert order.partner_org == partner
    assert order.provisioning.status == Status.SET_UP
    assert order.provisioning.installer_email == INSTALLER
    assert Event.objects.get(order=order, kind=Event.Kind.SET_UP).actor == member


# --- Journey: the same link in a second browser after Confirm ------------------------------------

def test_a_second_browser_with_the_same_link_after_confirm_gets_no_password_form_and_cannot_deploy(
        journey):
    order = import_order("CCW-40002")
    link = deployment_link(order)
    first = journey("second-browser-1-confirms")
    first.open(link)
    confirm_first_order(first)
    first.visit("set-up")
    assert "Your order has been set up successfully" in first.heading()
    assert first.page.get_by_label("New password", exact=True).is_visible()

    # Someone else with the same email (a colleague reading the alias, a forwarded message).
    other = journey("second-browser-2-same-link")
    other.open(link)
    other.visit("already-set-up")
    assert other.heading() == "This order is already set up"
    assert not other.page.get_by_label("New password", exact=True).count()
    sign_in = other.page.get_by_role("main").get_by_role("link", name="Sign in")
    assert "/accounts/login/?next=" in sign_in.get_attribute("href")
    response = other.open(f"/setup/orders/{order.number}/done/")
    other.visit("done-page-refused")
    assert response.status == 403
    assert not other.page.get_by_label("New password", exact=True).count()
    for step in ("deploy", "subscription"):
        other.open(f"/orders/{order.number}/services/{step}/")
        other.visit(f"{step}-asks-to-sign-in")
        assert other.page.url.startswith(f"{other.base_url}/accounts/login/?next=")
        assert other.heading() == "Sign in"
    other.open(f"/orders/{order.number}/services/")
    assert other.page.url.startswith(f"{other.base_url}/accounts/login/")

    # The browser that confirmed still has its form, and goes on.
    first.page.reload()
    first.visit("set-up-still-offered")
    set_password(first, NEW_PASSWORD)
    first.visit("subscription")
    assert first.heading() == "Subscription details"
    assert User.objects.get(email=CONTACT).check_password(NEW_PASSWORD)
    order.provisioning.refresh_from_db()
    assert order.provisioning.deployed_at is None

    # The second browser's way in is the one its page offers: signing in, with the password.
    other.open(link)
    other.follow(other.page.get_by_role("main").get_by_role("link", name="Sign in"))
    other.page.get_by_label("Email address").fill(CONTACT)
    other.page.get_by_label("Password").fill(NEW_PASSWORD)
    other.press("Sign in")
    other.visit("signed-in-service-setup")
    assert other.heading() == "Subscription details"  # the first step not done yet


# --- Journey: Deploy asks for the password again after the set time -----------------------------

def test_deploy_asks_for_the_password_again_after_the_set_time(journey, settings):
    settings.REAUTHENTICATE_AFTER = 5 * 60
    order = import_order("CCW-40003")
    j = journey("deploy-reauthenticate")
    j.open(deployment_link(order))
    confirm_first_order(j)
    j.visit("set-up")
    set_password(j, NEW_PASSWORD)  # signs this browser in
    finish_services_to_deploy(j)
    j.visit("deploy-just-signed-in")
    assert not j.page.get_by_label("Your password").count()

    # Six minutes later (a coffee, a phone call), the same page is reloaded.
    later = timezone.now() + datetime.timedelta(seconds=settings.REAUTHENTICATE_AFTER + 60)
    with time_machine.travel(later, tick=True):
        j.page.reload()
        j.visit("deploy-asks-the-password")
        field = j.page.get_by_label("Your password")
        assert field.is_visible()
        assert "enter your password again" in main_text(j)

        field.fill("not-my-password")
        j.press("Deploy")
        j.visit("deploy-wrong-password")
        assert "This password is not correct." in main_text(j)
        order.provisioning.refresh_from_db()
        assert order.provisioning.deployed_at is None

        j.page.get_by_label("Your password").fill(NEW_PASSWORD)
        j.press("Deploy")
        j.visit("deployed")
        assert j.heading() == "Your services are deployed"
    order.provisioning.refresh_from_db()
    assert order.provisioning.status == Status.DEPLOYED
    admin = User.objects.get(email=CONTACT)
    assert Event.objects.get(order=order, kind=Event.Kind.DEPLOYED).actor == admin


def finish_services_to_deploy(j):
    """The service setup steps before Deploy, with the order's defaults."""
    j.visit("subscription")
    j.press("Next")
    j.visit("calling")
    j.page.get_by_label("Main number").fill("04 72 00 00 00")
    j.press("Next")
    j.visit("meetings")
    j.press("Next")
    j.visit("enterprise")
    j.page.get_by_label("Subdomain").fill("boulangerie-martin")
    j.press("Save")
    assert j.heading() == "Deploy and start billing"


# --- Journey: the customer administrator accepts the invitation ---------------------------------

def test_the_customer_administrator_accepts_the_invitation_and_lands_signed_in_on_my_orders(
        journey):
    order = import_order("CCW-40004")
    partner = journey("invitation-1-partner")
    partner.open(deployment_link(order))
    confirm_first_order(partner)
    partner.visit("set-up")
    assert not User.objects.filter(email=CUSTOMER_ADMIN).exists(), \
        "the address the partner typed is invited, not made a member"
    # The partner's own password: later, from a single-use link sent to their (proven) address.
    partner.press("Email me a link to do it later")
    partner.visit("password-link-sent")
    assert f"We sent a link to {CONTACT}" in main_text(partner)
    assert no_check_mark_before(partner.page.locator(".alert.success"))
    assert not partner.page.get_by_label("New password", exact=True).count()
    password_url = link_in_email(email_to(CONTACT, "Choose your"), "Choose your password",
                                 "/accounts/reset/")
    partner.open(password_url)
    partner.visit("choose-password-from-the-email")
    partner.page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    partner.page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    partner.press("Change my password")
    partner.visit("password-chosen")
    assert partner.heading() == "Password changed"
    assert User.objects.get(email=CONTACT).check_password(NEW_PASSWORD)
    invitation = Invitation.objects.get(email=CUSTOMER_ADMIN)
    assert invitation.organization == order.__class__.objects.get(pk=order.pk).customer_org

    invitation_email = email_to(CUSTOMER_ADMIN, "invited to administer")
    url = link_in_email(invitation_email, "Accept the invitation", "/invitations/")
    stored = OutboundEmail.objects.get(kind=OutboundEmail.Kind.INVITATION)
    assert url not in stored.body_text + stored.body_html, "no live link at rest"

    camille = journey("invitation-2-customer-admin", locale="fr-FR")  # she reads French
    camille.open(url)
    camille.visit("invitation")
    assert camille.heading() == "Administrer l'organisation Webex de Boulangerie Martin"
    camille.page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    camille.page.get_by_label("Confirmation du nouveau mot de passe").fill(NEW_PASSWORD)
    camille.press("Accepter l'invitation")
    camille.visit("my-orders")
    assert camille.heading() == "Mes commandes"
    assert camille.page.get_by_role("button", name="Se déconnecter").is_visible()
    assert camille.page.get_by_role("row").filter(has_text=order.number).count() == 1
    admin = User.objects.get(email=CUSTOMER_ADMIN)
    assert admin.check_password(NEW_PASSWORD)
    assert admin.membership.organization.external_id == "CUS-90210"
    assert admin.membership.role == Membership.Role.ADMIN

    # The link works once.
    response = camille.open(url)
    camille.visit("invitation-used")
    assert response.status == 410
    assert camille.heading() == "Cette invitation a déjà été acceptée"
    # Already signed in: the page leads to her orders rather than asking her to sign in.
    main = camille.page.get_by_role("main")
    assert main.get_by_role("link", name="Mes commandes").is_visible()
    assert not main.get_by_role("link", name="Se connecter").count()


# --- Journey: the customer sets up their own organisation, from their own address ---------------

def test_the_customer_proves_their_own_address_on_the_administrator_step(journey):
    order = import_order("CCW-40005")
    j = journey("customer-proves-their-address")
    j.open(deployment_link(order))                      # the partner forwarded the email
    j.visit("role")
    j.page.get_by_label("I am the customer").check()
    j.press("Next")
    j.visit("customer-admin")
    j.page.get_by_label("Customer administrator's email").fill(CUSTOMER_ADMIN)
    j.press("Next")
    assert not User.objects.filter(email=CUSTOMER_ADMIN).exists()
    enter_emailed_code(j, CUSTOMER_ADMIN, name="customer-admin-code")
    j.visit("customer-org-new")
    assert j.heading() == "Confirm the customer's details"
    j.press("Next")
    j.visit("confirm")
    assert CUSTOMER_ADMIN in main_text(j)
    j.press("Next")
    j.visit("set-up")
    assert "Your order has been set up successfully" in j.heading()
    assert CUSTOMER_ADMIN in main_text(j)              # "You will sign in as …"
    set_password(j, NEW_PASSWORD)
    j.visit("subscription")
    assert j.heading() == "Subscription details"
    admin = User.objects.get(email=CUSTOMER_ADMIN)
    assert admin.membership.role == Membership.Role.ADMIN
    assert admin.membership.organization.managed_by_id is None  # customer-led
    assert not User.objects.filter(email=CONTACT).exists()


# --- Journey: the customer's organisation is managed by another partner -------------------------

def test_a_customer_organisation_managed_by_another_partner_is_never_joined(journey):
    other_partner = PartnerOrgFactory(external_id="PTN-9999", name="Autre Partenaire SAS")
    customer = CustomerOrgFactory(external_id="CUS-90210", name="Boulangerie Martin",
                                  managed_by=other_partner)
    MembershipFactory(organization=customer, role=Membership.Role.ADMIN,
                      user__email=CUSTOMER_ADMIN)
    order = import_order("CCW-40006")
    j = journey("customer-org-managed-elsewhere")
    j.open(deployment_link(order))
    choose_partner_self(j, "Inès Installer")
    j.visit("partner-org-create")
    j.press("Next")
    j.visit("customer-admin-blocked")
    assert "managed by another partner, or by the customer itself" in main_text(j)
    # Reaching the step told the rep (no click needed); the page says so and offers no way on.
    assert "We told your account representative (rachel.rep@vendor.example)" in main_text(j)
    assert not j.page.get_by_label("Customer administrator's email").count()
    assert not j.button("Next").count()
    assert not j.button("Tell my account representative").count()
    told = email_to("rachel.rep@vendor.example", order.number)
    assert "managed elsewhere" in told.subject
    j.page.reload()                                   # a GET tells nobody again
    j.visit("customer-admin-blocked-reloaded")
    assert len([m for m in mail.outbox if "managed elsewhere" in m.subject]) == 1
    order.refresh_from_db()
    assert order.customer_org_id is None and order.partner_org_id is None
    assert order.provisioning.set_up_at is None
    assert not User.objects.filter(email=CONTACT).exists()
    assert Membership.objects.filter(organization=customer).count() == 1
