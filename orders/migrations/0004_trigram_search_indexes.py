"""Trigram indexes for the admin's search by a name or email fragment (`icontains`, which
PostgreSQL runs as UPPER(col::text) LIKE UPPER('%…%')): without them each search scanned every
order (1.1–1.5 s on a million, bench/RESULTS.md). PostgreSQL only; pg_trgm is a trusted
extension, so the database owner may create it. SQLite (`make run`) skips this migration's SQL."""
from django.db import migrations

COLUMNS = {
    "order_customer_trgm_idx": "customer_name",
    "order_partner_trgm_idx": "partner_name",
    "order_contact_trgm_idx": "deployment_contact_email",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in COLUMNS.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON orders_order "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_admin_search_indexes")]
    operations = [migrations.RunPython(create, drop)]
