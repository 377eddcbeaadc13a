"""Order numbers with slashes, which the import accepts ("CCW/2026/7"): every page of the order
can be linked (a slash is written `~` in URLs), and a rep dashboard listing one still opens."""
import datetime
import re

import pytest
import time_machine
from django.urls import resolve, reverse

from orders.validation import ORDER_NUMBER_RE
from provisioning import jobs, links
from provisioning.models import Event, SetupLink
from tests.factories import EmailedOrderFactory, InstallerFactory, OrderFactory, RepFactory
from tests.helpers import local
from tests.service_helpers import set_up_order

pytestmark = pytest.mark.django_db

NUMBER = "CCW/2026/7"
TODAY = datetime.date(2026, 12, 10)
NOW = local(TODAY, 10)


@pytest.mark.parametrize("name, args", [
    ("onboarding:setup", [NUMBER]), ("onboarding:setup_done", [NUMBER]),
    ("onboarding:service_resume", [NUMBER]), ("onboarding:service_step", [NUMBER, "calling"]),
    ("provisioning:resend", [NUMBER]), ("provisioning:reopen", [NUMBER]),
])
def test_every_page_of_an_order_reverses_and_resolves_back_to_its_number(name, args):
    url = reverse(name, args=args)
    assert "CCW~2026~7" in url and "CCW/" not in url
    assert resolve(url).kwargs["number"] == NUMBER


def test_the_mark_cannot_be_part_of_an_imported_number():
    assert ORDER_NUMBER_RE.match(NUMBER) and not ORDER_NUMBER_RE.match("CCW~2026~7")


def test_a_rep_dashboard_listing_such_an_order_opens_and_its_actions_work(client, mailoutbox):
    rep = RepFactory()
    with time_machine.travel(NOW, tick=False):
        order = EmailedOrderFactory(number=NUMBER, account_rep=rep,
                                    requested_start_date=TODAY - datetime.timedelta(days=6))
        plain = EmailedOrderFactory(number="CCW-10000006", account_rep=rep,
                                    requested_start_date=TODAY - datetime.timedelta(days=6))
        jobs.flag_stalled_provisioning(NOW)
        client.force_login(rep)
        page = client.get("/reps/stalled/")
        assert page.status_code == 200
        html = page.content.decode()
        for number, written in ((NUMBER, "CCW~2026~7"), (plain.number, plain.number)):
            for name in ("resend", "change_contact", "contacted"):
                assert f'href="{reverse(f"provisioning:{name}", args=[number])}?next=' in html
            assert f'/reps/orders/{written}/resend/' in html
        assert f'href="/admin/orders/order/{order.pk}/change/"' in html

        resend = re.search(r'href="(/reps/orders/CCW~2026~7/resend/)\?', html).group(1)
        assert client.get(resend).status_code == 200
        response = client.post(resend, {"next": "/reps/stalled/"})
        assert response.status_code == 302
        assert Event.objects.get(order=order, kind=Event.Kind.RESENT).actor == rep


def test_its_partner_reaches_the_service_setup(client):
    order = set_up_order(["calling"], number=NUMBER)
    client.force_login(InstallerFactory(organization=order.partner_org))
    response = client.get(reverse("onboarding:service_resume", args=[NUMBER]))
    assert response.status_code == 302
    assert response["Location"] == "/orders/CCW~2026~7/services/subscription/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and NUMBER in page.content.decode()


def test_its_setup_link_opens_the_wizard(client):
    order = OrderFactory(number=NUMBER)
    token = links.issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    response = client.get(f"/setup/{token}/")
    assert response.status_code == 302 and response["Location"] == "/setup/orders/CCW~2026~7/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and NUMBER in page.content.decode()
