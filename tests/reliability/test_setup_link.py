"""Items 10-14, what the wizard's own tests leave out: 10,000 tampered or random tokens, links
built from SITE_URL whatever Host a request claims, a posted step name cannot jump past
unvalidated steps, and no password, token or secret in sessions (Redis and django_session) or
in the logs after a whole run from the link to Deploy."""
import logging
import re
import secrets
import string
import time

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client

from orgs.models import Membership, Organization, User
from provisioning.models import BillingPeriod, OutboundEmail, Provisioning, SetupLink
from provisioning.links import check_link, issue_link
from provisioning.tokens import hash_token
from tests.factories import OrderFactory, RepFactory
from tests.reliability import figures
from tests.wizard_helpers import (ADMIN_PASSWORD, current_step, open_link, post_step,
                                  as_sent, set_password, setup_url, walk)

pytestmark = pytest.mark.django_db
ALPHABET = string.ascii_letters + string.digits + "-_"


def tampered(raw):
    """Every one-character change, truncation and extension of a real token, and case flips."""
    for i, char in enumerate(raw):
        for other in ("A", "z", "0", "-", "_"):
            if other != char:
                yield raw[:i] + other + raw[i + 1:]
    for cut in range(1, len(raw)):
        yield raw[:cut]
        yield raw[cut:]
    for extra in ("=", "A", "==", "0" * 10):
        yield raw + extra
    yield raw.upper()
    yield raw.lower()
    yield raw.swapcase()
    yield raw[::-1]


def test_ten_thousand_tampered_and_random_tokens_open_nothing():
    orders = [OrderFactory() for _ in range(3)]
    real = [issue_link(o, o.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT) for o in orders]
    candidates = [t for raw in real for t in tampered(raw) if t not in real]
    while len(candidates) < 10_000:
        candidates.append(secrets.token_urlsafe(32) if len(candidates) % 2
                          else "".join(secrets.choice(ALPHABET) for _ in range(43)))
    candidates = candidates[:10_000]
    started = time.monotonic()
    # check_link is one indexed query per token: every tampered one goes through it, and all
    # 10,000 through the same lookup in bulk (their hashes), to keep the suite fast.
    tampered_count = len(candidates) - sum(1 for c in candidates if len(c) == 43 and c.isascii()
                                           and not any(c[:8] == r[:8] for r in real))
    accepted = [t for t in candidates[:max(tampered_count, 1000)] if check_link(t).link is not None]
    hashes = [hash_token(t) for t in candidates]
    accepted += list(SetupLink.objects.filter(token_hash__in=hashes).values_list("pk", flat=True))
    seconds = time.monotonic() - started
    assert accepted == []
    assert all(check_link(raw).ok for raw in real)  # the real ones still work
    figures.record("tampered_tokens", {"tried": len(candidates),
                                       "through_check_link": max(tampered_count, 1000),
                                       "accepted": 0, "seconds": round(seconds, 2)})


def test_a_tampered_token_through_the_page_opens_no_wizard(client):
    order = OrderFactory()
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    for n, token in enumerate(list(tampered(raw))[:60]):
        if not re.fullmatch(r"[A-Za-z0-9_-]{32,100}", token):
            continue
        response = client.get(f"/setup/{token}/", REMOTE_ADDR=f"198.51.100.{n}")
        assert response.status_code == 404
        assert client.get(setup_url(order)).status_code == 403  # no link in this session
    assert Provisioning.objects.get(pk=order.pk).setup_begun_at is None


# --- Links come from SITE_URL, never from the Host header ------------------------------------------

HOSTILE = "attacker.example"


def links_in(text):
    return re.findall(r"https?://[^\s\"'<>]+/setup/[A-Za-z0-9_-]+/", text)


@pytest.fixture
def any_host(settings):
    settings.ALLOWED_HOSTS = ["*"]  # as behind a proxy that forwards any Host
    settings.SITE_URL = "https://onboarding.example"


@pytest.mark.django_db(transaction=True)
def test_a_colleague_hand_off_from_a_hostile_host_links_to_site_url(any_host):
    order = OrderFactory()
    client = Client(HTTP_HOST=HOSTILE)
    open_link(client, order)
    walk(client, order, until="installer")
    post_step(client, order, "installer", {"choice": "colleague",
                                           "colleague_email": "colleague@partner.example"})
    email = OutboundEmail.objects.get(order=order, kind=OutboundEmail.Kind.COLLEAGUE)
    _subject, text, html = as_sent(email)
    found = links_in(text) + links_in(html)
    assert found and all(link.startswith("https://onboarding.example/setup/") for link in found)
    assert HOSTILE not in text + html


def test_a_rep_resend_from_a_hostile_host_links_to_site_url(any_host, mailoutbox):
    rep = RepFactory()
    order = OrderFactory(account_rep=rep)
    client = Client(HTTP_HOST=HOSTILE)
    client.force_login(rep)
    response = client.post(f"/reps/orders/{order.number}/resend/")
    assert response.status_code == 302
    [message] = mailoutbox
    html = message.alternatives[0][0]
    found = links_in(message.body) + links_in(html)
    assert found and all(link.startswith("https://onboarding.example/setup/") for link in found)
    assert HOSTILE not in message.body + html


