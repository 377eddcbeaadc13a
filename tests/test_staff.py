"""Staff: the idle timeout of staff sessions, reps created inactive by the import, and who may
change an order's deployment contact (the previous contact is told)."""
import datetime
import json
import subprocess
import sys

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from orders.models import Order
from orders.services import create_api_key
from orgs.models import User
from provisioning.models import OutboundEmail
from tests.factories import (OUTSIDER_EMAIL, PASSWORD, InstallerFactory, OrderFactory, PartnerOrgFactory,
                             RepFactory, UserFactory)
from tests.test_import import SPEC_ORDER
from tests.test_settings import ROOT, clean_environ

pytestmark = pytest.mark.django_db


def signed_in(email):
    client = Client()
    assert client.post("/accounts/login/", {"username": email, "password": PASSWORD}).status_code == 302
    return client


# --- Idle timeout ----------------------------------------------------------------------------

@pytest.fixture
def clock(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    return time_machine


def test_a_staff_session_idle_longer_than_the_timeout_is_signed_out(clock):
    rep = RepFactory()
    browser = signed_in(rep.email)
    assert browser.get("/reps/stalled/").status_code == 200
    clock.shift(datetime.timedelta(minutes=31))

    response = browser.get("/reps/stalled/?everyone=on")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/reps/stalled/%3Feveryone%3Don"
    page = browser.get(response["Location"]).content.decode()
    assert "You were signed out after 30 minutes without activity" in page
    assert "_auth_user_id" not in browser.session
    assert browser.get("/reps/stalled/").status_code == 302  # not merely one page refused


def test_a_busy_staff_session_stays_open_past_the_timeout(clock):
    rep = RepFactory()
    browser = signed_in(rep.email)
    for _ in range(6):  # two hours, a page every twenty minutes
        clock.shift(datetime.timedelta(minutes=20))
        assert browser.get("/reps/stalled/").status_code == 200


def test_the_admin_times_out_too_and_a_post_is_not_carried_out(clock):
    superuser = UserFactory(email="root@vendor.example", is_staff=True, is_superuser=True)
    browser = signed_in(superuser.email)
    order = OrderFactory()
    clock.shift(datetime.timedelta(minutes=45))

    response = browser.post(f"/reps/orders/{order.number}/contact/",
                            {"email": "marc@partner.example"})

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert Order.objects.get(pk=order.pk).deployment_contact_email == order.deployment_contact_email


def test_a_partner_keeps_the_normal_session_length(clock):
    partner = InstallerFactory(organization=PartnerOrgFactory())
    browser = signed_in(partner.email)
    clock.shift(datetime.timedelta(hours=8))
    assert browser.get("/my/orders/").status_code == 200


def test_the_timeout_comes_from_the_environment():
    env = dict(clean_environ(), STAFF_IDLE_TIMEOUT="5", DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "-c", "import django; django.setup(); from django.conf "
                             "import settings; print(settings.STAFF_IDLE_TIMEOUT.total_seconds())"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "300.0", result.stderr


# --- Reps created by the import ----------------------------------------------------------------

def test_a_rep_named_by_an_api_caller_cannot_sign_in_until_an_admin_activates_them(admin_client,
                                                                                  mailoutbox):
    _key, raw = create_api_key("Ordering system")
    body = dict(SPEC_ORDER, account_rep_email=OUTSIDER_EMAIL)
    assert Client().post("/api/orders", json.dumps(body), content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 201
    rep = User.objects.get(email=OUTSIDER_EMAIL)
    rep.set_password(PASSWORD)  # even with a password (given by mistake), no sign-in
    rep.save()

    refused = Client().post("/accounts/login/", {"username": rep.email, "password": PASSWORD})
    assert refused.status_code == 200 and "_auth_user_id" not in refused.client.session
    Client().post("/accounts/password_reset/", {"email": rep.email})
    assert mailoutbox == []  # nor a way to choose a password

    listing = admin_client.get("/admin/orgs/user/", {"is_active__exact": "0"}).content.decode()
    assert OUTSIDER_EMAIL in listing
    assert "Inactive: cannot sign in until activated" in listing

    done = admin_client.post("/admin/orgs/user/", {"action": "activate",
                                                   "_selected_action": [rep.pk]}, follow=True)
    assert "1 account activated" in done.content.decode()
    assert signed_in(rep.email).get("/reps/stalled/").status_code == 200


def test_the_activate_action_speaks_french(admin_client):
    rep = RepFactory(is_active=False)
    admin_client.cookies["django_language"] = "fr"
    page = admin_client.get("/admin/orgs/user/").content.decode()
    assert "Activer les comptes sélectionnés" in page
    assert "Inactif" in page
    done = admin_client.post("/admin/orgs/user/", {"action": "activate", "_selected_action": [rep.pk]},
                             follow=True)
    assert "1 compte activé" in done.content.decode()


# --- Who may change the deployment contact ------------------------------------------------------

def test_a_rep_of_another_order_is_refused_with_403_and_nothing_changes():
    order = OrderFactory()
    other_rep = RepFactory()
    browser = signed_in(other_rep.email)
    url = f"/reps/orders/{order.number}/contact/"

    response = browser.post(url, {"email": OUTSIDER_EMAIL})

    assert response.status_code == 403
    assert (f"Only the account representative of order {order.number}, or an administrator, may "
            "change its deployment contact.") in response.content.decode()
    assert Order.objects.get(pk=order.pk).deployment_contact_email == "webex-deploy@partner.example"
    assert not OutboundEmail.objects.exists()
    assert browser.get(url).status_code == 403  # no form to fill either


def test_the_orders_rep_changes_the_contact_and_the_previous_contact_is_told():
    order = OrderFactory(language="fr")
    browser = signed_in(order.account_rep.email)

    response = browser.post(f"/reps/orders/{order.number}/contact/", {"email": "marc@partner.example"})

    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).deployment_contact_email == "marc@partner.example"
    notice = OutboundEmail.objects.get(kind=OutboundEmail.Kind.CONTACT_CHANGED_NOTICE)
    assert notice.to == "webex-deploy@partner.example" and notice.order_id == order.pk
    assert order.number in notice.subject
    for body in (notice.body_text, notice.body_html):
        assert "ne fonctionne plus" in body  # the link they had no longer works
        assert order.account_rep.email in body  # whom to contact
        assert "marc@partner.example" not in body  # the new contact is not disclosed


def test_the_notice_in_english_says_the_link_no_longer_works():
    order = OrderFactory(language="en")
    signed_in(order.account_rep.email).post(f"/reps/orders/{order.number}/contact/",
                                            {"email": "marc@partner.example"})
    notice = OutboundEmail.objects.get(kind=OutboundEmail.Kind.CONTACT_CHANGED_NOTICE)
    assert "the Set up now link you received no longer works" in notice.body_text
    assert f"contact the account representative: {order.account_rep.email}" in notice.body_text


def test_a_superuser_changes_any_orders_contact():
    order = OrderFactory()
    UserFactory(email="root@vendor.example", is_staff=True, is_superuser=True)
    response = signed_in("root@vendor.example").post(f"/reps/orders/{order.number}/contact/",
                                                     {"email": "marc@partner.example"})
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).deployment_contact_email == "marc@partner.example"


def test_in_admin_a_rep_with_the_permission_is_refused_another_reps_order():
    mine, theirs = OrderFactory(), OrderFactory()
    rep = mine.account_rep
    rep.user_permissions.add(*Permission.objects.filter(
        codename__in=["change_provisioning", "view_order", "change_order"]))
    browser = signed_in(rep.email)

    page = browser.post("/admin/orders/order/", {
        "action": "change_deployment_contact", "_selected_action": [mine.pk, theirs.pk],
        "post": "yes", "email": "marc@partner.example"}, follow=True).content.decode()

    assert f"Only the account representative of order {theirs.number}" in page
    contacts = dict(Order.objects.values_list("pk", "deployment_contact_email"))
    assert contacts == {mine.pk: "marc@partner.example", theirs.pk: "webex-deploy@partner.example"}
    assert list(OutboundEmail.objects.filter(kind=OutboundEmail.Kind.CONTACT_CHANGED_NOTICE)
                .values_list("order_id", flat=True)) == [mine.pk]
