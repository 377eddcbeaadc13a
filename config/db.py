"""Database writes that must survive a PostgreSQL restart.

A job that has just had an email accepted by the mail server must record it, or the next run
sends it again. If the database restarts at that moment, the job's connection is dead; this
closes it, waits for the server to come back and writes again (a few seconds at most), instead
of giving up and leaving a duplicate email for the next run. Only outside a transaction: inside
one, the work done so far is gone with the connection, and retrying would be wrong."""
import logging
import time

from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)


def retry_on_disconnect(func, *args, attempts=15, delay=1.0, **kwargs):
    for attempt in range(1, attempts + 1):
        try:
            return func(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            if attempt == attempts or connection.in_atomic_block:
                raise
            log.warning("database unreachable (%s); retrying %s in %ss", exc, func.__name__, delay)
            connection.close()
            time.sleep(delay)


# --- The jobs' set-based statements: the only place that knows SQLite from PostgreSQL -----------

def skip_locked():
    """` FOR UPDATE SKIP LOCKED` where the database has row locks. SQLite (make run's default)
    has none: it runs one writer at a time anyway."""
    return " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""


def sql_datetime(value):
    return connection.ops.adapt_datetimefield_value(value)


def returning_rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def placeholders(values):
    return ", ".join(["%s"] * len(values))
