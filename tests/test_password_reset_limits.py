"""Forgot password: limited per client address and per email asked for, and the answer never
tells whether an address has an account, nor whether a limit was reached."""
import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import PartnerOrgFactory
from tests.service_helpers import member_of

pytestmark = pytest.mark.django_db
URL = "/accounts/password_reset/"
KNOWN, UNKNOWN = "known@partner.example", "nobody@nowhere.example"


@pytest.fixture(autouse=True)
def _setup(time_machine, db):
    # Fixed counting windows: none may end in the middle of a test.
    time_machine.move_to(datetime.datetime(2026, 11, 20, 10, 0, tzinfo=datetime.timezone.utc),
                         tick=False)
    member_of(PartnerOrgFactory(), KNOWN)


def ask(email, address="203.0.113.7"):
    return Client().post(URL, {"email": email}, REMOTE_ADDR=address)


def what_the_asker_sees(response):
    """Everything a browser gets: status, headers that differ per answer, the page it lands on."""
    page = Client().get(response["Location"])
    # Each page carries its own CSRF token (the language switch), known or not.
    content = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", page.content)
    return (response.status_code, response["Location"], response.get("Set-Cookie"),
            page.status_code, content)


def test_a_known_and_an_unknown_address_get_the_same_answer(mailoutbox):
    assert what_the_asker_sees(ask(KNOWN)) == what_the_asker_sees(ask(UNKNOWN, "203.0.113.8"))
    assert [m.to for m in mailoutbox] == [[KNOWN]]


def test_one_address_gets_three_reset_emails_an_hour_whoever_asks(mailoutbox):
    answers = [ask(KNOWN.upper() if n % 2 else KNOWN, f"198.51.100.{n}") for n in range(5)]
    assert len(mailoutbox) == 3
    # The limited requests are answered exactly as the ones that sent an email.
    assert len({what_the_asker_sees(answer) for answer in answers}) == 1
    assert what_the_asker_sees(answers[-1]) == what_the_asker_sees(ask(UNKNOWN, "198.51.100.99"))


def test_one_client_address_asks_twenty_times_an_hour_then_nothing_is_sent(mailoutbox):
    for n in range(20):
        ask(f"someone{n}@nowhere.example")
    limited = ask(KNOWN)
    assert mailoutbox == []
    assert what_the_asker_sees(limited) == what_the_asker_sees(ask(UNKNOWN, "203.0.113.99"))
    # Someone else, elsewhere, is not affected.
    ask(KNOWN, address="192.0.2.10")
    assert [m.to for m in mailoutbox] == [[KNOWN]]


def test_an_hour_later_the_address_gets_its_email_again(mailoutbox, time_machine):
    for n in range(4):
        ask(KNOWN, f"198.51.100.{n}")
    assert len(mailoutbox) == 3
    time_machine.shift(datetime.timedelta(hours=1, minutes=1))
    ask(KNOWN)
    assert len(mailoutbox) == 4


@pytest.mark.no_reset_worker
def test_the_request_does_the_same_work_for_any_address_and_a_worker_sends_the_email(
        mailoutbox, monkeypatch):
    """What a stopwatch could tell apart: the request sends nothing itself and runs the same
    queries for a known and an unknown address; the worker makes the token as it sends."""
    from provisioning import password_reset

    enqueued = []
    monkeypatch.setattr(password_reset.send_password_reset, "apply_async",
                        lambda args, **_options: enqueued.append(args))
    work = {}
    for email, address in ((KNOWN, "203.0.113.1"), (UNKNOWN, "203.0.113.2")):
        with CaptureQueriesContext(connection) as queries:
            ask(email, address)
        work[email] = [query["sql"] for query in queries]
    assert work[KNOWN] == work[UNKNOWN]
    assert mailoutbox == []
    assert enqueued == [(KNOWN, "en"), (UNKNOWN, "en")]  # an address and a language, no token

    for args in enqueued:  # the worker
        password_reset.send_password_reset(*args)
    assert [m.to for m in mailoutbox] == [[KNOWN]]
    link = re.search(r"https://onboarding\.example(/accounts/reset/\S+/\S+/)", mailoutbox[0].body)
    assert Client().get(link.group(1)).status_code == 302  # to the form: a valid token


@pytest.mark.no_reset_worker
def test_with_the_broker_down_the_email_is_still_sent(mailoutbox, monkeypatch):
    from config.breaker import redis_breaker

    redis_breaker.trip(ConnectionError("Redis down"))
    ask(KNOWN)
    assert [m.to for m in mailoutbox] == [[KNOWN]]
