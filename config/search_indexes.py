"""Trigram indexes for the admin's search by fragment on large tables: Django's `icontains` runs
as UPPER(col::text) LIKE UPPER('%…%'), which a btree cannot serve, so each search scanned the
whole table (1.1–1.5 s on a million orders, bench/RESULTS.md). PostgreSQL only; pg_trgm is a
trusted extension, so the database owner may create it. SQLite (`make run`) skips them."""
from django.db import migrations


def trigram_indexes(table, columns):
    """A migration operation creating (and on reverse dropping) {index name: column} on table."""

    def create(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in columns.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                                  f"USING gin ((UPPER({column}::text)) gin_trgm_ops)")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name in columns:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    return migrations.RunPython(create, drop)
