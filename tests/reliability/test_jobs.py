"""Items 4 and 9: the deployment-email job over 1,000 due orders with two runs at once plus a
task the broker redelivered, and a PostgreSQL restart in the middle of a run. Real PostgreSQL,
real concurrent transactions; every email is counted per order."""
import datetime
import os
import subprocess
import threading
import time
from collections import Counter

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.utils import timezone

from provisioning import jobs, tasks
from provisioning.models import Provisioning, SetupLink
from tests.factories import RepFactory
from tests.reliability import figures
from tests.reliability.bulk import due_orders

pytestmark = pytest.mark.django_db(transaction=True)


class SlowBackend(BaseEmailBackend):
    """locmem, a little slow, so concurrent runs interleave and a restart lands mid-run."""

    delay = 0.002

    def send_messages(self, messages):
        time.sleep(self.delay)
        mail.outbox.extend(messages)
        return len(messages)


class SlowerBackend(SlowBackend):
    delay = 0.02


@pytest.fixture
def rep():
    Group.objects.get_or_create(name=django_settings.REPS_GROUP)
    return RepFactory()


def in_threads(*targets):
    results, errors = [None] * len(targets), []
    barrier = threading.Barrier(len(targets))

    def run(i, target):
        try:
            barrier.wait(timeout=30)
            results[i] = target()
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return results, errors


def per_order(outbox_messages):
    return Counter(m.to[0] for m in outbox_messages)


def test_two_runs_and_a_redelivered_task_over_1000_orders_send_each_email_once(rep, settings,
                                                                                 mailoutbox):
    settings.EMAIL_BACKEND = "tests.reliability.test_jobs.SlowBackend"
    orders = due_orders(1000, rep)
    started = time.monotonic()
    # Two beat-triggered runs, plus the same task handed out again by the broker (a worker
    # that missed its ack: Redis redelivers after the visibility timeout) — run as a worker runs it.
    results, errors = in_threads(jobs.send_due_deployment_emails, jobs.send_due_deployment_emails,
                                 lambda: tasks.send_due_deployment_emails.apply().get())
    seconds = time.monotonic() - started
    assert errors == []
    counts = per_order(mailoutbox)
    assert len(counts) == 1000 and set(counts.values()) == {1}
    assert Provisioning.objects.filter(email_sent_at__isnull=True).count() == 0
    assert SetupLink.objects.count() == 1000  # each order's link issued once, by one run
    shares = [len(results[0].sent), len(results[1].sent), results[2]["sent"]]
    assert sum(shares) == 1000
    # And a last redelivery after everything is done: nothing.
    assert tasks.send_due_deployment_emails.apply().get()["sent"] == 0
    assert len(mailoutbox) == 1000
    figures.record("concurrent_runs_1000", {"orders": 1000, "emails": len(mailoutbox),
                                            "duplicates": len(mailoutbox) - len(counts),
                                            "missed": 1000 - len(counts),
                                            "sent_by_each_run": shares,
                                            "seconds": round(seconds, 1)})


def pg_restart():
    command = os.environ["TEST_PG_CTL"] + " restart -m fast"
    subprocess.run(command, shell=True, check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_postgresql_restart_mid_run_loses_nothing_and_duplicates_nothing(rep, settings, mailoutbox):
    settings.EMAIL_BACKEND = "tests.reliability.test_jobs.SlowerBackend"
    orders = due_orders(300, rep)
    connection.close()  # the restart kills it anyway; start the run on a fresh one

    def restart_when_busy():
        while len(mail.outbox) < 40:
            time.sleep(0.005)
        pg_restart()
        return len(mail.outbox)

    results, errors = in_threads(jobs.send_due_deployment_emails, restart_when_busy)
    connection.close()
    sent_before_restart = results[1]
    assert sent_before_restart < 300, "the restart did not land during the run"
    finished_by_first_run = len(mailoutbox)
    # The next runs (beat, after the claims' lease has run out) finish the work.
    later = timezone.now() + jobs.EMAIL_LEASE + datetime.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        jobs.send_due_deployment_emails()
        jobs.send_due_deployment_emails()
    counts = per_order(mailoutbox)
    duplicates = {to: n for to, n in counts.items() if n > 1}
    assert len(counts) == 300, "an order never got its email"
    assert duplicates == {}
    assert Provisioning.objects.filter(email_sent_at__isnull=True).count() == 0
    figures.record("postgresql_restart", {"orders": 300, "emails_before_restart": sent_before_restart,
                                          "run_error": type(errors[0]).__name__ if errors else None,
                                          "emails_by_interrupted_run": finished_by_first_run,
                                          "emails": len(mailoutbox),
                                          "duplicates": sum(n - 1 for n in counts.values()),
                                          "missed": 300 - len(counts)})
