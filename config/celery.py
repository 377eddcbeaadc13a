import os

from celery import Celery
from celery.signals import task_prerun, worker_init

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
