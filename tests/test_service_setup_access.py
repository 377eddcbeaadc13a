"""Who may open an order's service setup: the session's setup link, or a signed-in user whose
organisation manages the order. A partner never reaches a customer-led order, even by URL."""
import pytest

from provisioning.models import SetupMode
from tests.factories import CustomerAdminFactory, CustomerOrgFactory, InstallerFactory, PartnerOrgFactory
from tests.service_helpers import member_of, set_up_order, step_url, with_link

pytestmark = pytest.mark.django_db

STEPS = ["subscription", "calling", "meetings", "enterprise", "deploy"]


def urls(order):
    return ([f"/orders/{order.number}/services/", f"/orders/{order.number}/services/deployed/"]
            + [step_url(order, step) for step in STEPS])


def test_the_partner_installer_signed_in_resumes_their_order(client):
    order = set_up_order()
    installer = InstallerFactory(organization=order.partner_org)
    client.force_login(installer)
    response = client.get(f"/orders/{order.number}/services/")
    assert response.status_code == 302 and response.url == step_url(order, "subscription")
    assert client.get(step_url(order, "subscription")).status_code == 200


def test_a_colleague_in_the_partner_org_may_set_it_up_too(client):
    order = set_up_order(mode=SetupMode.COLLEAGUE)
    client.force_login(member_of(order.partner_org))
    assert client.get(step_url(order, "subscription")).status_code == 200


def test_the_customer_admin_signed_in_may_set_up_their_org_s_order(client):
    order = set_up_order(mode=SetupMode.CUSTOMER)
    client.force_login(CustomerAdminFactory(organization=order.customer_org))
    assert client.get(step_url(order, "subscription")).status_code == 200


def test_a_partner_gets_404_on_every_page_of_a_customer_led_order(client):
    order = set_up_order(mode=SetupMode.CUSTOMER)
    partner_user = member_of(order.partner_org)
    client.force_login(partner_user)
    for url in urls(order):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"subdomain": "stolen", "save": "1"}).status_code in (404, 405), url
    assert order.customer_org.__class__.objects.get(pk=order.customer_org_id).subdomain is None


def test_a_partner_tampering_with_the_order_number_gets_404(client):
    mine = set_up_order()
    theirs = set_up_order(mode=SetupMode.CUSTOMER, partner_org=mine.partner_org)
    other_partner = set_up_order()
    client.force_login(member_of(mine.partner_org))
    assert client.get(step_url(mine, "subscription")).status_code == 200
    assert client.get(step_url(theirs, "subscription")).status_code == 404
    assert client.get(step_url(other_partner, "subscription")).status_code == 404
    assert client.get("/orders/CCW-DOES-NOT-EXIST/services/subscription/").status_code == 404


def test_an_outsider_signed_in_gets_404(client):
    order = set_up_order()
    client.force_login(member_of(PartnerOrgFactory()))
    for url in urls(order):
        assert client.get(url).status_code == 404, url


def test_a_user_without_an_organisation_gets_404(client):
    from tests.factories import UserFactory

    order = set_up_order()
    client.force_login(UserFactory())
    assert client.get(step_url(order, "subscription")).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in_whatever_the_number(client):
    order = set_up_order()
    for url in [step_url(order, "subscription"), "/orders/CCW-NOPE/services/subscription/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")


def test_a_setup_link_alone_opens_no_service_setup(client):
    order = set_up_order()
    with_link(client, order)
    for url in urls(order):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/"), url
    assert client.post(step_url(order, "deploy")).url.startswith("/accounts/login/")
    assert client.get("/services/").url.startswith("/accounts/login/")


def test_a_signed_in_member_opens_only_their_own_orders(client):
    order, other = set_up_order(), set_up_order()
    client.force_login(member_of(order.partner_org))
    assert client.get(step_url(order, "subscription")).status_code == 200
    assert client.get(step_url(other, "subscription")).status_code == 404


def test_an_order_not_set_up_yet_has_no_service_setup(client):
    from tests.factories import OrderFactory

    order = OrderFactory()
    org = PartnerOrgFactory(external_id=order.partner_external_id)
    order.partner_org = org
    order.save()
    client.force_login(member_of(org))
    assert client.get(step_url(order, "subscription")).status_code == 404


def test_service_setup_without_a_link_sends_signed_in_users_to_their_orders(client):
    client.force_login(member_of(PartnerOrgFactory()))
    response = client.get("/services/")
    assert response.status_code == 302 and response.url == "/my/orders/"


def test_a_customer_org_s_admin_does_not_see_another_customer_s_order(client):
    order = set_up_order(mode=SetupMode.CUSTOMER)
    client.force_login(member_of(CustomerOrgFactory()))
    assert client.get(step_url(order, "subscription")).status_code == 404
