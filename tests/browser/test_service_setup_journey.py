"""The service setup assistant in a real browser: a signed-in partner resumes a set-up order
from My orders, walks every step, checks a taken subdomain in place (JavaScript), picks a
suggestion, saves it and deploys."""
import pytest

from orgs.models import Organization
from provisioning.models import BillingPeriod
from tests.browser.conftest import PASSWORD, PHONE
from tests.factories import CustomerOrgFactory
from tests.service_helpers import member_of, set_up_order, step_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_partner_resumes_sets_up_the_services_and_deploys(journey):
    order = set_up_order(["calling", "meetings"])
    member_of(order.partner_org, "installer@partner.example")
    CustomerOrgFactory(subdomain="boulangerie-martin")
    j = journey("service-setup")
    j.sign_in("installer@partner.example", PASSWORD)
    j.visit("my-orders")
    j.page.get_by_role("link", name=f"Resume {order.number}").click()

    j.visit("subscription")
    assert j.heading() == "Subscription details"
    assert j.page.locator('[aria-current="step"]').inner_text().strip() == "Subscription details"
    j.press("Next")

    j.visit("calling")
    assert j.page.get_by_label("Country").input_value() == "FR"
    j.page.get_by_label("Main number").fill("04 78 00 00 00")
    j.press("Next")

    j.visit("meetings")
    j.page.get_by_label("Attendees may join before the host").check()
    j.press("Next")

    j.visit("enterprise")
    j.page.evaluate("() => { window.stillTheSamePage = true; }")
    j.page.get_by_label("Subdomain").fill("Boulangerie-Martin")
    j.button("Check availability").click()
    j.page.get_by_text("This subdomain is already taken.").wait_for()
    assert j.page.evaluate("() => window.stillTheSamePage === true")  # answered in place
    j.visit("enterprise-taken")
    suggestions = j.page.locator("button[name=pick]")
    assert suggestions.count() == 3
    picked = suggestions.first.inner_text().strip()
    suggestions.first.click()
    j.page.get_by_text(f"{picked}.webex.com is available").wait_for()
    assert j.page.get_by_label("Subdomain").input_value() == picked
    j.press("Save")

    j.visit("deploy")
    assert j.heading() == "Deploy and start billing"
    j.press("Deploy")
    j.visit("deployed")
    assert j.heading() == "Your services are deployed"
    assert Organization.objects.get(pk=order.customer_org_id).subdomain == picked
    assert BillingPeriod.objects.filter(subscription__order=order).count() == 2


def test_check_availability_works_without_javascript(browser, site):
    from provisioning import webex_setup

    order = set_up_order(["messaging"])
    webex_setup.mark_subscription_reviewed(order)
    member_of(order.partner_org, "installer@partner.example")
    CustomerOrgFactory(subdomain="taken-name")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site.url + "/accounts/login/")
    page.get_by_label("Email").fill("installer@partner.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(site.url + step_url(order, "enterprise"))
    page.get_by_label("Subdomain").fill("taken-name")
    page.get_by_role("button", name="Check availability").click()
    page.get_by_text("This subdomain is already taken.").wait_for()
    assert page.get_by_label("Subdomain").input_value() == "taken-name"
    assert page.locator("button[name=pick]").count() == 3
    context.close()


def test_a_refused_main_number_gets_the_focus(journey):
    from provisioning import webex_setup

    order = set_up_order(["calling"])
    webex_setup.mark_subscription_reviewed(order)
    member_of(order.partner_org, "installer@partner.example")
    j = journey("calling-error", viewport=PHONE)
    j.sign_in("installer@partner.example", PASSWORD)
    j.open(step_url(order, "calling"))
    j.page.get_by_label("Main number").fill("12")
    j.press("Next")

    j.visit("calling-refused")
    assert j.page.get_by_text("Enter a valid phone number for France").is_visible()
    # Where a keyboard or screen-reader user lands: on the field to correct, not the page top.
    assert j.page.evaluate("() => document.activeElement.id") == "id_main_number"
