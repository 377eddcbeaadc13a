"""Trigram indexes for the admin's order search by a name or email fragment (config/search_indexes.py)."""
from django.db import migrations

from config.search_indexes import TrigramExtension, add_on_postgresql, trigram_index


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_admin_search_indexes")]
    operations = [
        TrigramExtension(),  # pg_trgm, on PostgreSQL only (a trusted extension: the owner may)
        add_on_postgresql("orders.Order",
                          trigram_index("customer_name", "order_customer_trgm_idx"),
                          trigram_index("partner_name", "order_partner_trgm_idx"),
                          trigram_index("deployment_contact_email", "order_contact_trgm_idx")),
    ]
