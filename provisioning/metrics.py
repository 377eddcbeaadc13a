"""Operators' metrics, exposed to Prometheus at /metrics (provisioning/metrics_views.py).

Everything is read from the database at scrape time by `BusinessCollector`: the business
figures from the rows the product already keeps (each query served by an index:
tests/test_metrics.py checks the plans), and the two counts no row holds from rows every process
adds to: JobStats (each beat job's runs, `job_run`) and WebhookEventCount (`webhook_event`).
Nothing lives in a process's memory, so whichever web process answers a scrape gives the same
figures, wherever the Celery workers run; prometheus_client's multiprocess mode (a directory
shared by the processes of one machine) would see neither the workers of another machine nor a
worker's runs before its restart.

"Today" is since midnight in the site's time zone (TIME_ZONE), as on the rep dashboard's chart.
"""
import contextlib
import datetime
import logging
import re
import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from config.db import sql_datetime
from config.logging import current_job
from provisioning.lifecycle import local_time_on
from provisioning.models import (UNDELIVERED, Event, JobStats, OutboundEmail, Provisioning,
                                 WebhookEventCount)

log = logging.getLogger(__name__)

# The beat jobs (provisioning/tasks.py), always exposed, with zeros until their first run.
JOBS = ("send_due_deployment_emails", "flag_stalled_provisioning", "close_expired_setup_windows",
        "send_setup_reminders", "send_window_reminders",
        "send_pending_emails")
# Email kinds: the outbox's (the deployment email included).
EMAIL_KINDS = tuple(OutboundEmail.Kind.values)
# History events counted per day: orders set up, deployed, stalled.
ORDER_EVENTS = {Event.Kind.SET_UP.value: "set_up", Event.Kind.DEPLOYED.value: "deployed",
                Event.Kind.STALLED.value: "stalled"}


# --- Job runs ------------------------------------------------------------------------------------

@dataclass
class JobRun:
    job: str
    rows: int = 0   # rows the run claimed: the caller sets it before the block ends


@contextlib.contextmanager
def job_run(job):
    """Around one run of a beat job: `with job_run(name) as run: …; run.rows = n`. While it runs,
    its log lines name the job (config/logging.py); at the end its duration and rows are added
    to the job's JobStats row, a run that raised counted as a failure (and re-raised)."""
    run = JobRun(job)
    context = current_job.set(job)
    started = time.perf_counter()
    ok = False
    try:
        yield run
        ok = True
    finally:
        seconds = time.perf_counter() - started
        current_job.reset(context)
        _record_run(job, seconds, run.rows if ok else 0, ok)


def _record_run(job, seconds, rows, ok):
    """One statement, whichever process ran the job; a metric never fails a job."""
    now = sql_datetime(timezone.now())
    table = JobStats._meta.db_table
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"""
                INSERT INTO {table} (job, runs, failures, seconds_total, rows_total, last_run_at,
                                     last_success_at, last_seconds, last_rows)
                VALUES (%s, 1, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (job) DO UPDATE SET
                    runs = {table}.runs + 1,
                    failures = {table}.failures + excluded.failures,
                    seconds_total = {table}.seconds_total + excluded.seconds_total,
                    rows_total = {table}.rows_total + excluded.rows_total,
                    last_run_at = excluded.last_run_at,
                    last_success_at = COALESCE(excluded.last_success_at, {table}.last_success_at),
                    last_seconds = excluded.last_seconds, last_rows = excluded.last_rows""",
                [job, 0 if ok else 1, seconds, rows, now, now if ok else None, seconds, rows])
    except Exception:
        log.warning("could not record the run of %s for /metrics", job, exc_info=True)


# --- Webhook events ------------------------------------------------------------------------------

WEBHOOK_KIND = re.compile(r"[a-z][a-z_]{0,31}")


def webhook_event(kind):
    """Count one email delivery webhook event received, by its kind (anymail's event_type:
    "delivered", "bounced", "complained", …; anything that is not lower-case letters and
    underscores counts as "other", so a payload cannot make up series). Call it once per event,
    outside the transaction that acts on the event (a rolled-back one still counts as received).
    Never raises."""
    kind = kind if isinstance(kind, str) and WEBHOOK_KIND.fullmatch(kind) else "other"
    now = sql_datetime(timezone.now())
    table = WebhookEventCount._meta.db_table
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"""
                INSERT INTO {table} (kind, received, last_received_at) VALUES (%s, 1, %s)
                ON CONFLICT (kind) DO UPDATE SET received = {table}.received + 1,
                    last_received_at = excluded.last_received_at""", [kind, now])
    except Exception:
        log.warning("could not count a %s webhook event for /metrics", kind, exc_info=True)


