import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("onboarding")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def keep_database_connections(**_):
    """Workers reuse their PostgreSQL connection for WORKER_CONN_MAX_AGE seconds."""
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = settings.WORKER_CONN_MAX_AGE


@task_prerun.connect
def drop_unusable_connection(task=None, **_):
    """Before each task: a connection that broke (PostgreSQL restarted) or outlived its age is
    replaced, so the task starts on a working one. Never inside a transaction, where closing
    would lose the caller's work (an eager task called from a view or a test)."""
    from django.db import close_old_connections, connection

    if getattr(getattr(task, "request", None), "is_eager", False) or connection.in_atomic_block:
        return
    close_old_connections()


@after_setup_logger.connect
@after_setup_task_logger.connect
def json_logs_in_workers(logger=None, **_):
    """Celery's worker and beat replace the root logger's handlers with their own: with
    LOG_FORMAT=json those write JSON lines too (config/logging.py), at Celery's --loglevel."""
    from django.conf import settings

    if settings.LOG_FORMAT != "json" or logger is None:
        return
    from config.logging import JsonFormatter, RedactTokens

    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RedactTokens())
