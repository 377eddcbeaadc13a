"""Trigram indexes for the admin's order search by a name or email fragment (config/search_indexes.py)."""
from django.db import migrations

from config.search_indexes import trigram_indexes


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_admin_search_indexes")]
    operations = [trigram_indexes("orders_order", {
        "order_customer_trgm_idx": "customer_name",
        "order_partner_trgm_idx": "partner_name",
        "order_contact_trgm_idx": "deployment_contact_email",
    })]
