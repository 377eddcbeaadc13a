"""The Set up now link (spec step 3): what opening it does, and the page of each link that
cannot open the wizard."""
import datetime

import pytest
from django.utils import timezone

from provisioning.models import Event, OutboundEmail, Provisioning, SetupLink, Status
from provisioning.links import issue_link
from tests.factories import OrderFactory
from tests.wizard_helpers import current_step, done_url, open_link, setup_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    return OrderFactory()


def state(order):
    provisioning = Provisioning.objects.filter(pk=order.pk).values().get()
    provisioning.pop("updated_at")
    return (provisioning, Event.objects.count(), SetupLink.objects.filter(superseded_at=None).count(),
            OutboundEmail.objects.count())


def test_opening_the_link_takes_the_token_out_of_the_address_bar(client, order):
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    redirect = client.get(f"/setup/{raw}/")
    assert redirect.status_code == 302 and redirect["Location"] == setup_url(order)
    assert redirect["Referrer-Policy"] == "no-referrer"  # the token never leaves in a Referer
    response = client.get(setup_url(order))
    assert current_step(response) == "role"
    assert raw not in response.content.decode()
    assert response["Referrer-Policy"] == "same-origin" and response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", ["get", "head"])
def test_opening_the_link_changes_nothing(client, order, method):
    """Mail security scanners fetch links before people do."""
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    before = state(order)
    getattr(client, method)(f"/setup/{raw}/")
    client.get(setup_url(order))
    assert state(order) == before
    assert Provisioning.objects.get(pk=order.pk).setup_begun_at is None


def test_an_unknown_link_says_it_is_not_valid(client, order):
    response = client.get("/setup/" + "x" * 43 + "/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This link is not valid" in html and order.number not in html


def test_a_superseded_link_says_where_the_newer_one_went(client, order):
    first = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    issue_link(order, "nora.newcontact@partner.example", SetupLink.Purpose.DEPLOYMENT)
    response = client.get(f"/setup/{first}/")
    assert response.status_code == 410
    html = response.content.decode()
    assert "A newer setup link was sent" in html and "n•••@partner.example" in html
    assert "nora.newcontact" not in html
    assert "ask your account representative" in html


def test_an_expired_link_says_when_the_window_closed_and_whom_to_ask(client, order, time_machine):
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    closes = order.provisioning.window_closes_at
    time_machine.move_to(closes + datetime.timedelta(hours=1))
    response = client.get(f"/setup/{raw}/")
    assert response.status_code == 410
    html = response.content.decode()
    assert "The setup window has closed" in html
    assert closes.astimezone(timezone.get_current_timezone()).strftime("%Y") in html
    assert order.account_rep.email in html and "re-open" in html


def test_a_closed_order_is_expired_too(client, order):
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    Provisioning.objects.filter(pk=order.pk).update(status=Status.CLOSED)
    assert client.get(f"/setup/{raw}/").status_code == 410


def test_a_deployed_order_link_says_so_and_offers_sign_in(client, order):
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    Provisioning.objects.filter(pk=order.pk).update(deployed_at=timezone.now(),
                                                    status=Status.DEPLOYED)
    html = client.get(f"/setup/{raw}/").content.decode()
    assert "This order is already deployed" in html and "/my/orders/" in html


def test_the_wizard_without_a_link_asks_to_open_the_email(client, order):
    for url in ("/setup/", setup_url(order), done_url(order)):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Set up now" in response.content.decode()


def test_a_link_superseded_while_the_wizard_is_open_stops_it(client, order):
    open_link(client, order)
    issue_link(order, "nora.newcontact@partner.example", SetupLink.Purpose.DEPLOYMENT)
    response = client.post(setup_url(order), {f"setup_{order.pk}-current_step": "role",
                                              "role-role": "partner"})
    assert response.status_code == 410
    assert Provisioning.objects.get(pk=order.pk).setup_begun_at is None


def test_repeated_unknown_links_are_rate_limited_but_a_valid_link_still_opens(client, order):
    address = {"REMOTE_ADDR": "203.0.113.77"}
    statuses = [client.get(f"/setup/{'y' * 40}{n:03d}/", **address).status_code for n in range(22)]
    assert statuses[:20] == [404] * 20 and statuses[20:] == [429, 429]
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    assert client.get(f"/setup/{raw}/", **address).status_code == 302
    # Another client address is not affected.
    assert client.get(f"/setup/{'y' * 43}/", REMOTE_ADDR="198.51.100.9").status_code == 404


def test_the_link_page_is_in_the_orders_language(client, order):
    order.language = "fr"
    order.save()
    open_link(client, order)
    html = client.get(setup_url(order)).content.decode()
    assert 'lang="fr"' in html and "Suivant" in html
