"""Settings, all from the environment (django-environ). Defaults run on a bare machine:
SQLite under var/, a filesystem Celery broker, console email. See README.md."""
import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)



class StrictEnv(environ.Env):
    """django-environ, except that a boolean that is neither true nor false is an error."""

    BOOLEAN = {"true", "1", "yes", "on", "false", "0", "no", "off", ""}

    def bool(self, var, default=environ.Env.NOTSET):
        raw = self.str(var, default="" if default is not environ.Env.NOTSET else environ.Env.NOTSET)
        if raw.strip().lower() not in self.BOOLEAN:
            raise ImproperlyConfigured(f"{var}={raw!r} is not a boolean (use true or false).")
        return super().bool(var, default=default)


# A bad value (DEBUG=maybe, a malformed URL) raises ImproperlyConfigured at start: loud, early.
env = StrictEnv()

DEBUG = env.bool("DEBUG", default=False)
# The development key is public (it is in this file): it signs sessions and password-reset
# links, so anyone could forge both on a site that runs on it. It is the default only
# where that cannot matter: DEBUG (`make run`) or ALLOW_DEV_SECRET_KEY=1 (the test suite: set by
# tests/conftest.py and scripts/services.py). Anywhere else, whatever the settings module, the
# process refuses to start.
DEV_SECRET_KEY = "dev-only-insecure-key-change-me-" + "x" * 20
ALLOW_DEV_SECRET_KEY = DEBUG or env.bool("ALLOW_DEV_SECRET_KEY", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY if ALLOW_DEV_SECRET_KEY else "")
if not SECRET_KEY or (SECRET_KEY == DEV_SECRET_KEY and not ALLOW_DEV_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set (or is the public development key) and DEBUG is off. Set SECRET_KEY "
        "to a long random value, the same in every web and worker process, e.g. "
        "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))').")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # OpClass in the trigram indexes' migrations (config/search_indexes.py) needs its app; on
    # SQLite it does nothing.
    "django.contrib.postgres",
    "formtools",
    "axes",
    "django_ratelimit",
    "django_countries",
    "anymail",
    "orgs",
    "orders",
    "provisioning",
    "onboarding",
]
# Benchmarks only (bench/bench_wizard.py): the bench views' templates; config/urls.py mounts them.
if env.bool("BENCH_VIEWS", default=False):
    INSTALLED_APPS.append("bench")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Near the top: every answer gets the headers, also the redirects the middleware below
    # makes itself (a missing slash, a staff session that timed out).
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.middleware.StaffIdleTimeoutMiddleware",  # after messages: it says why you left
    "config.middleware.JsonApiErrorsMiddleware",
    # Last, so its lockout answer replaces the sign-in page's: config/login.py.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "orgs.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "onboarding:my_orders"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Django's form renderer with its input widgets written in Python (config/form_renderer.py).
FORM_RENDERER = "config.form_renderer.Renderer"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Celery workers keep their connection between tasks: opening one per task is a large part of
# an outbox email's cost. Celery's Django fix-up would close it after every task; with
# DB_REUSE_MAX it leaves that to config/celery.py, which checks the connection before each task.
WORKER_CONN_MAX_AGE = env.int("WORKER_CONN_MAX_AGE", default=60)
CELERY_DB_REUSE_MAX = 1000
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis: with IGNORE_EXCEPTIONS a Redis that is down or hung answers as an
            # empty cache (a read misses, a write is dropped), never a 500. A hung one costs a
            # socket timeout per call, so the client goes through the breaker shared with the
            # broker (config/breaker.py): one timeout, then no wait. docs/RELIABILITY.md item 6.
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1, "IGNORE_EXCEPTIONS": True,
                        "REDIS_CLIENT_CLASS": "config.breaker.BreakerRedis"},
            "KEY_PREFIX": "onb",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions are rows in django_session, read by primary key on each request; Redis never holds
