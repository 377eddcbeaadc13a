"""Deploy and start billing (provisioning/webex_setup.py and the Deploy step)."""
import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from provisioning import webex_setup
from provisioning.webex_setup import ServiceSetupError
from provisioning.models import (BillingPeriod, Event, OutboundEmail, Provisioning, SetupMode,
                                 Status, Subscription)
from tests.factories import InstallerFactory
from tests.service_helpers import (INSTALLER, PARTNER_CONTACT, configure, set_up_order,
                                   step_url, sign_in_installer)

pytestmark = pytest.mark.django_db


def test_deploy_starts_billing_for_every_purchased_service():
    order = set_up_order(["calling", "meetings", "messaging"], configured=True)
    result = webex_setup.deploy(order)
    assert result.started_now
    subscription = Subscription.objects.get(order=order)
    assert subscription.activated_at is not None
    periods = BillingPeriod.objects.filter(subscription=subscription)
    assert sorted(p.service for p in periods) == ["calling", "meetings", "messaging"]
    assert {p.started_at for p in periods} == {subscription.activated_at}
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.status == Status.DEPLOYED
    assert provisioning.deployed_at == subscription.activated_at
    event = Event.objects.get(order=order, kind=Event.Kind.DEPLOYED)
    assert event.data == {"subscription": subscription.subscription_id,
                          "services": ["calling", "meetings", "messaging"]}


def test_deploying_again_changes_nothing():
    order = set_up_order(["calling"], configured=True)
    first = webex_setup.deploy(order)
    second = webex_setup.deploy(order)
    assert not second.started_now
    assert second.provisioning.deployed_at == first.provisioning.deployed_at
    assert BillingPeriod.objects.filter(subscription__order=order).count() == 1
    assert Event.objects.filter(order=order, kind=Event.Kind.DEPLOYED).count() == 1
    assert OutboundEmail.objects.filter(order=order, kind=OutboundEmail.Kind.DEPLOYED).count() == 1


def test_the_database_refuses_a_second_billing_start_for_a_service():
    order = set_up_order(["calling"], configured=True)
    webex_setup.deploy(order)
    subscription = Subscription.objects.get(order=order)
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingPeriod.objects.create(subscription=subscription, service="calling",
                                     started_at=timezone.now())


def test_deploy_is_refused_until_every_step_is_done():
    order = set_up_order(["calling", "meetings"])
    webex_setup.mark_subscription_reviewed(order)
    with pytest.raises(ServiceSetupError) as error:
        webex_setup.deploy(order)
    assert error.value.code == ServiceSetupError.INCOMPLETE
    assert error.value.missing == ["calling", "meetings", "enterprise"]
    assert not BillingPeriod.objects.exists()
    assert Provisioning.objects.get(pk=order.pk).status == Status.SET_UP


def test_deploy_is_refused_when_the_setup_window_closed():
    order = set_up_order(["messaging"], configured=True)
    Provisioning.objects.filter(pk=order.pk).update(status=Status.CLOSED)
    with pytest.raises(ServiceSetupError) as error:
        webex_setup.deploy(order)
    assert error.value.code == ServiceSetupError.CLOSED
    assert not BillingPeriod.objects.exists()


def test_settings_cannot_change_after_deployment():
    order = set_up_order(["calling"], configured=True)
    webex_setup.deploy(order)
    with pytest.raises(ServiceSetupError) as error:
        webex_setup.save_calling_settings(order, country="FR", time_zone="Europe/Paris",
                                       location_name="x", main_number="+33478000001")
    assert error.value.code == ServiceSetupError.DEPLOYED
    with pytest.raises(ServiceSetupError):
        webex_setup.reserve_subdomain(order, "another-name")


