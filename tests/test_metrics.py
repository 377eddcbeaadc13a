"""/metrics for operators (provisioning/metrics.py): the figures after a scripted day run by the
real jobs, the bearer token, the number of queries a scrape costs and the indexes serving them."""
import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from provisioning import lifecycle, metrics, tasks
from provisioning.models import (Event, JobStats, OutboundEmail, Provisioning, SetupMode,
                                 WebhookEventCount)
from tests.factories import OrderFactory, RepFactory
from tests.test_settings import run_manage

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-" + "k" * 40
# Today, by the real clock: setting up writes its history event at the database's time
# (Event.at's db_default), which time-machine does not move, and it must fall on the scripted day.
START = datetime.datetime.now(ZoneInfo(settings.TIME_ZONE)).date()


def local(day, hour=0, minute=0, second=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute, second),
                                     tzinfo=ZoneInfo(settings.TIME_ZONE))


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token=TOKEN):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    figures = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            figures[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return figures


def value(figures, name, **labels):
    return figures[(name, tuple(sorted(labels.items())))]


# --- A scripted day ------------------------------------------------------------------------------

def test_a_scrape_after_a_scripted_day_shows_what_the_jobs_did(client, token, settings, mailoutbox):
    """Yesterday one order is emailed. Today at 09:00 three more are due (one address refused);
    at 09:05 the jobs run: two emails accepted, one refused, yesterday's order stalls and its rep
    is emailed through the outbox, where another email keeps being refused; one order is set up;
    the email provider's webhook posts three events."""
    settings.EMAIL_BACKEND = "tests.test_deployment_email.PickyBackend"
    yesterday = START - datetime.timedelta(days=1)
    rep = RepFactory()
    with time_machine.travel(local(yesterday, 8), tick=False):
        stalls = OrderFactory(requested_start_date=yesterday, account_rep=rep)
    with time_machine.travel(local(yesterday, 9), tick=False):
        assert tasks.send_due_deployment_emails()["sent"] == 1
    with time_machine.travel(local(START, 8), tick=False):
        good = [OrderFactory(requested_start_date=START, account_rep=rep) for _ in range(2)]
        bad = OrderFactory(requested_start_date=START, account_rep=rep,
                           deployment_contact_email="broken@partner.example")
        OrderFactory(requested_start_date=START + datetime.timedelta(days=1))  # due tomorrow

    with time_machine.travel(local(START, 8, 30), tick=False):
        figures = scrape(client)
    assert value(figures, "onboarding_deployment_emails_due") == 0

    with time_machine.travel(local(START, 9), tick=False):
        # An email whose recipient the mail server refuses (PickyBackend), waiting in the outbox.
        OutboundEmail.objects.create(kind=OutboundEmail.Kind.COLLEAGUE, to="broken@partner.example",
                                     subject="Set up", body_text="…", next_attempt_at=local(START, 9))
    with time_machine.travel(local(START, 9, 4), tick=False):
        figures = scrape(client)
    assert value(figures, "onboarding_deployment_emails_due") == 3
    assert value(figures, "onboarding_deployment_emails_due_oldest_seconds") == 240
    assert value(figures, "onboarding_outbox_backlog", kind="colleague") == 1

    with time_machine.travel(local(START, 9, 5), tick=False):
        assert tasks.send_due_deployment_emails() == {"sent": 2, "failed": 1, "batches": 1}
        assert tasks.flag_stalled_provisioning()["flagged"] == 1
        assert tasks.send_pending_emails() == {"sent": 1, "failed": 1}
        provisioning = Provisioning.objects.select_for_update().get(pk=good[0].pk)
        lifecycle.set_up(provisioning, mode=SetupMode.SELF, actor=None, installer_name="Inès",
                         installer_email="ines@partner.example", customer_admin_email="",
                         new_admin=None, browser="", data={})
        for kind in ("bounced", "delivered", "bounced"):
            metrics.webhook_event(kind)

    with time_machine.travel(local(START, 9, 5, 30), tick=False):
        figures = scrape(client)

    assert value(figures, "onboarding_deployment_emails_due") == 0  # the refused one retries at 09:06
    assert value(figures, "onboarding_deployment_emails_due_oldest_seconds") == 0
    # Today's sends: yesterday's deployment email is not one of them.
    assert value(figures, "onboarding_emails_sent_today", kind="deployment") == 2
    assert value(figures, "onboarding_emails_sent_today", kind="rep_stalled") == 1
    assert value(figures, "onboarding_emails_sent_today", kind="colleague") == 0
    assert value(figures, "onboarding_emails_failing", kind="deployment") == 1
    assert value(figures, "onboarding_emails_failing", kind="colleague") == 1
    assert value(figures, "onboarding_emails_failing", kind="rep_stalled") == 0
    # No bounce is recorded before delivery feedback exists: every kind reads 0.
    assert {v for (name, _), v in figures.items() if name == "onboarding_emails_bounced_today"} == {0}
    assert value(figures, "onboarding_outbox_backlog", kind="colleague") == 1
    assert value(figures, "onboarding_outbox_backlog", kind="rep_stalled") == 0
    assert value(figures, "onboarding_outbox_oldest_unsent_seconds") == 330  # since 09:00
    assert value(figures, "onboarding_orders_stalled_open") == 1
    assert value(figures, "onboarding_orders_today", event="set_up") == 1
    assert value(figures, "onboarding_orders_today", event="stalled") == 1
    assert value(figures, "onboarding_orders_today", event="deployed") == 0
    # Jobs: today's runs plus yesterday's deployment run.
    assert value(figures, "onboarding_job_runs_total", job="send_due_deployment_emails") == 2
    assert value(figures, "onboarding_job_rows_claimed_total", job="send_due_deployment_emails") == 4
    assert value(figures, "onboarding_job_last_rows_claimed", job="send_due_deployment_emails") == 3
    assert value(figures, "onboarding_job_rows_claimed_total", job="flag_stalled_provisioning") == 1
    assert value(figures, "onboarding_job_rows_claimed_total", job="send_pending_emails") == 2
    assert value(figures, "onboarding_job_runs_total", job="close_expired_setup_windows") == 0
    assert value(figures, "onboarding_job_failures_total", job="send_pending_emails") == 0
    at_905 = local(START, 9, 5).timestamp()
    assert value(figures, "onboarding_job_last_run_timestamp_seconds", job="send_pending_emails") == at_905
    assert value(figures, "onboarding_job_last_success_timestamp_seconds",
                 job="send_pending_emails") == at_905
    assert value(figures, "onboarding_job_duration_seconds_count", job="send_pending_emails") == 1
    assert value(figures, "onboarding_job_duration_seconds_sum", job="send_pending_emails") > 0
    assert value(figures, "onboarding_webhook_events_received_total", kind="bounced") == 2
    assert value(figures, "onboarding_webhook_events_received_total", kind="delivered") == 1
    assert stalls.number in mailoutbox[-1].body and bad.number not in mailoutbox[-1].body

    # Later, with no job run since: the refused deployment email waits in the outbox for its retry.
    with time_machine.travel(local(START, 9, 10), tick=False):
        figures = scrape(client)
    assert value(figures, "onboarding_deployment_emails_due") == 0
    assert value(figures, "onboarding_outbox_backlog", kind="deployment") == 1
    assert value(figures, "onboarding_emails_failing", kind="deployment") == 1
    # Tomorrow: the day's counts start again; what is still open stays.
    with time_machine.travel(local(START + datetime.timedelta(days=1), 0, 1), tick=False):
        figures = scrape(client)
    assert value(figures, "onboarding_emails_sent_today", kind="deployment") == 0
    assert value(figures, "onboarding_orders_today", event="set_up") == 0
    assert value(figures, "onboarding_orders_stalled_open") == 1
    assert value(figures, "onboarding_emails_failing", kind="deployment") == 1


# --- The token -----------------------------------------------------------------------------------

def test_without_a_token_configured_the_endpoint_does_not_exist(client, admin_client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert admin_client.get("/metrics").status_code == 404  # a superuser's session is no key


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Bearer wrong-token",
                                           f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN,
                                           f"Bearer {TOKEN[:-1]}"])
