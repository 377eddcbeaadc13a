"""Sign in, password reset by email, and "My orders" with its visibility rules."""
import io
import re

import pytest

from provisioning import webex_setup
from provisioning.models import SetupMode
from orgs.models import User
from tests.factories import (INSTALLER_EMAIL, PASSWORD, REP_EMAIL, CustomerOrgFactory, InstallerFactory,
                             PartnerOrgFactory, UserFactory)
from tests.service_helpers import member_of, set_up_order, step_url

pytestmark = pytest.mark.django_db


def test_a_user_signs_in_with_their_email_in_any_letter_case(client):
    InstallerFactory(organization=PartnerOrgFactory())
    response = client.post("/accounts/login/", {"username": "Ines.Installer@Partner.example",
                                                "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/my/orders/"


def test_a_wrong_password_is_refused_with_a_message(client):
    InstallerFactory(organization=PartnerOrgFactory())
    response = client.post("/accounts/login/", {"username": INSTALLER_EMAIL,
                                                "password": "nope"})
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session


def test_signing_in_from_a_service_setup_url_returns_there(client):
    order = set_up_order()
    InstallerFactory(organization=order.partner_org)
    url = step_url(order, "subscription")
    login = client.get(url)
    assert login.url == f"/accounts/login/?next={url}"
    response = client.post(login.url, {"username": INSTALLER_EMAIL,
                                       "password": PASSWORD, "next": url})
    assert response.url == url
    assert client.get(url).status_code == 200


def test_the_sign_in_page_speaks_french(client):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Se connecter" in html and "Mot de passe oublié ?" in html


# --- My orders -------------------------------------------------------------------------------------

def resume_links(html):
    return re.findall(r'href="/orders/([^/]+)/services/(?:deployed/)?"', html)


def test_my_orders_lists_the_partner_s_orders_with_status_and_resume(client):
    partner = PartnerOrgFactory()
    open_order = set_up_order(partner_org=partner)
    done = set_up_order(["messaging"], partner_org=partner, configured=True)
    webex_setup.deploy(done)
    client.force_login(member_of(partner))
    html = client.get("/my/orders/").content.decode()
    assert open_order.number in html and done.number in html
    assert f'href="/orders/{open_order.number}/services/"' in html  # Resume
    assert f'href="/orders/{done.number}/services/deployed/"' in html  # View
    assert "Set up" in html and "Deployed" in html


def test_a_partner_does_not_see_an_order_whose_customer_did_the_setup(client):
    partner = PartnerOrgFactory()
    managed = set_up_order(partner_org=partner, customer_name="Managed Customer")
    customer_led = set_up_order(partner_org=partner, mode=SetupMode.CUSTOMER,
                                customer_name="Independent Customer")
    client.force_login(member_of(partner))
    html = client.get("/my/orders/").content.decode()
    assert managed.number in html and "Managed Customer" in html
    assert customer_led.number not in html and "Independent Customer" not in html


def test_the_customer_admin_sees_their_org_s_orders_including_customer_led_ones(client):
    customer = CustomerOrgFactory()
    led = set_up_order(customer_org=customer, mode=SetupMode.CUSTOMER)
    managed = set_up_order(customer_org=customer)
    other = set_up_order()
    client.force_login(member_of(customer))
    html = client.get("/my/orders/").content.decode()
    assert sorted(resume_links(html)) == sorted([led.number, managed.number])
    assert other.number not in html


def test_my_orders_needs_signing_in(client):
    response = client.get("/my/orders/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_a_user_without_an_organisation_has_no_orders(client):
    client.force_login(UserFactory())
    assert "No orders yet." in client.get("/my/orders/").content.decode()


def test_my_orders_stays_within_its_query_budget(client, django_assert_max_num_queries):
    partner = PartnerOrgFactory()
    for _ in range(12):
        set_up_order(partner_org=partner)
    client.force_login(member_of(partner))
    client.get("/my/orders/")
    # the session, user, membership, orders with their orgs, lines, and the layout's two
    # permission lookups: the same for 12 orders as for 1.
    with django_assert_max_num_queries(7):
        html = client.get("/my/orders/").content.decode()
    assert len(resume_links(html)) == 12


def test_my_orders_speaks_french(client):
    partner = PartnerOrgFactory()
    set_up_order(partner_org=partner)
    client.force_login(member_of(partner))
    client.cookies["django_language"] = "fr"
    html = client.get("/my/orders/").content.decode()
    assert "Mes commandes" in html and "Reprendre" in html


def test_the_home_page_offers_a_signed_in_member_to_resume_the_order_opened_last(client):
    from tests.service_helpers import sign_in_installer, with_link

    order = set_up_order()
    with_link(client, order)
    assert "Resume service setup" not in client.get("/").content.decode()  # the link alone
    sign_in_installer(client, order)
    html = client.get("/").content.decode()
    assert f'href="/orders/{order.number}/services/"' in html
    assert "Resume service setup" in html


# --- Password reset --------------------------------------------------------------------------------

def test_password_reset_emails_a_link_built_from_site_url(client, mailoutbox):
    InstallerFactory(organization=PartnerOrgFactory())
    response = client.post("/accounts/password_reset/", {"email": "Ines.Installer@partner.example"})
    assert response.status_code == 302 and response.url == "/accounts/password_reset/done/"
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.subject == "Reset your Webex onboarding password"
    link = re.search(r"https://onboarding\.example/accounts/reset/\S+/\S+/", message.body).group(0)
    assert "testserver" not in message.body

    path = link.removeprefix("https://onboarding.example")
    form_page = client.get(path, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(form_page.redirect_chain[-1][0],
                       {"new_password1": "a-brand-new-secret-42", "new_password2": "a-brand-new-secret-42"})
    assert done.url == "/accounts/reset/done/"
    assert "Password changed" in client.get(done.url).content.decode()
    assert client.login(username=INSTALLER_EMAIL, password="a-brand-new-secret-42")
    # The link works once.
    again = client.get(path, follow=True).content.decode()
    assert "This link no longer works" in again


def test_password_reset_for_an_unknown_email_says_the_same_and_sends_nothing(client, mailoutbox):
    response = client.post("/accounts/password_reset/", {"email": "nobody@nowhere.example"},
                           follow=True)
    assert "Check your email" in response.content.decode()
    assert mailoutbox == []


def test_password_reset_in_french(client, mailoutbox):
    InstallerFactory(organization=PartnerOrgFactory())
    client.cookies["django_language"] = "fr"
    page = client.get("/accounts/password_reset/").content.decode()
    assert "Réinitialiser votre mot de passe" in page and "Envoyer le lien" in page
    client.post("/accounts/password_reset/", {"email": INSTALLER_EMAIL})
    assert mailoutbox[0].subject == "Réinitialisez votre mot de passe de mise en service Webex"
    assert "Pour choisir un nouveau mot de passe" in mailoutbox[0].body


def choose_password_by_email(client, mailoutbox, email, password="a-brand-new-secret-42"):
    """Forgot password, the emailed link, a new password; returns to whom the link went."""
    client.post("/accounts/password_reset/", {"email": email})
    path = re.search(r"https://onboarding\.example(/accounts/reset/\S+/\S+/)",
                     mailoutbox[0].body).group(1)
    form_page = client.get(path, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})
    return mailoutbox[0].to


def test_password_reset_reaches_an_administrator_who_has_no_password_yet(client, mailoutbox):
    """The partner admin who left before step 10 recovers through Forgot password."""
    from orgs import services as orgs_services

    orgs_services.ensure_member("new.admin@partner.example", PartnerOrgFactory(), "admin")
    assert choose_password_by_email(client, mailoutbox, "New.Admin@partner.example") == \
        ["new.admin@partner.example"]
    assert client.login(username="new.admin@partner.example", password="a-brand-new-secret-42")


def test_an_account_rep_created_by_the_import_chooses_a_password_once_activated(
        client, mailoutbox, tmp_path, admin_client):
    """The import creates the rep named on an order inactive, with no password (README): Forgot
    password sends nothing until an administrator activates the account."""
    import json

    from django.core.management import call_command

    from tests.test_import import SPEC_ORDER

    path = tmp_path / "order.json"
    path.write_text(json.dumps(dict(SPEC_ORDER, account_rep_email=REP_EMAIL)))
    call_command("import_orders", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    rep = User.objects.get(email=REP_EMAIL)
    assert not rep.has_usable_password()
    client.post("/accounts/password_reset/", {"email": REP_EMAIL})
    assert mailoutbox == []

    admin_client.post("/admin/orgs/user/", {"action": "activate", "_selected_action": [rep.pk]})
    assert choose_password_by_email(client, mailoutbox, REP_EMAIL) == \
        [REP_EMAIL]
    assert client.login(username=REP_EMAIL, password="a-brand-new-secret-42")
    assert client.get("/reps/stalled/").status_code == 200


def test_password_reset_skips_accounts_without_a_password_or_an_organisation(client, mailoutbox):
    no_org = UserFactory(email="no.org@example.com")
    no_org.set_unusable_password()
    no_org.save()
    inactive = member_of(PartnerOrgFactory(), "gone@partner.example")
    inactive.is_active = False
    inactive.save()
    for email in ("no.org@example.com", "gone@partner.example"):
        client.post("/accounts/password_reset/", {"email": email})
    assert mailoutbox == []


def test_beat_clears_expired_sessions_and_keeps_live_ones(client, settings):
    import datetime

    from django.contrib.sessions.models import Session
    from django.test import Client
    from django.utils import timezone

    from config.celery import app
    from provisioning import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["clear-expired-sessions"]
    assert entry["task"] in app.tasks and tasks.clear_expired_sessions.name == entry["task"]
    InstallerFactory(organization=PartnerOrgFactory())
    assert client.login(username=INSTALLER_EMAIL, password=PASSWORD)
    live = client.session.session_key
    stale = Client()
    assert stale.login(username=INSTALLER_EMAIL, password=PASSWORD)
    Session.objects.filter(pk=stale.session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1))

    tasks.clear_expired_sessions.apply().get()  # as a worker runs it

    assert list(Session.objects.values_list("pk", flat=True)) == [live]
    assert client.get("/my/orders/").status_code == 200
