"""Journeys 2-7 of the order setup wizard in a real browser: existing organisations (verified by
a member who signs in), handing the setup to a colleague or to the customer, the "don't
recognise" exit, leaving half-way, and the pages of expired, superseded and re-issued links.

The deployment email goes to a shared alias (CONTACT). A journey that keeps that address, as
prefilled, needs no code: the link proves it. One that types the installer's own address reads
the code emailed to it, as the installer would."""
import datetime

import pytest
from django.utils import timezone

from orgs.models import Membership, Organization, User
from provisioning import links, services as prov
from provisioning.models import Provisioning, SetupLink, Status
from tests.browser.conftest import (PASSWORD, PHONE, choose_partner_self, email_to,
                                    enter_emailed_code, finish_services, import_order,
                                    link_in_email, send_deployment_emails, set_password)
from tests.factories import CustomerOrgFactory, MembershipFactory, PartnerOrgFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTACT = "webex-deploy@partner.example"
INSTALLER = "ines.installer@partner.example"
COLLEAGUE = "colin.colleague@partner.example"
CUSTOMER_ADMIN = "camille.admin@boulangerie.example"
NEW_PASSWORD = "Lilas-Lyon-69003!"


def deployment_link(order):
    send_deployment_emails(order)
    return link_in_email(email_to(CONTACT, order.number))


def existing_orgs():
    """The partner's org (from an earlier order) with its installer (an administrator, who has
    a password), and the customer's org it manages, with its administrator."""
    partner = PartnerOrgFactory(external_id="PTN-4411", name="Réseaux Alpins SARL")
    MembershipFactory(organization=partner, user__email=INSTALLER)
    customer = CustomerOrgFactory(external_id="CUS-90210", name="Boulangerie Martin",
                                  managed_by=partner, city="Lyon")
    MembershipFactory(organization=customer, user__email=CUSTOMER_ADMIN)
    return partner, customer


def test_a_partner_with_existing_organisations_verifies_them_and_sets_up_the_order(journey):
    partner, customer = existing_orgs()
    order = import_order("CCW-20001")
    j = journey("existing-orgs")
    j.open(deployment_link(order))
    choose_partner_self(j, "Inès Installer")          # the alias the email went to, as prefilled

    j.visit("partner-org-verify")
    assert j.heading() == "Verify your partner organisation"
    assert j.page.get_by_text("PTN-4411").is_visible()
    assert j.button("I don't recognise this organisation").is_visible()
    # The link proves the alias's mailbox, not a membership: only a member verifies the org.
    assert not j.button("Next").count()
    assert j.button(f"Ask to join as {CONTACT}").is_visible()
    j.follow(j.page.get_by_role("main").get_by_role("link", name="Sign in"))
    j.visit("sign-in")
    j.page.get_by_label("Email address").fill(INSTALLER)
    j.page.get_by_label("Password").fill(PASSWORD)
    j.press("Sign in")

    j.visit("partner-org-verify-signed-in")                # back at the step, as promised
    assert j.heading() == "Verify your partner organisation"
    assert f"/setup/orders/{order.number}/" in j.page.url
    assert not j.button(f"Ask to join as {CONTACT}").count()
    j.press("Next")

    j.visit("customer-admin")
    # Someone of another organisation first: one user, one organisation.
    MembershipFactory(organization=CustomerOrgFactory(name="Other Customer"),
                      user__email="olga@elsewhere.example")
    field = j.page.get_by_label("Customer administrator's email")
    field.fill("olga@elsewhere.example")
    j.press("Next")
    j.visit("customer-admin-refused")
    assert "already belongs to another Webex organisation" in j.page.get_by_role("main").inner_text()
    assert field.get_attribute("aria-invalid") == "true"
    error_id = field.get_attribute("aria-describedby").split()[-1]
    assert "already belongs" in j.page.locator(f"#{error_id}").inner_text()  # read with the field
    assert j.page.evaluate("() => document.activeElement.name") == field.get_attribute("name")
    field.fill(CUSTOMER_ADMIN)
    j.press("Next")

    j.visit("customer-org-verify")
    assert j.heading() == "Verify the customer organisation"
    assert j.page.get_by_text("CUS-90210").is_visible()
    j.press("Next")

    j.visit("confirm")
    assert INSTALLER in j.page.get_by_role("main").inner_text()  # the member, not the alias
    j.press("Next")
    # No password to choose (an existing partner organisation has its administrator): the
    # service setup assistant starts at once, saying the order was set up.
    j.visit("subscription-set-up")
    assert j.heading() == "Subscription details"
    assert "Your order has been set up successfully" in j.page.locator(".messages").inner_text()
    order.refresh_from_db()
    assert (order.partner_org_id, order.customer_org_id) == (partner.pk, customer.pk)
    assert Organization.objects.count() == 3
    assert order.provisioning.installer_email == INSTALLER
    assert not User.objects.filter(email=CONTACT).exists(), "the alias joined nothing"


