"""Celery workers keep their PostgreSQL connection from one task to the next, and replace it
before a task when it broke (a PostgreSQL restart) instead of failing the task."""
import pytest
from celery.signals import task_prerun
from django.db import connection, connections

from config.celery import keep_database_connections
from provisioning.tasks import send_pending_emails

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_connection(settings):
    web_age = connection.settings_dict["CONN_MAX_AGE"]
    keep_database_connections()
    assert connection.settings_dict["CONN_MAX_AGE"] == settings.WORKER_CONN_MAX_AGE
    connection.close()  # the next query connects with the worker's age
    yield
    connection.settings_dict["CONN_MAX_AGE"] = web_age
    connection.close()


def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def between_tasks():
    """What a worker does around each task: Celery's Django fix-up, then our prerun check."""
    from celery import current_app
    from celery.fixups.django import DjangoWorkerFixup

    DjangoWorkerFixup(current_app).close_database()
    task_prerun.send(sender=send_pending_emails, task_id="t", task=send_pending_emails)


def test_a_worker_reuses_its_connection_between_tasks(worker_connection):
    first = backend_pid()
    between_tasks()
    assert backend_pid() == first


def test_a_broken_connection_is_replaced_before_the_next_task(worker_connection):
    first = backend_pid()
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
    other.close()

    between_tasks()

    assert backend_pid() != first  # no error: the task starts on a fresh connection