def test_the_installer_gets_a_confirmation_email(mailoutbox, django_capture_on_commit_callbacks,
                                                  settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    order = set_up_order(["calling", "meetings"], configured=True)
    with django_capture_on_commit_callbacks(execute=True):
        webex_setup.deploy(order)
    assert [m.to for m in mailoutbox] == [[INSTALLER]]
    message = mailoutbox[0]
    subscription = Subscription.objects.get(order=order)
    assert message.subject == f"Webex is deployed for Boulangerie Martin (order {order.number})"
    assert subscription.subscription_id in message.body
    assert f"site-{order.pk}.webex.com" in message.body
    assert "https://onboarding.example/my/orders/" in message.body
    assert "billing has started" in message.alternatives[0][0]


def test_on_the_customer_led_path_the_partner_is_told_too(mailoutbox,
                                                          django_capture_on_commit_callbacks,
                                                          settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    order = set_up_order(["messaging"], mode=SetupMode.CUSTOMER,
                         installer_email="admin@boulangerie.example", configured=True)
    with django_capture_on_commit_callbacks(execute=True):
        webex_setup.deploy(order)
    recipients = sorted(m.to[0] for m in mailoutbox)
    assert recipients == ["admin@boulangerie.example", PARTNER_CONTACT]
    to_partner = next(m for m in mailoutbox if m.to == [PARTNER_CONTACT])
    assert "As the customer did the setup" in to_partner.body
    assert "/my/orders/" not in to_partner.body  # the partner has no access to it


def test_the_confirmation_is_in_the_order_s_language(mailoutbox, django_capture_on_commit_callbacks,
                                                     settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    order = set_up_order(["messaging"], language="fr", configured=True)
    with django_capture_on_commit_callbacks(execute=True):
        webex_setup.deploy(order)
    assert mailoutbox[0].subject.startswith("Webex est déployé pour Boulangerie Martin")
    assert "la facturation a commencé" in mailoutbox[0].body


def test_a_rolled_back_deploy_sends_nothing_and_bills_nothing():
    order = set_up_order(["messaging"], configured=True)
    with pytest.raises(RuntimeError), transaction.atomic():
        webex_setup.deploy(order)
        raise RuntimeError("the request failed after deploy")
    assert not BillingPeriod.objects.exists()
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.DEPLOYED).exists()
    assert Provisioning.objects.get(pk=order.pk).deployed_at is None


# --- Through the Deploy page -----------------------------------------------------------------------

def test_the_deploy_page_summarises_everything_configured(client):
    order = configure(set_up_order(["calling", "meetings"]), subdomain="martin")
    sign_in_installer(client, order)
    html = client.get(step_url(order, "deploy")).content.decode()
    for expected in ["+33478000000", "Lyon", "Europe/Paris", "France", "martin.webex.com",
                     "A-WX-CALL", "A-WX-MEET", order.subscription.subscription_id, ">Deploy</button>"]:
        assert expected in html, expected


def test_pressing_deploy_twice_starts_billing_once(client):
    order = configure(set_up_order(["calling", "meetings"]), subdomain="martin")
    sign_in_installer(client, order)
    first = client.post(step_url(order, "deploy"))
    replay = client.post(step_url(order, "deploy"))
    deployed_url = f"/orders/{order.number}/services/deployed/"
    assert (first.status_code, first.url) == (302, deployed_url)
    assert (replay.status_code, replay.url) == (302, deployed_url)
    assert BillingPeriod.objects.filter(subscription__order=order).count() == 2
    html = client.get(deployed_url).content.decode()
    assert "Your services are deployed" in html and "martin.webex.com" in html


def test_after_deployment_every_step_leads_to_the_deployed_page(client):
    order = configure(set_up_order(["calling"]), subdomain="martin")
    webex_setup.deploy(order)
    sign_in_installer(client, order)
    for step in ["subscription", "calling", "enterprise", "deploy"]:
        response = client.get(step_url(order, step))
        assert response.url == f"/orders/{order.number}/services/deployed/"
    assert client.get(f"/orders/{order.number}/services/", follow=True).redirect_chain[-1][0] == \
        f"/orders/{order.number}/services/deployed/"


def test_a_signed_in_installer_is_recorded_as_the_actor(client):
    order = configure(set_up_order(["messaging"]))
    installer = InstallerFactory(organization=order.partner_org)
    client.force_login(installer)
    client.post(step_url(order, "deploy"))
    assert Event.objects.get(order=order, kind=Event.Kind.DEPLOYED).actor == installer


def test_a_closed_order_says_so_on_every_step_and_deploys_nothing(client):
    order = configure(set_up_order(["messaging"]), subdomain="martin")
    Provisioning.objects.filter(pk=order.pk).update(status=Status.CLOSED)
    sign_in_installer(client, order)
    for step in ["subscription", "enterprise", "deploy"]:
        assert "The setup window of this order has closed" in client.get(
            step_url(order, step)).content.decode()
    response = client.post(step_url(order, "deploy"))
    assert response.status_code == 409
    assert "Contact your account representative to re-open it." in response.content.decode()
    assert not BillingPeriod.objects.exists()


# --- Who may deploy ---------------------------------------------------------------------------------

def test_a_member_who_is_not_an_administrator_cannot_deploy(client):
    from orgs.models import Membership

    order = configure(set_up_order(["calling"]), subdomain="martin")
    sign_in_installer(client, order, role=Membership.Role.MEMBER)
    html = client.get(step_url(order, "deploy")).content.decode()
    assert "Only an administrator of the order's organisation can deploy" in html
    assert client.post(step_url(order, "deploy")).status_code == 403
    assert not BillingPeriod.objects.exists()


def test_deploy_asks_for_the_password_again_after_a_while_and_records_who_deployed(
        client, settings):
    import time_machine

    order = configure(set_up_order(["calling"]), subdomain="martin")
    with time_machine.travel(timezone.now() - timezone.timedelta(seconds=settings.REAUTHENTICATE_AFTER + 60)):
        admin = sign_in_installer(client, order)
    html = client.get(step_url(order, "deploy")).content.decode()
    assert 'name="password"' in html

    refused = client.post(step_url(order, "deploy"))                    # no password
    assert refused.status_code == 400 and not BillingPeriod.objects.exists()
    refused = client.post(step_url(order, "deploy"), {"password": "not-my-password"})
    assert refused.status_code == 400 and "This password is not correct." in refused.content.decode()
    assert not BillingPeriod.objects.exists()

    response = client.post(step_url(order, "deploy"), {"password": "correct-horse-battery"})
    assert response.status_code == 302
    assert Event.objects.get(order=order, kind=Event.Kind.DEPLOYED).actor == admin
    assert BillingPeriod.objects.filter(subscription__order=order).count() == 1


def test_a_fresh_sign_in_deploys_without_asking_again(client):
    order = configure(set_up_order(["calling"]), subdomain="martin")
    admin = sign_in_installer(client, order)
    assert 'name="password"' not in client.get(step_url(order, "deploy")).content.decode()
    assert client.post(step_url(order, "deploy")).status_code == 302
    assert Event.objects.get(order=order, kind=Event.Kind.DEPLOYED).actor == admin