def test_the_contact_hands_the_setup_to_a_colleague_who_finishes_it(journey):
    order = import_order("CCW-20002")
    first_link = deployment_link(order)
    contact = journey("colleague-1-contact")
    contact.open(first_link)
    contact.visit("role")
    contact.page.get_by_label("I am a partner").check()
    contact.press("Next")
    contact.visit("installer")
    contact.page.get_by_label("Someone else in my company will do the setup").check()
    assert not contact.page.get_by_label("Your name").is_visible()  # only the colleague's email
    contact.page.get_by_label("Your colleague's email").fill(COLLEAGUE)
    contact.press("Next")
    contact.visit("handed-to-colleague")
    assert contact.heading() == "Setup handed to your colleague"

    contact.open(first_link)
    contact.visit("first-link-superseded")
    assert contact.heading() == "A newer setup link was sent"
    assert "handed to a colleague" in contact.page.get_by_role("main").inner_text()

    colleague = journey("colleague-2-colleague-on-a-phone", viewport=PHONE)  # reads it on a phone
    colleague.open(link_in_email(email_to(COLLEAGUE)))
    choose_partner_self(colleague, "Colin Colleague", COLLEAGUE)
    colleague.visit("partner-org-create")
    colleague.press("Next")
    colleague.visit("customer-admin")
    colleague.page.get_by_label("Customer administrator's email").fill(CUSTOMER_ADMIN)
    colleague.press("Next")
    colleague.visit("customer-org-new")
    colleague.press("Next")
    colleague.visit("confirm")
    colleague.press("Next")
    colleague.visit("set-up")
    set_password(colleague, NEW_PASSWORD)
    finish_services(colleague, "boulangerie-martin")
    order.provisioning.refresh_from_db()
    assert order.provisioning.status == Status.DEPLOYED
    assert User.objects.get(email=COLLEAGUE).membership.organization.external_id == "PTN-4411"


def test_the_customer_does_the_setup_and_the_partner_cannot_see_their_organisation(journey):
    order = import_order("CCW-20003")
    partner = journey("customer-led-1-partner")
    partner.open(deployment_link(order))
    partner.visit("role")
    partner.page.get_by_label("I am a partner").check()
    partner.press("Next")
    partner.visit("installer")
    partner.page.get_by_label("The customer will do the setup").check()
    partner.page.get_by_label("Your name").fill("Inès Installer")
    partner.page.get_by_label("Your email").fill(INSTALLER)  # their own: proven by a code
    partner.press("Next")
    enter_emailed_code(partner, INSTALLER, name="installer-code")
    partner.visit("partner-org-create")
    partner.press("Next")
    partner.visit("customer-admin")
    partner.page.get_by_label("Customer administrator's email").fill(CUSTOMER_ADMIN)
    partner.press("Next")
    partner.visit("confirm")
    assert "will not have access to manage" in partner.page.get_by_role("main").inner_text()
    partner.press("Next")
    partner.visit("handed-to-customer")
    assert partner.heading() == "Your order has been set up successfully"
    who = partner.page.get_by_role("heading", level=2, name="The customer will do the setup")
    assert who.is_visible() and CUSTOMER_ADMIN in partner.page.get_by_role("main").inner_text()
    set_password(partner, NEW_PASSWORD)  # the new partner org's administrator
    partner.visit("partner-password-saved")
    partner.follow(partner.page.get_by_role("main").get_by_role("link", name="My orders"))
    partner.visit("partner-my-orders")
    assert not partner.page.get_by_text(order.number).count()

    customer = journey("customer-led-2-customer")
    customer.open(link_in_email(email_to(CUSTOMER_ADMIN)))
    customer.visit("customer-org-new")
    assert customer.heading() == "Confirm the customer's details"
    customer.press("Next")
    customer.visit("confirm")
    customer.press("Next")
    customer.visit("set-up")
    assert "Your order has been set up successfully" in customer.heading()
    set_password(customer, NEW_PASSWORD)
    finish_services(customer, "boulangerie-martin")
    customer_org = Organization.objects.get(kind="customer", external_id="CUS-90210")
    assert customer_org.managed_by_id is None

    later = journey("customer-led-3-partner-signs-in")
    later.sign_in(INSTALLER, NEW_PASSWORD)
    later.visit("my-orders")
    assert later.heading() == "My orders"
    assert not later.page.get_by_text(order.number).count()
    response = later.open(f"/orders/{order.number}/services/deployed/")
    later.visit("customer-org-refused")
    assert later.heading() == "Page not found"
    assert response.status == 404