# one, so a Redis outage signs nobody out and cannot bring back a session ended during it
# (Django's cached_db did: docs/RELIABILITY.md item 6, with the figures of this choice).
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# The client's address behind reverse proxies (config/client.py): how many stand in front of the
# site, and/or their addresses. 0 and none: REMOTE_ADDR, and X-Forwarded-For is never read.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Sign-in lockouts (django-axes): five failures for one account from one client address lock that
# pair for 15 minutes, even with the right password. Keyed on the pair, so guesses from elsewhere
# never lock the real person out of their own address, superusers included. Both our sign-in
# page and the admin's; attempts are rows in PostgreSQL, so Redis being down changes nothing.
AUTHENTICATION_BACKENDS = ["config.login.LockoutBackend"]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.client.client_ip"
AXES_USERNAME_CALLABLE = "config.login.axes_username"
AXES_LOCKOUT_CALLABLE = "config.login.lockout_response"
# Axes' own logs repeat what a sign-in already records (last_login); failures stay as attempts.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Rate limits (django-ratelimit, through config/ratelimits.py), every rate in one place. A limit
# reached answers as its page says: password reset exactly as a success, the API 429 with
# Retry-After, a setup link 429. Counters live in the cache: if Redis is down they fail open.
RATE_LIMITS = {
    "password-reset-address": "20/h",   # reset requests from one client address
    "password-reset-email": "3/h",      # reset emails to one address, whoever asks
    "api-key": "120/m",                 # POST /api/orders per API key
    "setup-bad-token": "20/10m",        # unknown setup links from one client address
    "wizard-email-address": "20/h",     # the wizard's verification emails, per client address
    "wizard-email-recipient": "5/h",    # ... and per recipient
}
RATELIMIT_IP_META_KEY = "config.client.client_ip"
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True
# django-redis is a cache django-ratelimit supports; without Redis (`make run` alone) there is one
# web process, whose memory may hold the counters.
SILENCED_SYSTEM_CHECKS = [] if REDIS_URL else ["django_ratelimit.W001", "django_ratelimit.E003"]

# Staff sessions end after this long without a request (config/middleware.py); partners keep
# Django's session length.
STAFF_IDLE_TIMEOUT = datetime.timedelta(minutes=env.int("STAFF_IDLE_TIMEOUT", default=30))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Countries (django-countries: ISO 3166-1, names in English and French). Kosovo has no ISO code
# yet but a phone plan (+383) and customers; its name is the same in both languages.
COUNTRIES_OVERRIDE = {"XK": "Kosovo"}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serves static/ directly too, so a missed collectstatic is no 404
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Email: EMAIL_URL in django-environ's form (smtp://user:pass@host:port, consolemail://,
# filemail:///path). Lowercase names: Django's error pages would show an SMTP password otherwise.
_email_url = env.str("EMAIL_URL", default="consolemail://")
_email = env.email_url_config(_email_url)
_parts = urlsplit(_email_url)
if _parts.scheme == "filemail" and (_parts.netloc or _parts.path):
    # django-environ reads filemail:///var/mail as the relative folder "var/mail" (it wants four
    # slashes for an absolute one), so each process would write wherever it was started. Here
    # filemail:///var/mail and filemail:////var/mail both mean /var/mail, and filemail://var/mail
    # means var/mail in the project folder, whatever the current directory.
    _folder = unquote(_parts.netloc + _parts.path)
    _email["EMAIL_FILE_PATH"] = ("/" + _folder.lstrip("/") if _folder.startswith("/")
                                 else str(BASE_DIR / _folder))
vars().update(_email)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# EMAIL_ESP=mailgun sends through Mailgun's API (django-anymail) instead of EMAIL_URL, and its
# signed tracking webhook, /webhooks/mailgun/tracking/, reports each email's delivery, bounce or
# complaint (provisioning/delivery.py). Each key is required then; the webhook answers 404
# without a signing key. WEBHOOK_SECRET ("user:password") adds basic auth to the webhook's URL.
EMAIL_ESP = env.str("EMAIL_ESP", default="").strip().lower()
ANYMAIL = {}
if env.str("ANYMAIL_WEBHOOK_SECRET", default=""):
    ANYMAIL["WEBHOOK_SECRET"] = env.str("ANYMAIL_WEBHOOK_SECRET")
if EMAIL_ESP == "mailgun":
    EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    ANYMAIL.update({f"MAILGUN_{name}": env.str(f"MAILGUN_{name}")
                    for name in ("API_KEY", "SENDER_DOMAIN", "WEBHOOK_SIGNING_KEY")})
    ANYMAIL["MAILGUN_API_URL"] = env.str("MAILGUN_API_URL", default="https://api.mailgun.net/v3")