def test_a_missing_or_wrong_token_is_refused_without_a_figure(client, token, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.content == b"Unauthorized\n"


def test_a_signed_in_superuser_without_the_token_is_refused(admin_client, token):
    assert admin_client.get("/metrics").status_code == 401


def test_the_token_opens_it_and_nothing_is_cached(client, token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert b"# TYPE onboarding_outbox_backlog gauge" in response.content


def test_prometheus_asking_for_openmetrics_gets_it(client, token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
                          HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.endswith(b"# EOF\n")


def test_a_short_metrics_token_is_a_start_up_error():
    result = run_manage("check", METRICS_TOKEN="short")
    assert result.returncode != 0
    assert "METRICS_TOKEN" in result.stderr and "short" not in result.stderr.split("METRICS_TOKEN")[0]


# --- Cost: a fixed number of queries, each on an index ------------------------------------------

# provisioning figures, history, outbox backlog, outbox sent, outbox bounced, jobs, webhooks
QUERIES_PER_SCRAPE = 7


def _busy_day(orders):
    with time_machine.travel(local(START, 8), tick=False):
        for i in range(orders):
            OrderFactory(requested_start_date=START,
                         deployment_contact_email=f"broken{i}@partner.example" if i % 3 else
                         "webex-deploy@partner.example")
        for kind in OutboundEmail.Kind.values:
            OutboundEmail.objects.create(kind=kind, to="someone@example.com", subject="s",
                                         body_text="b", next_attempt_at=local(START, 8))
    with time_machine.travel(local(START + datetime.timedelta(days=1), 9, 5), tick=False):
        tasks.send_due_deployment_emails()
        tasks.flag_stalled_provisioning()
        tasks.send_pending_emails()
        metrics.webhook_event("delivered")


@pytest.mark.parametrize("orders", [1, 12])
def test_a_scrape_costs_the_same_few_queries_whatever_the_rows(client, token, settings, orders,
                                                               django_assert_num_queries):
    settings.EMAIL_BACKEND = "tests.test_deployment_email.PickyBackend"
    _busy_day(orders)
    with django_assert_num_queries(QUERIES_PER_SCRAPE):
        scrape(client)


# Each business query and the index that must serve it (provisioning/models.py).
INDEXES = {
    "prov_email_due_idx": "email_next_attempt_at",
    "prov_stalled_open_idx": "stalled_at IS NOT NULL",
    "event_kind_at_idx": "provisioning_event",
    "outbox_pending_idx": '"sent_at" IS NULL',
    "outbox_sent_idx": '"sent_at" >=',
    "outbox_undelivered_idx": '"delivery_at" >=',
}


def test_every_business_query_of_a_scrape_is_served_by_its_index(client, token):
    """EXPLAIN of each query a scrape runs, with sequential scans priced out (SET enable_seqscan
    = off: on the test's few rows a scan would win anyway): each reads its partial index. Only
    JobStats and WebhookEventCount, one row per job or event kind, are read whole."""
    # A history of other kinds and days, and fresh statistics: on an empty table the planner's
    # choice between two indexes is a coin toss; with some history it is the one a real table
    # gets.
    order = OrderFactory()
    long_ago = local(START - datetime.timedelta(days=400), 9)
    Event.objects.bulk_create([Event(order=order, kind=Event.Kind.UPDATED, at=long_ago)
                               for _ in range(2000)])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Event._meta.db_table}")
    with CaptureQueriesContext(connection) as queries:
        scrape(client)
    plans = {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in queries.captured_queries:
            cursor.execute("EXPLAIN " + query["sql"])
            plans[query["sql"]] = "\n".join(row[0] for row in cursor.fetchall())
    for index, marker in INDEXES.items():
        served = [plan for sql, plan in plans.items() if marker in sql]
        assert served, f"no query of the scrape matches {marker!r}"
        assert any(re.search(rf"(Index (Only )?Scan using|Bitmap Index Scan on) {index}\b", plan) for plan in served), \
            f"{index} does not serve its query:\n" + "\n\n".join(served)
    small = [sql for sql in plans if not any(marker in sql for marker in INDEXES.values())]
    assert len(small) == 2 and all(JobStats._meta.db_table in sql or
                                   WebhookEventCount._meta.db_table in sql for sql in small)


# --- Job runs and webhook events -----------------------------------------------------------------

def test_a_job_that_raises_counts_as_a_failed_run_and_keeps_its_last_success():
    with time_machine.travel(local(START, 9), tick=False):
        with metrics.job_run("send_pending_emails") as run:
            run.rows = 4
    with time_machine.travel(local(START, 9, 1), tick=False):
        with pytest.raises(RuntimeError):
            with metrics.job_run("send_pending_emails") as run:
                run.rows = 7
                raise RuntimeError("SMTP exploded")
    stats = JobStats.objects.get(job="send_pending_emails")
    assert (stats.runs, stats.failures, stats.rows_total, stats.last_rows) == (2, 1, 4, 0)
    assert stats.last_run_at == local(START, 9, 1) and stats.last_success_at == local(START, 9)


def test_a_job_run_is_recorded_even_when_its_task_runs_as_a_worker_runs_it(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tasks.close_expired_setup_windows.apply().get() == 0
    assert JobStats.objects.get(job="close_expired_setup_windows").runs == 1


def test_webhook_events_are_counted_per_kind_and_odd_kinds_make_no_new_series():
    for kind in ("delivered", "bounced", "delivered", "Bounced", "x" * 40, "drop table", None, 3):
        metrics.webhook_event(kind)
    assert dict(WebhookEventCount.objects.values_list("kind", "received")) == {
        "delivered": 2, "bounced": 1, "other": 5}


def test_counting_a_webhook_event_never_fails_its_caller(monkeypatch, caplog):
    def broken_cursor(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    metrics.webhook_event("delivered")  # no exception
    with metrics.job_run("send_pending_emails"):
        pass
    monkeypatch.undo()
    assert "could not count a delivered webhook event" in caplog.text
    assert "could not record the run of send_pending_emails" in caplog.text
    assert not WebhookEventCount.objects.exists() and not JobStats.objects.exists()
