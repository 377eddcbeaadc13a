"""Items 4 and 9: the deployment-email job over 1,000 due orders with two runs at once plus a
task the broker redelivered; a PostgreSQL restart, and a run killed, just after the mail server
accepted a batch. Real PostgreSQL, real concurrent transactions; every email is counted per
order."""
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
from django.db import OperationalError, connection
from django.utils import timezone

from provisioning import jobs, lifecycle, outbox, tasks
from provisioning.models import Provisioning, SetupLink
from tests.factories import RepFactory
from tests.helpers import at_once
from tests.reliability import figures
from tests.reliability.bulk import due_orders

pytestmark = pytest.mark.django_db(transaction=True)


class SlowBackend(BaseEmailBackend):
    """locmem, a little slow, so concurrent runs interleave."""

    delay = 0.002

    def send_messages(self, messages):
        time.sleep(self.delay)
        mail.outbox.extend(messages)
        return len(messages)


@pytest.fixture
def rep():
    Group.objects.get_or_create(name=django_settings.REPS_GROUP)
    return RepFactory()


def per_order(outbox_messages):
    return Counter(m.to[0] for m in outbox_messages)


def test_two_runs_and_a_redelivered_task_over_1000_orders_send_each_email_once(rep, settings,
                                                                                 mailoutbox):
    settings.EMAIL_BACKEND = "tests.reliability.test_jobs.SlowBackend"
    orders = due_orders(1000, rep)
    started = time.monotonic()
    # Two beat-triggered runs, plus the same task handed out again by the broker (a worker
    # that missed its ack: Redis redelivers after the visibility timeout) — run as a worker runs it.
    runs = [jobs.send_due_deployment_emails, jobs.send_due_deployment_emails,
            lambda: tasks.send_due_deployment_emails.apply().get()]
    results, errors = at_once(lambda i: runs[i](), len(runs), timeout=300)
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


def pg_ctl(action):
    command = os.environ["TEST_PG_CTL"] + " " + action
    subprocess.run(command, shell=True, check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def when_recording_batch(monkeypatch, number, interrupt):
    """Call `interrupt(record)` in the job, at the moment the mail server has accepted batch
    `number` (1-based) and the outbox is about to record it: the window in which a lost
    connection means emails sent but not marked sent. Returns the emails of that batch."""
    real = outbox.retry_on_disconnect
    seen, caught = [], []

    def record(func, sent, *args, **kwargs):
        if func is outbox.record:
            seen.append(sent)
            if len(seen) == number:
                caught.extend(item.email for item in sent)
                return interrupt(lambda **options: real(func, sent, *args, **{**kwargs, **options}))
        return real(func, sent, *args, **kwargs)

    monkeypatch.setattr(outbox, "retry_on_disconnect", record)
    return caught


def after_the_lease():
    return time_machine.travel(timezone.now() + lifecycle.EMAIL_LEASE + datetime.timedelta(minutes=1),
                               tick=False)


def duplicates_of(outbox_messages):
    return {to: n for to, n in per_order(outbox_messages).items() if n > 1}


def test_a_postgresql_restart_as_a_batch_is_recorded_loses_and_duplicates_nothing(
        rep, settings, mailoutbox, monkeypatch):
    """PostgreSQL restarts as the job records a batch the mail server accepted: the job's retry
    (config/db.py) records it once the server is back, and the run finishes by itself."""
    settings.EMAIL_BACKEND = "tests.reliability.test_jobs.SlowBackend"
    due_orders(300, rep)
    restarted = threading.Event()

    def restart(record):
        pg_ctl("stop -m fast")
        threading.Thread(target=lambda: (pg_ctl("start"), restarted.set())).start()
        return record()

    caught = when_recording_batch(monkeypatch, 2, restart)
    run = jobs.send_due_deployment_emails()
    assert restarted.wait(60)
    connection.close()

    assert len(caught) == jobs.BATCH_SIZE, "the restart did not land while a batch was recorded"
    assert len(run.sent) == 300 and run.failed == []  # the interrupted run finished by itself
    assert len(per_order(mailoutbox)) == 300 and duplicates_of(mailoutbox) == {}
    assert Provisioning.objects.filter(email_sent_at__isnull=True).count() == 0
    with after_the_lease():
        assert len(jobs.send_due_deployment_emails().sent) == 0
    figures.record("postgresql_restart", {"orders": 300, "restart_while_recording_batch": 2,
                                          "emails_by_interrupted_run": len(run.sent),
                                          "emails": len(mailoutbox), "duplicates": 0, "missed": 0})


def test_a_run_cut_off_as_a_batch_is_recorded_is_finished_by_the_next_runs(
        rep, settings, mailoutbox, monkeypatch):
    """PostgreSQL goes down as the job records a batch the mail server accepted, and stays down
    longer than the job's retry (attempts=1 here stands in for more than its 15 s): the run
    cannot finish. Once PostgreSQL is back, the next run sends what was never claimed, and the
    outbox sweep after the lease the batch whose sending was never recorded: that batch twice,
    the documented worst case, and nothing else."""
    settings.EMAIL_BACKEND = "tests.reliability.test_jobs.SlowBackend"
    due_orders(300, rep)

    def cut_off(record):
        pg_ctl("stop -m fast")
        return record(attempts=1)

    caught = when_recording_batch(monkeypatch, 2, cut_off)
    try:
        with pytest.raises(OperationalError):  # the next claim: no database
            jobs.send_due_deployment_emails()
    finally:
        pg_ctl("start")
    connection.close()
    lost = {email.to for email in caught}
    by_interrupted_run = len(mailoutbox)
    assert len(lost) == jobs.BATCH_SIZE and by_interrupted_run == 2 * jobs.BATCH_SIZE
    assert Provisioning.objects.filter(email_sent_at__isnull=False).count() == jobs.BATCH_SIZE

    # The next beat run, within the lease: everything never claimed, nothing twice.
    next_run = jobs.send_due_deployment_emails()
    assert len(next_run.sent) == 300 - 2 * jobs.BATCH_SIZE
    assert duplicates_of(mailoutbox) == {}
    assert jobs.send_pending_emails() == {"sent": 0, "failed": 0}  # leased to the cut-off run
    # After the lease: the outbox sweep sends the lost batch again, and that is all.
    with after_the_lease():
        after_lease = jobs.send_pending_emails()
        assert jobs.send_due_deployment_emails().sent == []
        assert jobs.send_pending_emails() == {"sent": 0, "failed": 0}
    counts = per_order(mailoutbox)
    assert len(counts) == 300, "an order never got its email"
    assert duplicates_of(mailoutbox) == {to: 2 for to in lost}
    assert Provisioning.objects.filter(email_sent_at__isnull=True).count() == 0
    figures.record("run_cut_off_while_recording", {
        "orders": 300, "batch_size": jobs.BATCH_SIZE,
        "emails_by_interrupted_run": by_interrupted_run,
        "emails_by_next_run": len(next_run.sent), "emails_after_lease": after_lease["sent"],
        "emails": len(mailoutbox), "duplicates": sum(n - 1 for n in counts.values()),
        "missed": 300 - len(counts)})
