"""Item 8: beat missed runs. Beat stopped for days, across a daylight-saving change in
Europe/Paris: on the next run every due email and stall flag happens exactly once. Beat runs in
UTC, and nothing the broker holds waits longer than its visibility timeout (else Redis would
hand the same task to a second worker)."""
import ast
import datetime
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.beat import ScheduleEntry
from django.conf import settings as django_settings

from config.celery import app as celery_app
from provisioning import jobs, outbox
from provisioning.models import Event, Provisioning
from tests.factories import OrderFactory, RepFactory
from tests.reliability import figures

PARIS = ZoneInfo("Europe/Paris")
UTC = datetime.timezone.utc
ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "orders", "orgs", "provisioning", "onboarding")


def test_beat_and_celery_run_in_utc():
    assert django_settings.CELERY_TIMEZONE == "UTC"
    assert celery_app.conf.timezone == "UTC" and celery_app.conf.enable_utc


def _visibility_timeout():
    return django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]


def test_every_retry_backoff_and_task_delay_stays_below_the_visibility_timeout():
    limit = _visibility_timeout()
    assert max(outbox.backoff(n).total_seconds() for n in range(1, 10_000)) < limit
    celery_app.loader.import_default_modules()  # what a worker does at start
    ours = {name: task for name, task in celery_app.tasks.items() if name.startswith(APPS)}
    assert "provisioning.tasks.send_due_deployment_emails" in ours
    for name, task in ours.items():
        for attr in ("default_retry_delay", "retry_backoff_max", "time_limit", "soft_time_limit"):
            value = getattr(task, attr, None)
            assert value is None or value < limit, (name, attr, value)
    for name, entry in django_settings.CELERY_BEAT_SCHEDULE.items():
        options = entry.get("options", {})
        for key in ("countdown", "expires"):
            assert options.get(key) is None or options[key] < limit, (name, key)


def _delay_arguments():
    """Every literal countdown= / eta= passed anywhere in our code (apply_async, retry)."""
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.keyword) and node.arg in ("countdown", "eta", "retry_backoff_max"):
                    found.append((str(path.relative_to(ROOT)), node.arg, node.value))
    return found


def test_no_countdown_in_the_code_exceeds_the_visibility_timeout():
    for path, arg, value in _delay_arguments():
        assert isinstance(value, ast.Constant), f"{path}: {arg}= is not a literal; bound it"
        assert value.value < _visibility_timeout(), (path, arg, value.value)


def test_beat_fires_a_missed_job_once_not_once_per_missed_run():
    """What beat itself does after a gap: the job is due once, so the job must catch up."""
    now = datetime.datetime(2026, 10, 27, 9, 0, tzinfo=UTC)
    for name, spec in django_settings.CELERY_BEAT_SCHEDULE.items():
        entry = ScheduleEntry(name=name, task=spec["task"], schedule=spec["schedule"], app=celery_app,
                              last_run_at=now - datetime.timedelta(days=4))
        with time_machine.travel(now, tick=False):
            due, _ = entry.is_due()
            assert due, name
            after = entry._next_instance(last_run_at=now)
            assert not after.is_due()[0], name


DST_CHANGES = {
    # Clocks go back at 03:00 CEST → 02:00 CET; forward at 02:00 CET → 03:00 CEST.
    "october": datetime.date(2026, 10, 25),
    "march": datetime.date(2027, 3, 28),
}


@pytest.mark.django_db
@pytest.mark.parametrize("change", sorted(DST_CHANGES))
def test_after_days_without_beat_across_a_dst_change_each_email_and_flag_happens_once(
        change, settings, mailoutbox):
    settings.TIME_ZONE, settings.DEPLOYMENT_EMAIL_HOUR = "Europe/Paris", 9
    dst_day = DST_CHANGES[change]
    rep = RepFactory()
    starts = [dst_day + datetime.timedelta(days=d) for d in (-2, -1, 0, 1)]
    orders = [OrderFactory(requested_start_date=day, account_rep=rep,
                           deployment_contact_email=f"contact{n}@partner.example")
              for n, day in enumerate(starts)]
    # The email hour is 09:00 in Paris on each start date, whatever the UTC offset that day.
    for order in orders:
        due = Provisioning.objects.get(pk=order.pk).email_due_at.astimezone(PARIS)
        assert (due.date(), due.hour, due.minute) == (order.requested_start_date, 9, 0)
    offsets = {Provisioning.objects.get(pk=o.pk).email_due_at.astimezone(PARIS).utcoffset()
               for o in orders}
    assert len(offsets) == 2  # the change really is inside the gap

    last_run = datetime.datetime.combine(starts[0] - datetime.timedelta(days=1),
                                         datetime.time(12), tzinfo=PARIS)
    with time_machine.travel(last_run, tick=False):
        assert jobs.send_due_deployment_emails().sent == []
        assert jobs.flag_stalled_provisioning().flagged == []
    # Beat is down for five days; it comes back at 10:00 the day after the last start date.
    back = datetime.datetime.combine(starts[-1] + datetime.timedelta(days=1), datetime.time(10),
                                     tzinfo=PARIS)
    with time_machine.travel(back, tick=False):
        sent = jobs.send_due_deployment_emails().sent
        # The stall clock runs from the email's delivery, which was just now: nobody is flagged
        # minutes after getting their email.
        assert jobs.flag_stalled_provisioning().flagged == []
        # Several beat ticks in a row, as when a queue of missed runs drains: nothing more.
        for _ in range(3):
            assert jobs.send_due_deployment_emails().sent == []
            assert jobs.flag_stalled_provisioning().flagged == []
    with time_machine.travel(back + datetime.timedelta(days=1, minutes=1), tick=False):
        flagged = jobs.flag_stalled_provisioning().flagged
        for _ in range(3):
            assert jobs.flag_stalled_provisioning().flagged == []
        jobs.send_pending_emails()
    assert sorted(sent) == sorted(o.number for o in orders)
    assert sorted(flagged) == sorted(o.number for o in orders)
    per_contact = Counter(m.to[0] for m in mailoutbox if m.to[0].startswith("contact"))
    assert per_contact == {o.deployment_contact_email: 1 for o in orders}
    assert [m.to[0] for m in mailoutbox].count(rep.email) == 1  # one stalled-orders email
    assert Event.objects.filter(kind=Event.Kind.STALLED).count() == len(orders)
    figures.record(f"beat_gap_{change}", {"orders": len(orders), "emails_per_order": 1,
                                          "stall_flags_per_order": 1, "rep_emails": 1})
