"""Two organisations saving the same subdomain at the same moment: the database picks one winner,
the others get a clear message. Real PostgreSQL, real concurrent transactions."""
import threading

import pytest
from django.db import connection

from orgs import subdomains
from orgs.models import Organization
from provisioning import webex_setup
from provisioning.webex_setup import ServiceSetupError
from tests.service_helpers import set_up_order, step_url, sign_in_installer

K = 8
SPELLINGS = ["acme-shop", "ACME-shop", "Acme-Shop", "acme-SHOP", "aCmE-sHoP", "ACME-SHOP",
             "Acme-shop", "acme-Shop"]


def run_in_threads(targets):
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)


@pytest.mark.django_db(transaction=True)
def test_k_orgs_saving_one_name_in_different_letter_cases_leave_one_winner():
    orders = [set_up_order(["messaging"]) for _ in range(K)]
    checked = threading.Barrier(K)
    outcomes, errors = [], []

    def save(order, spelling):
        def work():
            try:
                # Every one of them checked availability first and was told "available":
                # the check alone cannot prevent the clash, the race is real.
                outcomes.append(("checked", subdomains.is_available(spelling.lower())))
                checked.wait(timeout=30)
                webex_setup.reserve_subdomain(order, spelling)
                outcomes.append(("won", order.pk))
            except ServiceSetupError as error:
                outcomes.append(("lost", error.code))
            except Exception as error:  # pragma: no cover - shown in the assertion
                errors.append(repr(error))
            finally:
                connection.close()
        return work

    run_in_threads([save(order, spelling) for order, spelling in zip(orders, SPELLINGS)])

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
    responses, errors = [], []

    def post(client, order, spelling):
        def work():
            try:
                responses.append(client.post(step_url(order, "enterprise"),
                                             {"subdomain": spelling, "save": "1"}))
            except Exception as error:  # pragma: no cover
                errors.append(repr(error))
            finally:
                connection.close()
        return work

    run_in_threads([post(c, o, s) for (c, o), s in zip(clients, SPELLINGS)])

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
