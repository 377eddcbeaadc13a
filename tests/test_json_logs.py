"""LOG_FORMAT=json (config/logging.py): one JSON object a line, with the order number and the job
where they apply, and the emailed links' tokens still redacted."""
import datetime
import io
import json
import logging
from zoneinfo import ZoneInfo

import pytest
import time_machine

from config.celery import json_logs_in_workers
from config.logging import JsonFormatter, RedactTokens
from provisioning import tasks
from tests.factories import OrderFactory
from tests.test_settings import run_manage

TOKEN = "Zq8vR2mN7pL4tX9wB3yH6cJ1"


@pytest.fixture
def json_lines():
    """What the `provisioning` loggers write through the JSON formatter, line by line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("provisioning")
    logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)


@pytest.mark.django_db
def test_a_job_s_log_line_is_one_json_object_with_the_order_number_and_the_job(settings,
                                                                              json_lines):
    settings.EMAIL_BACKEND = "tests.test_deployment_email.PickyBackend"
    start = datetime.date(2026, 12, 1)
    bad = OrderFactory(requested_start_date=start, deployment_contact_email="broken@partner.example")
    OrderFactory(requested_start_date=start)
    moment = datetime.datetime(2026, 12, 1, 9, 5, tzinfo=ZoneInfo(settings.TIME_ZONE))
    with time_machine.travel(moment, tick=False):
        assert tasks.send_due_deployment_emails()["failed"] == 1

    lines = json_lines()
    assert len(lines) == 1
    assert lines[0] == {
        "time": "2026-12-01T08:05:00.000Z", "level": "WARNING",
        "logger": "provisioning.outbox",
        "message": f"deployment email for {bad.number} failed: "
                   "{'broken@partner.example': (550, b'no such user')}",
        "order": bad.number, "job": "send_due_deployment_emails"}


def test_outside_a_job_a_line_names_no_job_and_keeps_its_exception(json_lines):
    log = logging.getLogger("provisioning.outbox")
    try:
        raise ValueError(f"fetching /setup/{TOKEN}/ failed")
    except ValueError:
        log.exception("outbox email %s could not be delivered", 42, extra={"email_id": 42})
    (line,) = json_lines()
    assert "job" not in line and "order" not in line
    assert line["email_id"] == 42 and line["level"] == "ERROR"
    assert line["exception"].startswith("Traceback") and "ValueError" in line["exception"]
    assert TOKEN not in json.dumps(line) and "/setup/[redacted]/" in line["exception"]


def test_a_library_s_extra_object_is_never_written():
    """Django's request logger passes the request itself in `extra`: its repr holds the path."""
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s",
                               (f"/invitations/{TOKEN}/",), None)
    record.request = f"<WSGIRequest: GET '/invitations/{TOKEN}/'>"
    record.status_code = 404
    line = json.loads(JsonFormatter().format(record))
    assert set(line) == {"time", "level", "logger", "message"}
    assert line["message"] == "Not Found: /invitations/[redacted]/"


def _manage_logs(code, **env):
    result = run_manage("shell", "-c", "import logging; " + code, **env)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_with_log_format_json_the_site_s_logs_are_json_and_a_redacted_path_stays_redacted():
    """The real settings, in a new process: Django's request logger with its redacting filter,
    through the JSON handler."""
    lines = _manage_logs(
        "logging.getLogger('django.request').warning('Not Found: %s', "
        f"'/setup/{TOKEN}/', extra={{'status_code': 404}}); "
        "logging.getLogger('provisioning.jobs').error('reset link /accounts/reset/MQ/"
        f"{TOKEN}/ bounced', extra={{'order': 'CCW-1'}})",
        LOG_FORMAT="json")
    entries = [json.loads(line) for line in lines]
    assert [(e["logger"], e["level"], e["message"]) for e in entries] == [
        ("django.request", "WARNING", "Not Found: /setup/[redacted]/"),
        ("provisioning.jobs", "ERROR", "reset link /accounts/reset/MQ/[redacted]/ bounced")]
    assert entries[1]["order"] == "CCW-1"
    assert all(TOKEN not in line for line in lines)
    datetime.datetime.fromisoformat(entries[0]["time"])


def test_logs_stay_plain_lines_by_default():
    (line,) = _manage_logs(f"logging.getLogger('django.request').warning('Not Found: /setup/{TOKEN}/')")
    assert not line.startswith("{")
    assert line.endswith("WARNING django.request Not Found: /setup/[redacted]/")


def test_an_unknown_log_format_is_a_start_up_error():
    result = run_manage("check", LOG_FORMAT="xml")
    assert result.returncode != 0 and "LOG_FORMAT" in result.stderr


def test_celery_s_own_log_handlers_write_json_too(settings):
    """Celery's worker and beat replace the root logger's handlers: in JSON mode ours format them."""
    logger = logging.getLogger("test-celery-root")
    stream = io.StringIO()
    logger.addHandler(logging.StreamHandler(stream))
    logger.propagate = False
    settings.LOG_FORMAT = "plain"
    json_logs_in_workers(logger=logger)
    assert not isinstance(logger.handlers[0].formatter, JsonFormatter)
    settings.LOG_FORMAT = "json"
    json_logs_in_workers(logger=logger)
    logger.warning("Task failed for /join-requests/%s/", TOKEN)
    line = json.loads(stream.getvalue())
    assert line["message"] == "Task failed for /join-requests/[redacted]/"
    assert any(isinstance(f, RedactTokens) for f in logger.handlers[0].filters)
