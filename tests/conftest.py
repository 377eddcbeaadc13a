import os
import uuid

# Before pytest-django reads the settings: the suite runs with DEBUG off on the public
# development key (config/settings.py), which only this and scripts/services.py allow.
os.environ.setdefault("ALLOW_DEV_SECRET_KEY", "1")

import pytest
from django.conf import settings

HOW_TO_FIX = (
    "The suite runs against real PostgreSQL and Redis. Run it with `make test`, which starts "
    "throwaway servers (Debian packages postgresql and redis-server; `make deps` installs them), "
    "or set DATABASE_URL=postgres://… and REDIS_URL=redis://… yourself."
)


def pytest_configure(config):
    # Production hashes with PBKDF2 (a million rounds, by design slow); tests need not.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    missing = []
    if not settings.IS_POSTGRES:
        missing.append("DATABASE_URL is not a PostgreSQL URL")
    if not settings.REDIS_URL:
        missing.append("REDIS_URL is not set")
    if missing:
        pytest.exit(f"{'; '.join(missing)}. {HOW_TO_FIX}", returncode=2)


@pytest.fixture(autouse=True)
def _site_settings(settings):
    settings.SITE_URL = "https://onboarding.example"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # Rate-limit counters live in Redis, which outlives each test's database: each test counts
    # in its own buckets (most requests of the suite come from 127.0.0.1).
    settings.RATELIMIT_CACHE_PREFIX = f"rl:{uuid.uuid4().hex}:"
    # The email provider's webhook is configured (its signature checked); sending stays on
    # Django's locmem backend unless a test picks tests.esp's (provider message ids).
    from tests import esp

    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": esp.SIGNING_KEY}


@pytest.fixture(autouse=True)
def _redis_breaker_closed():
    """The Redis breaker is per process: a test that tripped it must not silence the next one."""
    from config.breaker import redis_breaker

    redis_breaker.reset()
    yield
    redis_breaker.reset()


@pytest.fixture(autouse=True)
def _own_chart_cache(request, monkeypatch):
    """The dashboard chart caches past days in Redis, which outlives each test's database."""
    from provisioning import selectors

    monkeypatch.setattr(selectors, "CHART_CACHE_KEY", f"chart-{request.node.nodeid}")


@pytest.fixture(autouse=True)
def _english_unless_asked():
    """Each test starts in English: a test that activates French must not leak it to the next."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture(autouse=True, scope="session")
def _celery_tasks_registered():
    """The suite's Celery runs tasks eagerly, but only those this process registered: a worker
    imports provisioning.tasks, a web process hands work over by name (provisioning/outbox.py).
    Registered here, a test run alone delivers its emails as it does within the whole suite."""
    import provisioning.tasks  # noqa: F401


@pytest.fixture(autouse=True)
def password_reset_worker(request, monkeypatch):
    """Password reset emails are sent by a Celery worker, and the suite runs none: the task runs
    as soon as it is enqueued, with the arguments a worker would get (tests marked
    `no_reset_worker` see only what the request itself does)."""
    if request.node.get_closest_marker("no_reset_worker"):
        return
    from provisioning import password_reset

    monkeypatch.setattr(password_reset.send_password_reset, "apply_async",
                        lambda args, **_options: password_reset.send_password_reset.apply(args))


@pytest.fixture(autouse=True)
def deployment_email_worker(request, monkeypatch):
    """A rep's resend, change of contact or re-open writes the deployment email to the outbox and
    a Celery worker delivers it after the request commits; the suite runs no worker, so it is
    delivered as soon as it is written (tests marked `no_deployment_worker` see only the
    request, and the hand-off after commit)."""
    if request.node.get_closest_marker("no_deployment_worker"):
        return
    from provisioning import deployment_email, outbox

    real = deployment_email.queue_now

    def deliver_right_away(provisioning):
        # Most tests run inside one transaction that never commits: the worker's delivery runs
        # at once instead, and the request's own answer is unchanged.
        batch = real(provisioning)
        for email in batch:
            outbox.deliver(email.pk)
        return batch

    monkeypatch.setattr(deployment_email, "queue_now", deliver_right_away)


@pytest.fixture
def redis_url():
    return os.environ["REDIS_URL"]
