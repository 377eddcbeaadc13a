import pytest

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


def test_healthz_is_503_and_names_the_broker_when_it_is_down(client, settings):
    from config.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens on port 9
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "down"}


def test_healthz_is_503_and_names_the_database_when_it_is_down(client, monkeypatch):
    """A real connection to a port where no database listens: the check must catch the failure."""
    from django.db import connection

    from config import views

    dead = type(connection)({**connection.settings_dict, "HOST": "127.0.0.1", "PORT": 9,
                             "OPTIONS": {"connect_timeout": 1}}, alias="dead")
    monkeypatch.setattr(views, "connection", dead)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "down", "broker": "ok"}
