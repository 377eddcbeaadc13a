"""The hot look-ups (config/db.py) are planned once per database connection: what an operator
would see in pg_prepared_statements, and what must never break, a rolled back transaction, a
failed statement, a new connection, another thread's connection."""
import threading

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from config.db import _prepared_form, execute_prepared
from provisioning import links
from provisioning.models import SetupLink
from tests.factories import OrderFactory


def _link():
    order = OrderFactory()
    links.issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    return order, order.setup_links.get()


def _prepared_here():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def _look_up(link, order):
    found = links.link_for_order(link.pk, order.number)
    assert found is not None and found.pk == link.pk and found.order.number == order.number
    return found


@pytest.mark.django_db
def test_a_look_up_is_prepared_once_then_executed_by_name():
    order, link = _link()
    other, other_link = _link()
    with CaptureQueriesContext(connection) as first:
        _look_up(link, order)
    with CaptureQueriesContext(connection) as second:
        _look_up(other_link, other)
    prepared = _prepared_here()
    names = [name for name, statement in prepared.items()
             if SetupLink._meta.db_table in statement and "$2" in statement]
    assert len(names) == 1, prepared
    # One round trip a look-up, the second one by name with its own values.
    assert len(first.captured_queries) == len(second.captured_queries) == 1
    assert second.captured_queries[0]["sql"].startswith(f"EXECUTE {names[0]}(")
    assert other.number in second.captured_queries[0]["sql"]
    assert links.link_for_order(link.pk, other.number) is None


def _find_number(cursor, sql, number):
    execute_prepared(cursor, sql, [number, 0])
    return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_keeps_the_statement_and_a_failed_prepare_is_retried():
    order, link = _link()
    # Prepared for the first time inside a transaction that is rolled back: still there after.
    sql = 'SELECT "number" FROM "orders_order" WHERE "number" = %s AND "id" > %s'
    name = _prepared_form(sql)[0]
    connection.close()
    with pytest.raises(RuntimeError):
        with transaction.atomic(), connection.cursor() as cursor:
            assert _find_number(cursor, sql, order.number) == [(order.number,)]
            raise RuntimeError("the request failed after its look-up")
    assert name in _prepared_here()
    with connection.cursor() as cursor:
        assert _find_number(cursor, sql, order.number) == [(order.number,)]

    # On a new connection, inside a transaction PostgreSQL has already aborted, the PREPARE
    # fails as any query would; once that transaction is gone, the statement is prepared.
    connection.close()
    with pytest.raises(DatabaseError):
        with transaction.atomic(), connection.cursor() as cursor:
            with pytest.raises(DatabaseError):
                cursor.execute("SELECT no_such_column FROM orders_order")
            _find_number(cursor, sql, order.number)
    assert name not in _prepared_here()
    with connection.cursor() as cursor:
        assert _find_number(cursor, sql, order.number) == [(order.number,)]
    assert name in _prepared_here()


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_and_each_thread_prepare_their_own():
    order, link = _link()
    _look_up(link, order)
    connection.close()  # as CONN_MAX_AGE or a lost server would
    with CaptureQueriesContext(connection) as queries:
        _look_up(link, order)
    assert len(queries.captured_queries) == 1

    errors = []

    def request():
        try:
            for _ in range(3):
                _look_up(link, order)
        except Exception as exc:  # noqa: BLE001 — reported to the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_only_plain_placeholders_can_be_prepared():
    name, body, count = _prepared_form('SELECT 1 FROM "t" WHERE "a" = %s AND "b" = %s')
    assert body == 'SELECT 1 FROM "t" WHERE "a" = $1 AND "b" = $2' and count == 2
    assert name.startswith("hot_") and name != _prepared_form("SELECT 2")[0]
    with pytest.raises(ValueError):
        _prepared_form("SELECT 1 WHERE name LIKE 'a%%' AND id = %s")
