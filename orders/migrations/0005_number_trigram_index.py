"""A trigram index on the order number, for the rep dashboard's search by a fragment of it
(`number__icontains`, run as UPPER(number::text) LIKE UPPER('%…%')): the varchar_pattern_ops
index only serves a case-sensitive prefix. PostgreSQL only, like 0004."""
from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute("CREATE INDEX IF NOT EXISTS order_number_trgm_idx ON orders_order "
                          "USING gin ((UPPER(number::text)) gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS order_number_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_trigram_search_indexes")]
    operations = [migrations.RunPython(create, drop)]
