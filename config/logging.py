"""Logs never carry a live token: the paths of emailed links are written with their secret part
replaced (Django logs the path of every 4xx/5xx answer, and runserver of every request).

LOG_FORMAT=json (config/settings.py) writes one JSON object a line (JsonFormatter): time, level,
logger, message, and the order number and the beat job where they apply. The job is the one
running in this thread or task (`current_job`, set by provisioning.metrics.job_run); the order
is what a log call passes as `extra={"order": number}`."""
import contextvars
import datetime
import json
import logging
import re

# /setup/<token>/, /invitations/<token>/, /join-requests/<token>/, /accounts/reset/<uid>/<token>/
TOKEN_PATHS = re.compile(r"(/(?:setup|invitations|join-requests)/)(?!orders/)[\w-]{8,}(/)"
                         r"|(/accounts/reset/[\w-]+/)[\w-]{8,}(/)")


def redact(text):
    return TOKEN_PATHS.sub(lambda m: f"{m.group(1) or m.group(3)}[redacted]{m.group(2) or m.group(4)}",
                           text)


class RedactTokens(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


# The beat job running in this context (a Celery task runs in one thread, start to end).
current_job = contextvars.ContextVar("current_job", default=None)

# What a log call may add with extra={…}; anything else a library passes in `extra` (Django's
# request object, whose repr holds the path) is never written.
EXTRA_FIELDS = ("order", "email_id")


class JsonFormatter(logging.Formatter):
    """One JSON object a line. Every line goes through `redact` as a whole, exception included:
    the filter above covers the loggers that write request paths, this covers everything else."""

    def format(self, record):
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
                    .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value if isinstance(value, (int, float)) else str(value)
        job = getattr(record, "job", None) or current_job.get()
        if job:
            entry["job"] = job
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))
