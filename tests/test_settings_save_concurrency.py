"""The assistant's settings saves under concurrent submits (two tabs, a double click, a deploy in
another tab): real PostgreSQL, real concurrent transactions. One settings row per order, every
submit answered, nothing changed after deployment."""
import threading

import pytest
from django.db import connection, transaction

from config import db
from provisioning import webex_setup
from provisioning.models import CallingSettings, Event, MeetingSettings, Provisioning
from tests.helpers import at_once
from tests.service_helpers import configure, set_up_order

K = 8


def _calling(i):
    return dict(country="FR", time_zone="Europe/Paris", location_name=f"Site {i}",
                main_number=f"+3347800000{i}")


@pytest.mark.django_db(transaction=True)
def test_k_tabs_saving_the_first_calling_settings_at_once_leave_one_row_and_no_error():
    order = set_up_order(["calling"])
    results, errors = at_once(lambda i: webex_setup.save_calling_settings(order, **_calling(i)), K)

    assert errors == []
    rows = list(CallingSettings.objects.filter(order=order))
    assert len(rows) == 1
    assert rows[0].location_name in {f"Site {i}" for i in range(K)}
    saved = Event.objects.filter(order=order, kind=Event.Kind.SETTINGS_SAVED)
    assert saved.count() == K
    # The row holds what the last save recorded in the history.
    assert saved.order_by("-id").first().data["location_name"] == rows[0].location_name


@pytest.mark.django_db(transaction=True)
def test_without_the_row_lock_the_first_saves_would_collide(monkeypatch):
    """The race is real: with the provisioning lock skipped, tabs that all found no row to update
    all insert one, and only the one-row-per-order constraint stops them."""
    order = set_up_order(["meetings"])
    monkeypatch.setattr(webex_setup, "_lock", lambda order: None)
    all_updated = threading.Barrier(K)
    update = db.update_rows

    def update_then_wait(*args):
        rows = update(*args)
        all_updated.wait(timeout=30)
        return rows

    monkeypatch.setattr(webex_setup, "update_rows", update_then_wait)
    _results, errors = at_once(lambda i: webex_setup.save_meeting_settings(
        order, language="fr", time_zone="Europe/Paris", recording_allowed=bool(i % 2),
        guests_allowed=True, join_before_host=False), K)

    assert len(errors) == K - 1 and all("IntegrityError" in error for error in errors)
    assert MeetingSettings.objects.filter(order=order).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_save_racing_the_deploy_lands_before_it_or_is_refused():
    order = configure(set_up_order(["calling"]))
    go = threading.Barrier(2)
    outcome = {}

    def save():
        go.wait(timeout=30)
        try:
            for i in range(20):
                webex_setup.save_calling_settings(order, **_calling(i % 10))
            outcome["save"] = "all saved"
        except webex_setup.ServiceSetupError as error:
            outcome["save"] = error.code
        finally:
            connection.close()

    def deploy():
        go.wait(timeout=30)
        try:
            outcome["deploy"] = webex_setup.deploy(order).started_now
        finally:
            connection.close()

    threads = [threading.Thread(target=save), threading.Thread(target=deploy)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert outcome["deploy"] is True
    assert outcome["save"] in ("all saved", webex_setup.ServiceSetupError.DEPLOYED)
    deployed_at = Provisioning.objects.get(pk=order.pk).deployed_at
    assert CallingSettings.objects.get(order=order).saved_at <= deployed_at
    last_save = (Event.objects.filter(order=order, kind=Event.Kind.SETTINGS_SAVED)
                 .order_by("-id").first())
    deployed = Event.objects.get(order=order, kind=Event.Kind.DEPLOYED)
    assert last_save.id < deployed.id


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_refused_outside_a_transaction_and_holds_inside_one():
    order = set_up_order(["calling"])
    with pytest.raises(transaction.TransactionManagementError):
        webex_setup._lock(order)
    with transaction.atomic():
        assert webex_setup._lock(order).pk == order.pk
        with connection.cursor() as cursor:
            # FOR UPDATE: the table is held in row-share mode, not the plain read's access-share.
            cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                           "WHERE c.relname = %s AND l.mode = 'RowShareLock' "
                           "AND l.pid = pg_backend_pid()", [Provisioning._meta.db_table])
            assert cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_update_rows_prepares_values_as_the_orm_does():
    order = set_up_order(["meetings"])
    webex_setup.save_meeting_settings(order, language="fr", time_zone="Europe/Paris",
                                      recording_allowed=True, guests_allowed=False,
                                      join_before_host=True)
    row = MeetingSettings.objects.get(order=order)
    changed = db.update_rows(MeetingSettings, "order", order.pk,
                             {"recording_allowed": False, "time_zone": "America/Toronto",
                              "saved_at": row.saved_at.replace(microsecond=0)})
    assert changed == 1
    assert db.update_rows(MeetingSettings, "order", order.pk + 10_000, {"language": "en"}) == 0
    row.refresh_from_db()
    assert (row.recording_allowed, row.guests_allowed, row.time_zone) == (False, False,
                                                                          "America/Toronto")
    assert row.saved_at.microsecond == 0
