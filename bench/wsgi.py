"""Bench-only WSGI entry (bench/bench_wizard.py runs gunicorn on it): the site as config.wsgi
serves it, except /bench/textbook/, which goes through a handler with Django's stock middleware
list (what `startproject` writes), so the textbook floor pays for none of the project's
middleware while sharing the process, the settings, the database and the session engine."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test.client import ClientHandler  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

# Django 5.2's `startproject` settings.
STOCK_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEXTBOOK_PREFIX = "/bench/textbook/"


class StockMiddleware:
    """A handler mixin: its middleware chain is STOCK_MIDDLEWARE, whatever settings say."""

    def load_middleware(self, is_async=False):
        with override_settings(MIDDLEWARE=STOCK_MIDDLEWARE):
            super().load_middleware(is_async)


class StockWSGIHandler(StockMiddleware, WSGIHandler):
    pass


class StockClientHandler(StockMiddleware, ClientHandler):
    """The same chain for Django's test client (the in-process figures)."""


site = get_wsgi_application()
textbook = StockWSGIHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(TEXTBOOK_PREFIX):
        return textbook(environ, start_response)
    return site(environ, start_response)
