"""Trigram indexes for the admin's search by fragment on large tables: Django's `icontains` runs
as UPPER(col::text) LIKE UPPER('%…%'), which a btree cannot serve, so each search scanned the
whole table. Django builds them: pg_trgm by `TrigramExtension`, each index a `GinIndex` on that
same expression with `OpClass`.

PostgreSQL only, and SQLite (`make run`) must still migrate: the migrations add them through the
schema editor on PostgreSQL and skip them elsewhere. They stay out of the models' Meta.indexes
(and so out of the migration state) on purpose: SQLite rebuilds a table for most field changes,
re-creating every index the state holds, and a GIN index there is a syntax error ("near
gin_trgm_ops")."""
from django.contrib.postgres import operations
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations
from django.db.models import TextField
from django.db.models.functions import Cast, Upper


class TrigramExtension(operations.TrigramExtension):
    """Django's, which skips other databases going forwards but not backwards: unapplying it on
    SQLite failed ("no such table: pg_extension")."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def trigram_index(column, name):
    """A GIN trigram index on UPPER(column::text): what `column__icontains` compares."""
    return GinIndex(OpClass(Upper(Cast(column, TextField())), name="gin_trgm_ops"), name=name)


def add_on_postgresql(model, *indexes):
    """A migration operation adding (and on reverse removing) `indexes` on `model` ("app.Model")
    when the database is PostgreSQL; nothing elsewhere."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for index in indexes:
                schema_editor.add_index(apps.get_model(model), index)

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for index in indexes:
                schema_editor.remove_index(apps.get_model(model), index)

    return migrations.RunPython(forwards, backwards)
