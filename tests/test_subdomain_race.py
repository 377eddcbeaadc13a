"""Two organisations saving the same subdomain at the same moment: the database picks one winner,
the others get a clear message. Real PostgreSQL, real concurrent transactions."""
import threading

import pytest

from orgs import subdomains
from orgs.models import Organization
from provisioning import webex_setup
from provisioning.webex_setup import ServiceSetupError
from tests.helpers import at_once
from tests.service_helpers import set_up_order, step_url, sign_in_installer

K = 8
SPELLINGS = ["acme-shop", "ACME-shop", "Acme-Shop", "acme-SHOP", "aCmE-sHoP", "ACME-SHOP",
             "Acme-shop", "acme-Shop"]


@pytest.mark.django_db(transaction=True)
def test_k_orgs_saving_one_name_in_different_letter_cases_leave_one_winner():
    orders = [set_up_order(["messaging"]) for _ in range(K)]
    checked = threading.Barrier(K)
    outcomes = []

    def save(i):
        order, spelling = orders[i], SPELLINGS[i]
        # Every one of them checked availability first and was told "available": the check
        # alone cannot prevent the clash, the race is real.
        outcomes.append(("checked", subdomains.is_available(spelling.lower())))
        checked.wait(timeout=30)
        try:
            webex_setup.reserve_subdomain(order, spelling)
            outcomes.append(("won", order.pk))
        except ServiceSetupError as error:
            outcomes.append(("lost", error.code))

    _, errors = at_once(save, K)

    assert errors == []
    assert [v for k, v in outcomes if k == "checked"] == [True] * K
    winners = [v for k, v in outcomes if k == "won"]
    losers = [v for k, v in outcomes if k == "lost"]
    assert len(winners) == 1
    assert losers == [ServiceSetupError.TAKEN] * (K - 1)
    holders = Organization.objects.filter(subdomain__iexact="acme-shop")
    winner = next(o for o in orders if o.pk == winners[0])
    assert [(org.pk, org.subdomain) for org in holders] == [(winner.customer_org_id, "acme-shop")]


@pytest.mark.django_db(transaction=True)
def test_k_installers_pressing_save_at_once_get_one_success_and_clear_messages(client_factory):
    orders = [set_up_order(["messaging"]) for _ in range(K)]
    for order in orders:
        webex_setup.mark_subscription_reviewed(order)  # so the enterprise step is open
    clients = []
    for order in orders:
        client = client_factory()
        sign_in_installer(client, order)
        clients.append((client, order))

    def post(i):
        (client, order), spelling = clients[i], SPELLINGS[i]
        return client.post(step_url(order, "enterprise"), {"subdomain": spelling, "save": "1"})

    responses, errors = at_once(post, K)

    assert errors == []
    assert sorted(r.status_code for r in responses).count(302) == 1
    losers = [r for r in responses if r.status_code != 302]
    assert len(losers) == K - 1
    for response in losers:
        assert response.status_code in (200, 409)
        body = response.content.decode()
        assert ("This subdomain is already taken." in body
                or "This subdomain was just taken by another organisation." in body)
        assert 'name="pick"' in body  # suggestions to pick from instead
    assert Organization.objects.filter(subdomain__iexact="acme-shop").count() == 1


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client
