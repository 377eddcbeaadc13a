"""History rows are append-only in the database too: an UPDATE of provisioning_event raises,
whatever wrote it (a queryset .update(), bulk_update, raw SQL). Deleting stays possible, so an
administrator can still delete an order with its history, and deleting a user only clears the
events' actor. PostgreSQL only: SQLite (make run's
default) keeps the model-level guard in Event.save()."""
from django.db import migrations

CREATE = """
CREATE FUNCTION provisioning_event_append_only() RETURNS trigger AS $$
BEGIN
    -- Deleting a user sets the actor of their events to NULL (on_delete=SET_NULL): allowed.
    IF NEW.actor_id IS NULL AND NEW.id = OLD.id
       AND (NEW.order_id, NEW.kind, NEW.at, NEW.note, NEW.data)
           IS NOT DISTINCT FROM (OLD.order_id, OLD.kind, OLD.at, OLD.note, OLD.data) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'provisioning_event is append-only (event %)', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER provisioning_event_no_update BEFORE UPDATE ON provisioning_event
    FOR EACH ROW EXECUTE FUNCTION provisioning_event_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS provisioning_event_no_update ON provisioning_event;
DROP FUNCTION IF EXISTS provisioning_event_append_only();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0003_setup_window_index")]
    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
