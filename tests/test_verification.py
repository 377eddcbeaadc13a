"""An address typed in the wizard is proven before it becomes anything (onboarding/verification.py):
the link's own recipient needs nothing more; any other address gets a short-lived, single-use code,
which works only in the browser that asked for it."""
import datetime

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from orgs.models import Membership, Organization, User
from provisioning.models import OutboundEmail
from tests.factories import CUSTOMER_ADMIN_EMAIL, OrderFactory
from tests.wizard_helpers import (DEFAULT_ANSWERS, INSTALLER_EMAIL, answer, as_sent, code_sent_to,
                                  current_step, done_url, open_link, post_step, walk)

pytestmark = pytest.mark.django_db
INSTALLER = DEFAULT_ANSWERS["installer"]


@pytest.fixture
def order():
    return OrderFactory()


def codes_sent(to=INSTALLER_EMAIL):
    return OutboundEmail.objects.filter(kind=OutboundEmail.Kind.VERIFICATION, to=to)


def at_installer(client, order):
    open_link(client, order)
    post_step(client, order, "role", {"role": "partner"})


def test_the_link_s_own_recipient_installs_without_a_code(client, order):
    at_installer(client, order)
    response = post_step(client, order, "installer",
                         {**INSTALLER, "email": order.deployment_contact_email.upper()})
    assert current_step(response) == "partner_org"
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.VERIFICATION).exists()


def test_another_address_gets_a_code_and_goes_on_only_with_it(client, order):
    at_installer(client, order)
    response = post_step(client, order, "installer", INSTALLER)
    assert current_step(response) == "installer"
    html = response.content.decode()
    assert "We sent a 6-digit code to i•••@partner.example" in html
    assert 'name="installer-code"' in html
    assert codes_sent().count() == 1

    wrong = post_step(client, order, "installer", {**INSTALLER, "code": "000000"
                      if code_sent_to(INSTALLER_EMAIL) != "000000" else "111111"})
    assert current_step(wrong) == "installer"
    assert "This code is not the one we sent" in wrong.content.decode()

    right = post_step(client, order, "installer", {**INSTALLER, "code": code_sent_to(INSTALLER_EMAIL)})
    assert current_step(right) == "partner_org"
    assert codes_sent().count() == 1  # proving it sent nothing more


def test_the_code_is_never_stored_nor_in_the_session(client, order):
    at_installer(client, order)
    post_step(client, order, "installer", INSTALLER)
    code = code_sent_to(INSTALLER_EMAIL)
    email = codes_sent().get()
    assert code not in email.body_text + email.body_html + email.subject
    assert code in as_sent(email)[1] and code in as_sent(email)[2]
    assert code not in str(dict(client.session))


def test_a_code_works_only_in_the_browser_that_asked_for_it(client, order):
    at_installer(client, order)
    post_step(client, order, "installer", INSTALLER)
    code = code_sent_to(INSTALLER_EMAIL)

    other = Client()  # someone else with the same link, who saw the code
    at_installer(other, order)
    response = post_step(other, order, "installer", {**INSTALLER, "code": code})
    assert current_step(response) == "installer"
    assert codes_sent().count() == 2  # the other browser was sent its own code, not proven


def test_a_code_for_one_address_does_not_prove_another(client, order):
    at_installer(client, order)
    post_step(client, order, "installer", INSTALLER)
    code = code_sent_to(INSTALLER_EMAIL)
    other = {**INSTALLER, "email": "mallory@partner.example", "code": code}
    response = post_step(client, order, "installer", other)
    assert current_step(response) == "installer"
    assert codes_sent("mallory@partner.example").count() == 1


def test_a_code_expires(client, order):
    at_installer(client, order)
    post_step(client, order, "installer", INSTALLER)
    code = code_sent_to(INSTALLER_EMAIL)
    later = timezone.now() + datetime.timedelta(seconds=settings.EMAIL_CODE_TTL + 1)
    with time_machine.travel(later):
        response = post_step(client, order, "installer", {**INSTALLER, "code": code})
    assert current_step(response) == "installer"
    assert codes_sent().count() == 2  # a new code went out instead


def test_five_wrong_codes_end_that_code(client, order):
    at_installer(client, order)
    post_step(client, order, "installer", INSTALLER)
    code = code_sent_to(INSTALLER_EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(settings.EMAIL_CODE_TRIES):
        post_step(client, order, "installer", {**INSTALLER, "code": wrong})
    response = post_step(client, order, "installer", {**INSTALLER, "code": code})
    assert current_step(response) == "installer"
    assert "Too many codes or attempts" in response.content.decode()


def test_codes_to_one_address_are_limited_whoever_asks(order):
    for _ in range(5):
        browser = Client()
        at_installer(browser, order)
        post_step(browser, order, "installer", INSTALLER)
    flooding = Client()
    at_installer(flooding, order)
    response = post_step(flooding, order, "installer", INSTALLER)
    assert "Too many codes or attempts" in response.content.decode()
    assert codes_sent().count() == 5


def test_back_and_a_reload_send_no_code(client, order):
    at_installer(client, order)
    post_step(client, order, "installer", INSTALLER, wizard_goto_step="role")
    client.get(f"/setup/orders/{order.number}/")
    assert not codes_sent().exists()


def test_an_unproven_address_is_granted_nothing(client, order):
    """Walking on with an address that was never proven leaves no user, no org, no membership."""
    at_installer(client, order)
    for _ in range(3):
        post_step(client, order, "installer", {**INSTALLER, "code": "123456"})
    post_step(client, order, "partner_org", DEFAULT_ANSWERS["partner_org"])
    post_step(client, order, "confirm")
    assert not User.objects.filter(email=INSTALLER_EMAIL).exists()
    assert not Organization.objects.exists() and not Membership.objects.exists()


def test_i_am_the_customer_proves_the_customer_s_own_address(client, order):
    open_link(client, order)
    post_step(client, order, "role", {"role": "customer"})
    response = post_step(client, order, "customer_admin", {"email": CUSTOMER_ADMIN_EMAIL})
    assert current_step(response) == "customer_admin"
    assert codes_sent(CUSTOMER_ADMIN_EMAIL).count() == 1
    response = answer(client, order, "customer_admin", {"email": CUSTOMER_ADMIN_EMAIL})
    assert current_step(response) == "customer_org"
    assert walk(client, order, {"role": {"role": "customer"},
                                "customer_admin": {"email": CUSTOMER_ADMIN_EMAIL}}
                )["Location"] == done_url(order)
    admin = User.objects.get(email=CUSTOMER_ADMIN_EMAIL)
    assert admin.membership.role == "admin" and admin.membership.organization.managed_by is None


def test_the_code_email_speaks_the_order_s_language(client):
    order = OrderFactory(language="fr")
    at_installer(client, order)
    post_step(client, order, "installer", INSTALLER)
    email = codes_sent().get()
    assert "Votre code pour confirmer votre adresse e-mail" in email.subject
    assert "saisissez ce code sur la page d'installation" in as_sent(email)[1]
