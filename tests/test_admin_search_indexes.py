"""The admin's search by a name or email fragment is served by trigram indexes, not a scan of
every order (bench/RESULTS.md measured 1.1–1.5 s per search on a million orders without them)."""
import pytest
from django.db import connection

from orders.models import Order
from orders.selectors import search_orders
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def plan_of(queryset):
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # A test table is tiny, so the planner would scan it anyway: forbid the scan to see
        # whether an index can serve the query at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_name_fragment_search_uses_the_trigram_indexes():
    OrderFactory(customer_name="Boulangerie Martin")
    plan = plan_of(search_orders(Order.objects.all(), "langerie"))
    for index in ("order_customer_trgm_idx", "order_partner_trgm_idx", "order_contact_trgm_idx"):
        assert index in plan, plan
    assert "Seq Scan on orders_order" not in plan


def test_a_whole_address_search_uses_the_contact_index_not_a_scan():
    OrderFactory(deployment_contact_email="Deploy@Partner.example")
    plan = plan_of(search_orders(Order.objects.all(), " DEPLOY@partner.example "))
    assert "order_contact_lower_idx" in plan and "Seq Scan on orders_order" not in plan, plan


def test_the_fragment_search_still_finds_orders_whatever_the_case():
    order = OrderFactory(customer_name="Boulangerie Martin")
    OrderFactory(customer_name="Fromagerie Dupont")
    found = search_orders(Order.objects.all(), "LANGERIE mar")
    assert list(found) == [order]


@pytest.mark.parametrize("model_label, term, indexes", [
    ("orgs.User", "camille", ["user_email_trgm_idx", "user_full_name_trgm_idx"]),
    ("orgs.Organization", "langerie",
     ["org_name_trgm_idx", "org_external_id_trgm_idx", "org_subdomain_trgm_idx"]),
])
def test_the_user_and_organisation_searches_use_trigram_indexes(admin_client, model_label, term,
                                                                 indexes):
    from django.apps import apps
    from django.contrib import admin
    from django.test import RequestFactory

    model = apps.get_model(model_label)
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/", {"q": term})
    found, _duplicates = model_admin.get_search_results(request, model.objects.all(), term)
    plan = plan_of(found)
    for index in indexes:
        assert index in plan, plan
    assert f"Seq Scan on {model._meta.db_table}" not in plan
