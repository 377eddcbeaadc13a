"""Logs never carry a live token: the paths of emailed links are written with their secret part
replaced (Django logs the path of every 4xx/5xx answer, and runserver of every request)."""
import contextvars
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


# The beat job running in this context (a Celery task runs in one thread, start to end), set by
# provisioning.metrics.job_run.
current_job = contextvars.ContextVar("current_job", default=None)