elif EMAIL_ESP:
    raise ImproperlyConfigured(f"EMAIL_ESP={EMAIL_ESP!r}: use mailgun, or leave it unset for EMAIL_URL.")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Webex onboarding <no-reply@onboarding.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: Redis when REDIS_URL is set, else a filesystem broker that needs no server.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Publishing while Redis is down fails in one socket_timeout (max_retries 0 = one attempt),
    # not Celery's default minutes of retries: the work is in PostgreSQL already
    # (config/breaker.py, provisioning/outbox.py). Workers reconnect by their own retry settings.
    # visibility_timeout: an unacknowledged task is handed to another worker after this long, so
    # every countdown and retry backoff stays below it (tests/reliability/test_beat.py).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 7200, "socket_connect_timeout": 1,
                                       "socket_timeout": 2, "max_retries": 0,
                                       "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
else:
    _broker = VAR_DIR / "broker"
    for sub in ("in", "processed", "control"):
        (_broker / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "in"),
        "data_folder_out": str(_broker / "in"),
        "data_folder_processed": str(_broker / "processed"),
        "control_folder": str(_broker / "control"),
        "visibility_timeout": 7200,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_IMPORTS = ["provisioning.password_reset"]  # tasks outside provisioning/tasks.py
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"  # beat runs in UTC; business hours are computed in TIME_ZONE by the jobs.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Deployment emails due now (start date reached, business hour passed); catches up after gaps.
    "send-due-deployment-emails": {
        "task": "provisioning.tasks.send_due_deployment_emails", "schedule": 120.0},
    # Orders not set up one day after their start date: flag once, tell the rep once.
    "flag-stalled-provisioning": {
        "task": "provisioning.tasks.flag_stalled_provisioning", "schedule": 300.0},
    # Outbox sweep: emails written in a transaction whose task never reached the broker.
    "send-pending-emails": {"task": "provisioning.tasks.send_pending_emails", "schedule": 60.0},
    # Nudges: the contact a day after an email nobody acted on; installer and rep before a
    # window closes. Each claims its rows in one update: two beats never send one twice.
    "send-setup-reminders": {"task": "provisioning.tasks.send_setup_reminders", "schedule": 900.0},
    "send-window-reminders": {"task": "provisioning.tasks.send_window_reminders", "schedule": 900.0},
    # Closes orders whose setup window has ended.
    "close-expired-setup-windows": {
        "task": "provisioning.tasks.close_expired_setup_windows", "schedule": crontab(minute=7)},
    # Sessions are rows in django_session (SESSION_ENGINE) and Django never deletes expired
    # ones by itself: without this the table only grows.
    "clear-expired-sessions": {
        "task": "provisioning.tasks.clear_expired_sessions", "schedule": crontab(hour=3, minute=17)},
}

# Product rules, in one place.
DEPLOYMENT_EMAIL_HOUR = env.int("DEPLOYMENT_EMAIL_HOUR", default=9)  # local time on the start date
SETUP_WINDOW_DAYS = 30
SETUP_WINDOW_DAYS_FLEX = 7
# The installer (or contact) and the rep are reminded this many days before the window closes.
WINDOW_REMINDER_DAYS = 3
WINDOW_REMINDER_DAYS_FLEX = 1
REPS_GROUP = "Account representatives"
# Deploy starts billing: a session that last entered its password longer ago than this (seconds)
# is asked for it again.
REAUTHENTICATE_AFTER = env.int("REAUTHENTICATE_AFTER", default=15 * 60)
# An address typed in the wizard that is not the link's own is proven by a code sent to it.
EMAIL_CODE_TTL = 15 * 60         # seconds a code stays valid
EMAIL_CODE_TRIES = 5             # wrong codes before a new one must be asked for

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Logs: plain lines, or LOG_FORMAT=json for one JSON object a line (time, level, logger, message,
# and the order number and beat job where they apply: config/logging.py). Either way the paths of
# emailed links lose their token; the JSON formatter also redacts each whole line.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "json": {"()": "config.logging.JsonFormatter"}},
    "filters": {"redact_tokens": {"()": "config.logging.RedactTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    # The loggers that write request paths: an emailed link's path holds its token.
    "loggers": {name: {"filters": ["redact_tokens"]}
                for name in ("django.request", "django.server", "django.security.csrf")},
}

# Operators' metrics (provisioning/metrics.py): GET /metrics with "Authorization: Bearer
# <METRICS_TOKEN>". Unset, the endpoint does not exist (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured(
        "METRICS_TOKEN is shorter than 32 characters. Use a long random value, e.g. "
        "METRICS_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))').")
