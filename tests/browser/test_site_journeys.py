"""The pages every visitor meets: home, sign in, language switch, health, sign out."""
import pytest

from tests.browser.conftest import PASSWORD, PHONE
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_reads_the_home_page_switches_to_french_and_back(journey):
    j = journey("home-language")
    j.open("/")
    j.visit("home-en")
    assert j.heading() == "Webex onboarding"
    assert j.page.locator("html").get_attribute("lang") == "en"

    j.press("Français")
    j.visit("home-fr")
    assert j.page.locator("html").get_attribute("lang") == "fr"
    assert j.page.get_by_role("link", name="Se connecter").first.is_visible()
    assert j.page.get_by_role("button", name="Français").get_attribute("aria-current") == "true"

    j.press("English")
    j.visit("home-en-again")
    assert j.page.locator("html").get_attribute("lang") == "en"


def test_a_partner_signs_in_sees_my_orders_and_signs_out(journey):
    member = MembershipFactory(user__email="installer@partner.example")
    j = journey("sign-in")
    j.open("/")
    j.visit("home")
    j.follow(j.page.get_by_role("main").get_by_role("link", name="Sign in"))
    j.visit("sign-in")
    j.page.get_by_label("Email").fill(member.user.email)
    j.page.get_by_label("Password").fill("not-the-password")
    j.press("Sign in")
    j.visit("sign-in-refused")
    assert j.page.get_by_role("alert").is_visible()

    j.page.get_by_label("Password").fill(PASSWORD)
    j.press("Sign in")
    j.visit("my-orders")
    assert j.heading() == "My orders"

    j.press("Sign out")
    j.visit("signed-out")
    assert j.page.get_by_role("link", name="Sign in").first.is_visible()
    assert not j.page.get_by_role("button", name="Sign out").count()


def test_the_sign_in_page_works_in_french(journey):
    j = journey("sign-in-fr", locale="fr-FR")
    j.open("/accounts/login/")
    j.visit("sign-in-fr")
    assert j.page.locator("html").get_attribute("lang") == "fr"
    assert j.heading() == "Se connecter"


def test_home_and_sign_in_fit_a_phone_screen(journey):
    j = journey("phone", viewport=PHONE)
    for path, name in [("/", "home"), ("/accounts/login/", "sign-in")]:
        j.open(path)
        j.visit(name)
        j.assert_no_horizontal_scroll()


def test_the_skip_link_is_the_first_tab_stop_and_jumps_to_the_content(journey):
    j = journey("skip-link")
    j.open("/")
    j.page.keyboard.press("Tab")
    focused = j.page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    assert j.page.locator(".skip-link").is_visible()
    j.visit("skip-link-focused")
    j.page.keyboard.press("Enter")
    # Following a fragment link updates the address asynchronously in Chromium.
    j.page.wait_for_url("**/#main", timeout=5000)


def test_health_answers_in_the_browser(journey):
    j = journey("health")
    response = j.open("/healthz")
    assert response.status == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


def test_an_unknown_address_shows_our_page_not_found_in_the_site_layout(journey):
    j = journey("not-found", locale="fr-FR")
    response = j.open("/no-such-page/")
    assert response.status == 404
    j.visit("not-found-fr")
    assert j.heading() == "Page introuvable"
    assert j.page.get_by_role("link", name="Se connecter").first.is_visible()


def test_the_accessibility_check_catches_what_it_should(journey):
    """The check every journey page passes would fail a page with an unlabelled field or an image
    with no text: it is not silently off."""
    from tests.browser.conftest import axe_violations

    j = journey("axe-self-check")
    j.open("/")
    j.page.evaluate("""() => {
        const main = document.querySelector('main');
        main.insertAdjacentHTML('beforeend',
          '<input type="text"><img src="/static/img/favicon.svg">');
    }""")
    found = {v["id"] for v in axe_violations(j.page)}
    assert {"label", "image-alt"} <= found, found