# --- The collector -------------------------------------------------------------------------------

def _aware(value):
    """A datetime from a raw query: aware from PostgreSQL, a UTC string from SQLite."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.timezone.utc)
    return value


def _age(now, since):
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0


def provisioning_figures(now):
    """One statement, each part on its partial index (provisioning/models.py): deployment emails
    due now and not yet written to the outbox, what the job's next run claims
    (prov_email_due_idx, read alone: an order set up or closed before its email is counted until
    that run takes it off the index) and the oldest one's due time; stalled orders not set up
    (prov_stalled_open_idx). Once written, the deployment email is counted with the outbox's."""
    table = Provisioning._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT due.n, due.oldest, stalled.n FROM
              (SELECT COUNT(*) AS n, MIN(email_next_attempt_at) AS oldest FROM {table}
               WHERE email_sent_at IS NULL AND email_next_attempt_at <= %s) AS due,
              (SELECT COUNT(*) AS n FROM {table}
               WHERE stalled_at IS NOT NULL AND set_up_at IS NULL) AS stalled""",
                       [sql_datetime(now)])
        due, oldest_due, stalled = cursor.fetchone()
    return {"due": due, "oldest_due": _aware(oldest_due), "stalled": stalled}


def events_today(today):
    """{event kind: count} of today's SET_UP, DEPLOYED and STALLED history events
    (event_kind_at_idx)."""
    kinds = list(ORDER_EVENTS)
    return {row["kind"]: row["n"] for row in
            Event.objects.filter(kind__in=kinds, at__gte=today).values("kind")
            .annotate(n=Count("*")).order_by()}


def outbox_backlog():
    """{kind: (unsent, oldest created_at, failing)} of the outbox's unsent emails
    (outbox_pending_idx); failing: the mail server refused the last attempt."""
    return {row["kind"]: (row["n"], row["oldest"], row["failing"]) for row in
            OutboundEmail.objects.filter(sent_at__isnull=True).values("kind")
            .annotate(n=Count("*"), oldest=Min("created_at"), failing=Count("pk", filter=Q(attempts__gt=0)))
            .order_by()}


def outbox_sent_today(today):
    """{kind: count} of outbox emails the mail server accepted today (outbox_sent_idx)."""
    return {row["kind"]: row["n"] for row in
            OutboundEmail.objects.filter(sent_at__gte=today).values("kind")
            .annotate(n=Count("*")).order_by()}


def bounced_today(today):
    """{kind: count} of emails the provider's webhook reported bounced or rejected today
    (provisioning/delivery.py; outbox_undelivered_idx)."""
    return {row["kind"]: row["n"] for row in
            OutboundEmail.objects.filter(delivery__in=UNDELIVERED, delivery_at__gte=today)
            .values("kind").annotate(n=Count("*")).order_by()}


class BusinessCollector(Collector):
    """The figures of README "Metrics for operators", computed at each scrape."""

    def collect(self):
        now = timezone.now()
        today = local_time_on(timezone.localdate(now), 0)
        prov = provisioning_figures(now)
        events = events_today(today)
        backlog = outbox_backlog()
        sent = outbox_sent_today(today)
        bounced = bounced_today(today)
        jobs = {row.job: row for row in JobStats.objects.all()}
        webhooks = {row.kind: row.received for row in WebhookEventCount.objects.all()}

        yield GaugeMetricFamily(
            "onboarding_deployment_emails_due",
            "Orders whose deployment email is due now and not sent (the job's backlog).",
            value=prov["due"])
        yield GaugeMetricFamily(
            "onboarding_deployment_emails_due_oldest_seconds",
            "Seconds since the longest-waiting due deployment email became due (0 when none).",
            value=_age(now, prov["oldest_due"]))

        families = {
            "sent": GaugeMetricFamily(
                "onboarding_emails_sent_today",
                "Emails the mail server accepted since midnight (site time), per kind.",
                labels=["kind"]),
            "failing": GaugeMetricFamily(
                "onboarding_emails_failing",
                "Unsent emails whose last attempt the mail server refused (retried), per kind.",
                labels=["kind"]),
            "bounced": GaugeMetricFamily(
                "onboarding_emails_bounced_today",
                "Emails the provider reported bounced or rejected since midnight (site time), "
                "per kind.", labels=["kind"]),
            "backlog": GaugeMetricFamily(
                "onboarding_outbox_backlog",
                "Outbox emails not sent yet (waiting for a worker or for their retry), per kind.",
                labels=["kind"]),
        }
        oldest_unsent = None
        for kind in EMAIL_KINDS:
            unsent, oldest, failing = backlog.get(kind, (0, None, 0))
            if oldest is not None and (oldest_unsent is None or oldest < oldest_unsent):
                oldest_unsent = oldest
            families["sent"].add_metric([kind], sent.get(kind, 0))
            families["failing"].add_metric([kind], failing)
            families["bounced"].add_metric([kind], bounced.get(kind, 0))
            families["backlog"].add_metric([kind], unsent)
        yield from families.values()
        yield GaugeMetricFamily(
            "onboarding_outbox_oldest_unsent_seconds",
            "Age in seconds of the oldest outbox email not sent yet (0 when none).",
            value=_age(now, oldest_unsent))

        yield GaugeMetricFamily(
            "onboarding_orders_stalled_open",
            "Orders flagged stalled and still not set up (the rep dashboard's list).",
            value=prov["stalled"])
        orders_today = GaugeMetricFamily(
            "onboarding_orders_today",
            "Orders set up, deployed and newly stalled since midnight (site time).",
            labels=["event"])
        for kind, name in ORDER_EVENTS.items():
            orders_today.add_metric([name], events.get(kind, 0))
        yield orders_today

        yield from self.job_families(jobs)

        received = CounterMetricFamily(
            "onboarding_webhook_events_received",
            "Email delivery webhook events received, per event kind.", labels=["kind"])
        for kind in sorted(webhooks):
            received.add_metric([kind], webhooks[kind])
        yield received

    @staticmethod
    def job_families(jobs):
        runs = CounterMetricFamily("onboarding_job_runs", "Runs of each beat job.",
                                   labels=["job"])
        failures = CounterMetricFamily("onboarding_job_failures",
                                       "Runs of each beat job that raised an error.",
                                       labels=["job"])
        duration = SummaryMetricFamily("onboarding_job_duration_seconds",
                                       "Duration of each beat job's runs.", labels=["job"])
        rows = CounterMetricFamily("onboarding_job_rows_claimed",
                                   "Rows each beat job claimed (orders or emails it handled).",
                                   labels=["job"])
        last_run = GaugeMetricFamily("onboarding_job_last_run_timestamp_seconds",
                                     "When each beat job's last run ended (Unix time; 0: never).",
                                     labels=["job"])
        last_success = GaugeMetricFamily(
            "onboarding_job_last_success_timestamp_seconds",
            "When each beat job's last run without error ended (Unix time; 0: never).",
            labels=["job"])
        last_seconds = GaugeMetricFamily("onboarding_job_last_duration_seconds",
                                         "Duration of each beat job's last run.", labels=["job"])
        last_rows = GaugeMetricFamily("onboarding_job_last_rows_claimed",
                                      "Rows each beat job's last run claimed.", labels=["job"])
        for job in sorted(set(JOBS) | set(jobs)):
            row = jobs.get(job) or JobStats(job=job)
            runs.add_metric([job], row.runs)
            failures.add_metric([job], row.failures)
            duration.add_metric([job], count_value=row.runs, sum_value=row.seconds_total)
            rows.add_metric([job], row.rows_total)
            last_run.add_metric([job], row.last_run_at.timestamp() if row.last_run_at else 0)
            last_success.add_metric([job], row.last_success_at.timestamp()
                                    if row.last_success_at else 0)
            last_seconds.add_metric([job], row.last_seconds)
            last_rows.add_metric([job], row.last_rows)
        return [runs, failures, duration, rows, last_run, last_success, last_seconds, last_rows]


REGISTRY = CollectorRegistry()   # ours alone: no per-process figures of the process answering
REGISTRY.register(BusinessCollector())