def test_the_deployment_job_links_to_site_url(settings, mailoutbox):
    from provisioning import jobs

    settings.SITE_URL = "https://onboarding.example"
    order = OrderFactory()
    Provisioning.objects.filter(pk=order.pk).update(email_next_attempt_at="2000-01-01T00:00Z")
    jobs.send_due_deployment_emails()
    [message] = mailoutbox
    assert all(link.startswith("https://onboarding.example/setup/") for link in links_in(message.body))


# --- Steps cannot be skipped ---------------------------------------------------------------------

def nothing_created():
    return (Organization.objects.count(), User.objects.filter(membership__isnull=False).count(),
            Membership.objects.count()) == (0, 0, 0)


def test_posting_a_later_step_name_cannot_jump_past_unvalidated_steps(client):
    order = OrderFactory()
    open_link(client, order)
    post_step(client, order, "role", {"role": "partner"})
    for later in ("partner_org", "customer_admin", "customer_org", "confirm"):
        response = post_step(client, order, later, {})
        assert response.status_code in (200, 409), (later, response.status_code)
        assert current_step(response) != "confirm" or later != "confirm"
        assert nothing_created(), later
    # Confirm posted out of turn goes back to the first step that is not valid.
    response = post_step(client, order, "confirm", {})
    assert current_step(response) in ("installer", "role")
    assert Provisioning.objects.get(pk=order.pk).set_up_at is None
    # A goto to a step the path has not reached yet does not skip either.
    response = post_step(client, order, "role", {"role": "partner"}, wizard_goto_step="confirm")
    assert current_step(response) != "confirm" or nothing_created()
    assert Provisioning.objects.get(pk=order.pk).set_up_at is None


def test_resubmitting_confirm_after_it_succeeded_creates_nothing_more(client):
    order = OrderFactory()
    open_link(client, order)
    walk(client, order, until="confirm")
    first = post_step(client, order, "confirm")
    assert first.status_code == 302
    counts = (Organization.objects.count(), User.objects.count(), Membership.objects.count())
    for _ in range(3):  # the browser's "resubmit the form?" and the back button
        again = post_step(client, order, "confirm")
        assert again.status_code < 500
        client.get(setup_url(order))
    assert (Organization.objects.count(), User.objects.count(), Membership.objects.count()) == counts


# --- No secret in sessions or logs after a whole run ----------------------------------------------

def _all_redis_values(url):
    r = redis.Redis.from_url(url)
    return b"\n".join((r.get(key) or b"") for key in r.keys("*") if r.type(key) == b"string")


@pytest.mark.django_db(transaction=True)
def test_no_password_token_or_secret_in_sessions_or_logs_after_a_whole_run(redis_url, caplog):
    from django.contrib.auth.models import Group

    Group.objects.get_or_create(name=django_settings.REPS_GROUP)
    caplog.set_level(logging.DEBUG)
    order = OrderFactory(lines=["calling", "meetings"])
    client = Client()
    raw = open_link(client, order)
    walk(client, order)
    assert set_password(client, order).status_code == 302
    steps = {
        "subscription": {},
        "calling": {"country": "FR", "time_zone": "Europe/Paris", "location_name": "Lyon",
                    "main_number": "04 78 12 34 56"},
        "meetings": {"language": "fr", "time_zone": "Europe/Paris", "recording_allowed": "on"},
        "enterprise": {"subdomain": f"boulangerie-{order.pk}", "save": "1"},
        "deploy": {},
    }
    for step, data in steps.items():
        response = client.post(f"/orders/{order.number}/services/{step}/", data)
        assert response.status_code == 302, (step, response.status_code)
    assert BillingPeriod.objects.filter(subscription__order=order).count() == 2
    # Sign in and out again with the new password, as the person would.
    signed = Client()
    installer = User.objects.filter(membership__isnull=False).order_by("pk").first()
    signed.post("/accounts/login/", {"username": installer.email, "password": ADMIN_PASSWORD})
    # The scan below is not vacuous: both browsers' sessions are rows, holding what they hold.
    wizard_row = Session.objects.get(pk=client.cookies[django_settings.SESSION_COOKIE_NAME].value)
    signed_row = Session.objects.get(pk=signed.cookies[django_settings.SESSION_COOKIE_NAME].value)
    assert signed_row.get_decoded()["_auth_user_id"] == str(installer.pk)
    assert wizard_row.get_decoded()

    secrets_ = {"raw token": raw, "password": ADMIN_PASSWORD, "SECRET_KEY": django_settings.SECRET_KEY}
    stored = _all_redis_values(redis_url)
    rows = "\n".join(s.session_data + "\n" + str(s.get_decoded()) for s in Session.objects.all())
    logs = "\n".join(r.getMessage() + " " + str(r.args) for r in caplog.records)
    for name, value in secrets_.items():
        assert value.encode() not in stored, f"{name} in Redis"
        assert value not in rows, f"{name} in django_session"
        assert value not in logs, f"{name} in the logs"
    figures.record("secrets_after_full_run", {"redis_keys_scanned": len(redis.Redis.from_url(redis_url).keys("*")),
                                              "django_session_rows": Session.objects.count(),
                                              "log_records": len(caplog.records), "found": 0})
