from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from config.celery import app as celery_app


def _database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok():
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
        return True
    except Exception:
        return False


def healthz(request):
    """200 when the database and the broker answer; 503 naming the one that did not."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    status = 200 if all(checks.values()) else 503
    body = {name: ("ok" if ok else "down") for name, ok in checks.items()}
    return JsonResponse(body, status=status)


def csrf_failure(request, reason=""):
    """Django's CSRF refusal with a way back: the page the form was sent from, to reload. The
    usual cause is a tab left open while signing in elsewhere (the password step signs in),
    which gives the browser a new token."""
    return render(request, "403_csrf.html", {"retry_url": request.path}, status=403)