def test_not_recognising_the_partner_organisation_tells_the_rep_and_saves_nothing(journey):
    partner = PartnerOrgFactory(external_id="PTN-4411", name="Réseaux Alpins SARL")
    order = import_order("CCW-20004")
    j = journey("not-recognised")
    j.open(deployment_link(order))
    choose_partner_self(j, "Inès Installer")
    j.visit("partner-org-verify")
    j.press("I don't recognise this organisation")
    j.visit("contact-your-rep")
    assert j.heading() == "Contact your account representative"
    assert "rachel.rep@vendor.example" in j.page.get_by_role("main").inner_text()

    rep_email = email_to("rachel.rep@vendor.example", order.number)
    assert "does not recognise" in rep_email.subject
    assert Organization.objects.get() == partner
    assert not User.objects.filter(email__in=[INSTALLER, CONTACT]).exists()
    assert not Membership.objects.exists()
    assert Provisioning.objects.get(pk=order.pk).set_up_at is None


def test_leaving_half_way_and_opening_the_link_again_starts_from_the_first_step(journey):
    order = import_order("CCW-20005")
    link = deployment_link(order)
    j = journey("abandon")
    j.open(link)
    choose_partner_self(j, "Inès Installer")
    j.visit("partner-org-create")
    j.press("Next")
    j.visit("customer-admin")
    j.page.get_by_label("Customer administrator's email").fill(CUSTOMER_ADMIN)
    j.press("Next")
    j.visit("customer-org-half-way")
    j.page.close()  # the partner closes the tab

    j.page = j.new_page()
    j.open(link)
    j.visit("reopened-first-step")
    assert j.heading() == "Who is setting up this order?"
    assert not j.page.get_by_label("I am a partner").is_checked()
    assert not Organization.objects.exists()
    assert not User.objects.filter(email__in=[CONTACT, CUSTOMER_ADMIN]).exists()
    assert Provisioning.objects.get(pk=order.pk).set_up_at is None


def test_expired_superseded_reissued_and_unknown_links_each_say_what_happened(journey):
    order = import_order("CCW-20006")
    old_link = deployment_link(order)
    j = journey("links")

    # The rep resends the email: a new link, the old one says it was replaced.
    prov.resend_deployment_email(order)
    new_link = link_in_email(email_to(CONTACT, order.number))
    assert new_link != old_link
    j.open(old_link)
    j.visit("superseded")
    assert j.heading() == "A newer setup link was sent"
    j.open(new_link)
    j.visit("reissued-link-opens-the-wizard")
    assert j.heading() == "Who is setting up this order?"

    # The setup window closes: the live link says so and names the rep.
    Provisioning.objects.filter(pk=order.pk).update(
        window_closes_at=timezone.now() - datetime.timedelta(minutes=1))
    response = j.open(new_link)
    j.visit("expired")
    assert response.status == 410
    assert j.heading() == "The setup window has closed"
    assert "rachel.rep@vendor.example" in j.page.get_by_role("main").inner_text()

    # The rep re-opens the order: as the page promised, a fresh link is emailed.
    prov.reopen(order)
    reopened_link = link_in_email(email_to(CONTACT, order.number))
    assert reopened_link != new_link
    j.open(reopened_link)
    j.visit("reopened-link-opens-the-wizard")
    assert j.heading() == "Who is setting up this order?"

    response = j.open("/setup/" + "x" * 43 + "/")
    j.visit("unknown")
    assert response.status == 404
    assert SetupLink.objects.filter(order=order).count() == 3


