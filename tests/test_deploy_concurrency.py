"""Deploy under concurrent POSTs (double clicks, replays, several tabs): real PostgreSQL, real
concurrent transactions. Billing starts exactly once per service; nobody gets an error page."""
import threading

import pytest
from django.test import Client

from provisioning import webex_setup
from provisioning.models import BillingPeriod, Event, OutboundEmail, Provisioning, Status
from tests.factories import InstallerFactory
from tests.helpers import at_once
from tests.service_helpers import set_up_order, step_url

N = 20
K = 6


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_deploy_posts_start_billing_once_per_service():
    order = set_up_order(["calling", "meetings", "messaging"], configured=True)
    installer = InstallerFactory(organization=order.partner_org)
    clients = []
    for i in range(N):
        client = Client()
        if i % 2:
            client.force_login(installer)  # signed-in tabs of one browser each
        else:
            client.force_login(installer) if i == 0 else _share_session(client, clients[0])
        clients.append(client)

    results, errors = at_once(lambda i: clients[i].post(step_url(order, "deploy")), N)

    assert errors == []
    deployed_url = f"/orders/{order.number}/services/deployed/"
    assert sorted({(r.status_code, r.url) for r in results}) == [(302, deployed_url)]
    assert len(results) == N
    periods = BillingPeriod.objects.filter(subscription__order=order)
    assert sorted(periods.values_list("service", flat=True)) == ["calling", "meetings", "messaging"]
    assert Event.objects.filter(order=order, kind=Event.Kind.DEPLOYED).count() == 1
    assert OutboundEmail.objects.filter(order=order, kind=OutboundEmail.Kind.DEPLOYED).count() == 1
    assert Provisioning.objects.get(pk=order.pk).status == Status.DEPLOYED


@pytest.mark.django_db(transaction=True)
def test_without_the_row_lock_concurrent_deploys_would_collide(monkeypatch):
    """The race is real: with the lock and the deployed check skipped, concurrent deploys all
    try to start billing, and only the unique constraint stops the duplicates."""
    order = set_up_order(["calling", "meetings"], configured=True)

    class NoLock:
        def __init__(self, manager):
            self.manager = manager

        def select_for_update(self, **kwargs):
            return self.manager

        def __getattr__(self, name):
            return getattr(self.manager, name)

    real = Provisioning.objects
    monkeypatch.setattr(Provisioning, "objects", NoLock(real))
    # Every deploy has read "not deployed yet" before any of them goes on to bill.
    all_checked = threading.Barrier(K)
    check = webex_setup.missing_before_deploy

    def missing_then_wait(order):
        missing = check(order)
        all_checked.wait(timeout=30)
        return missing

    monkeypatch.setattr(webex_setup, "missing_before_deploy", missing_then_wait)
    results, errors = at_once(lambda i: webex_setup.deploy(order), K)
    monkeypatch.setattr(Provisioning, "objects", real)

    # One billed; the K-1 others tried to bill again and only the unique constraint stopped them.
    assert len([r for r in results if r is not None]) == 1
    assert len(errors) == K - 1 and all("IntegrityError" in error for error in errors)
    assert BillingPeriod.objects.filter(subscription__order=order).count() == 2


def _share_session(client, first):
    """Another tab of the same browser: the same session cookie."""
    client.cookies = first.cookies
