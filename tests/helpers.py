"""Small helpers shared by the test modules: the site's clock, the deployment-email job at a
moment, the Set up now link of a sent email, and running work in threads at the same moment."""
import datetime
import threading
from zoneinfo import ZoneInfo

import time_machine
from django.conf import settings
from django.db import connection


def local(day, hour=0, minute=0):
    """`day` at hour:minute in the site's time zone (TIME_ZONE)."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=ZoneInfo(settings.TIME_ZONE))


def run_at(moment, **kwargs):
    """The deployment-email job's run at `moment` (the clock frozen there)."""
    from provisioning import jobs

    with time_machine.travel(moment, tick=False):
        return jobs.send_due_deployment_emails(**kwargs)


def sweep_at(moment):
    """The outbox sweep's run at `moment` (it retries the emails the mail server refused, the
    deployment email included)."""
    from provisioning import jobs

    with time_machine.travel(moment, tick=False):
        return jobs.send_pending_emails()


def token_of(message):
    """The raw token of the Set up now link in a sent email's plain text."""
    marker = f"{settings.SITE_URL}/setup/"
    start = message.body.index(marker) + len(marker)
    return message.body[start:message.body.index("/", start)]


def at_once(work, n, timeout=120):
    """work(0) … work(n - 1), each in its own thread, released together by a barrier; each
    thread closes its database connection when done. Returns (results in thread order, None for
    a thread that raised; the repr of each error raised, the test client's re-raised 500s
    included)."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait(timeout=60)
            results[i] = work(i)
        except Exception as exc:  # reported to the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is still running"
    return results, errors