# Each line of an element's text as the browser laid it out.
RENDERED_LINES = """el => {
  const lines = []; let top = null;
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    for (let i = 0; i < node.length; i++) {
      const range = document.createRange();
      range.setStart(node, i); range.setEnd(node, i + 1);
      const rect = range.getClientRects()[0];
      if (!rect) continue;
      if (top === null || rect.top > top + 2) { lines.push(""); top = rect.top; }
      lines[lines.length - 1] += node.data[i];
    }
  }
  return lines;
}"""


def test_on_a_phone_the_confirm_page_wraps_a_long_email_only_before_its_at_and_dots(journey):
    long_email = "camille.administratrice@boulangeriemartinlyon.example"
    order = import_order("CCW-20009")
    j = journey("confirm-on-a-phone", viewport=PHONE)
    j.open(f"/setup/{links.issue_link(order, CONTACT, SetupLink.Purpose.DEPLOYMENT)}/")
    choose_partner_self(j, "Inès Installer")
    j.press("Next")                                   # partner organisation, as ordered
    j.page.get_by_label("Customer administrator's email").fill(long_email)
    j.press("Next")
    j.press("Next")                                   # customer organisation, as ordered
    j.visit("confirm")

    customer_side = j.page.locator("section[aria-labelledby=side-customer]")
    assert customer_side.locator("dd", has_text="France").count() == 1
    lines = customer_side.locator("dd", has_text="@").evaluate(RENDERED_LINES)
    assert "".join(lines) == long_email and len(lines) > 1, lines
    assert all(line[0] in "@." for line in lines[1:]), lines


def test_a_partner_sets_up_two_orders_in_two_tabs(journey):
    """Two orders' emails opened side by side: each tab keeps its own order's wizard (and asks
    for its own code, read from its own email); the partner org the first tab creates is shown to
    the second for verification, which the installer may do: the first tab signed them in as
    its administrator."""
    first = import_order("CCW-20010")
    second = import_order("CCW-20011", customer={"id": "CUS-90211", "name": "Fromagerie Dupont"})
    j = journey("two-orders-two-tabs")
    tab1 = j.page
    j.open(deployment_link(first))
    choose_partner_self(j, "Inès Installer", INSTALLER)       # tab 1 at the partner org step
    j.page = tab2 = j.new_page()
    j.open(deployment_link(second))
    choose_partner_self(j, "Inès Installer", INSTALLER)       # tab 2 at the partner org step too
    assert second.number in tab2.url and first.number in tab1.url

    j.page = tab1
    j.visit("tab1-partner-org")
    assert j.page.get_by_text(first.number).first.is_visible()
    j.press("Next")
    j.page.get_by_label("Customer administrator's email").fill(CUSTOMER_ADMIN)
    j.press("Next")
    j.press("Next")                                           # customer organisation, as ordered
    j.visit("tab1-confirm")
    assert j.page.get_by_text("Boulangerie Martin").first.is_visible()
    j.press("Next")
    j.visit("tab1-set-up")
    assert "Your order has been set up successfully" in j.heading()
    set_password(j, NEW_PASSWORD)

    j.page = tab2
    j.visit("tab2-partner-org")
    assert j.page.get_by_text(second.number).first.is_visible()
    # Signing in at the password step gave the browser a new CSRF token: this page, loaded
    # before, cannot be sent, and says how to go on.
    j.press("Next")
    j.visit("tab2-sent-from-before-the-sign-in")
    assert j.heading() == "Please try again"
    j.follow(j.link("Reload the page"))
    j.visit("tab2-partner-org-reloaded")                      # tab 1 created it since
    assert second.number in j.page.url
    assert j.heading() == "Verify your partner organisation"
    j.press("Next")
    j.page.get_by_label("Customer administrator's email").fill("dana.admin@fromagerie.example")
    j.press("Next")
    j.press("Next")
    j.visit("tab2-confirm")
    assert j.page.get_by_text("Fromagerie Dupont").first.is_visible()
    j.press("Next")
    j.visit("tab2-set-up")  # signed in by tab 1's password: straight into the assistant
    assert j.heading() == "Subscription details"
    assert "Your order has been set up successfully" in j.page.locator(".messages").inner_text()

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.partner_org == second.partner_org
    assert Organization.objects.filter(kind="partner").count() == 1
    assert (first.customer_org.name, second.customer_org.name) == ("Boulangerie Martin", "Fromagerie Dupont")
    assert User.objects.get(email=INSTALLER).check_password(NEW_PASSWORD)
