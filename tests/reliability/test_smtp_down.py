"""Item 7: SMTP down. A real SMTP server on loopback (tests/reliability/servers.py) that first
refuses connections, then answers 451 to every message, then accepts: the deployment email and
outbox emails are retried with backoff, marked sent only once the server accepted them, the
failure shows on the rep dashboard, and a person's page is the same whether mail works or not."""
import datetime
import re

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client

from provisioning import jobs, outbox
from provisioning.models import OutboundEmail, Provisioning
from provisioning.tasks import deliver_email
from tests.factories import OrderFactory, RepFactory
from tests.helpers import local, run_at, sweep_at
from tests.reliability import figures
from tests.reliability.servers import SmtpSink
from tests.wizard_helpers import open_link, post_step, walk

START = datetime.date(2026, 12, 1)
@pytest.fixture
def smtp(settings):
    sink = SmtpSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.TIME_ZONE = "Europe/Paris"
    settings.DEPLOYMENT_EMAIL_HOUR = 9
    yield sink
    sink.refuse()


@pytest.mark.django_db
def test_the_deployment_email_waits_for_the_mail_server_and_goes_once(smtp):
    rep = RepFactory()
    order = OrderFactory(requested_start_date=START, account_rep=rep)
    # 1. Nothing listens: connection refused.
    run = run_at(local(START, 9))
    assert run.sent == [] and len(run.failed) == 1
    row = Provisioning.objects.select_related("outbox_email").get(pk=order.pk)
    assert row.email_sent_at is None and row.email_attempts == 1
    assert "Connection refused" in row.email_last_error or "111" in row.email_last_error
    email = row.outbox_email  # the outbox retries it
    first_retry = email.next_attempt_at
    # 2. The server answers but rejects the message (451): still not sent, backoff grows.
    smtp.start()
    smtp.reject()
    assert sweep_at(first_retry - datetime.timedelta(seconds=1))["failed"] == 0  # not before backoff
    assert run_at(first_retry).failed == []  # the job never sends it twice
    assert sweep_at(first_retry)["failed"] == 1
    row.refresh_from_db()
    email.refresh_from_db()
    assert row.email_sent_at is None and row.email_attempts == 2 and "451" in row.email_last_error
    assert email.next_attempt_at - first_retry > first_retry - local(START, 9)  # backing off
    assert smtp.messages == []
    # 3. Reps see it: on the start date in the failing-emails panel, with the server's answer;
    # the next day the order is stalled and listed under "Email failed".
    reps = Client()
    reps.force_login(rep)
    with time_machine.travel(local(START, 9, 5), tick=False):
        page = reps.get("/reps/stalled/").content.decode()
    panel = page[page.index('id="failing-title"'):]
    assert order.number in panel and "451" in panel
    with time_machine.travel(local(START, 9) + datetime.timedelta(days=1, minutes=1), tick=False):
        jobs.flag_stalled_provisioning()
        reps.force_login(rep)  # a new day's sign-in: a staff session idle a day has ended
        page = reps.get("/reps/stalled/", {"setup": "email_failed"}).content.decode()
    assert order.number in page
    # 4. The server accepts: sent once, marked sent, never again.
    smtp.start() if smtp._server is None else None
    smtp.reject_with = None
    email.refresh_from_db()
    retry_at = email.next_attempt_at
    assert sweep_at(retry_at) == {"sent": 1, "failed": 0}
    assert sweep_at(retry_at + datetime.timedelta(hours=2))["sent"] == 0
    assert run_at(retry_at + datetime.timedelta(hours=2)).sent == []
    row.refresh_from_db()
    assert row.email_sent_at == retry_at and row.email_attempts == 3
    deployment = [m for m in smtp.messages if order.number in m["Subject"]]
    assert len(deployment) == 1
    figures.record("smtp_deployment_email", {"attempts_until_sent": row.email_attempts,
                                             "emails_received": len(deployment)})


@pytest.mark.django_db
def test_an_outbox_email_is_retried_with_backoff_and_marked_sent_only_when_accepted(smtp):
    email = OutboundEmail.objects.create(kind=OutboundEmail.Kind.REP_STALLED, to="rep@vendor.example",
                                         subject="Stalled orders", body_text="…",
                                         next_attempt_at=local(START, 9))
    with time_machine.travel(local(START, 9), tick=False):
        assert outbox.deliver(email.pk) is False  # refused
    email.refresh_from_db()
    assert email.sent_at is None and email.attempts == 1 and email.last_error
    assert email.next_attempt_at == local(START, 9) + outbox.backoff(1)
    smtp.start()
    smtp.reject()
    with time_machine.travel(email.next_attempt_at, tick=False):
        assert jobs.send_pending_emails() == {"sent": 0, "failed": 1}
    email.refresh_from_db()
    assert email.sent_at is None and email.attempts == 2 and "451" in email.last_error
    smtp.reject_with = None
    with time_machine.travel(email.next_attempt_at, tick=False):
        assert jobs.send_pending_emails() == {"sent": 1, "failed": 0}
        assert jobs.send_pending_emails() == {"sent": 0, "failed": 0}
    email.refresh_from_db()
    assert email.sent_at is not None and email.attempts == 3
    assert smtp.subjects() == ["Stalled orders"]


def _normalised(response):
    """The page without what differs between any two requests (CSRF token, ids)."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return response.status_code, response.get("Location"), html


@pytest.fixture
def eager_celery(monkeypatch):
    """As with a worker right there: the email is tried inside the request, after commit.
    The hand-off runs the delivery task's body directly, so what this test shows does not depend
    on the state of Celery's connection pools (other tests stop and restart brokers)."""
    delivered = []

    def dispatch(email_id):
        delivered.append(email_id)
        deliver_email.run(email_id)

    monkeypatch.setattr(outbox, "deliver_after_commit",
                        lambda email_id: transaction.on_commit(lambda: dispatch(email_id)))
    yield delivered


@pytest.mark.django_db(transaction=True)
def test_the_person_sees_the_same_page_whether_the_mail_server_works_or_not(smtp, eager_celery):
    from django.contrib.auth.models import Group

    Group.objects.get_or_create(name=django_settings.REPS_GROUP)
    pages = {}
    for mail_works in (False, True):
        if mail_works:
            smtp.start()
        order = OrderFactory(number=f"CCW-7700000{int(mail_works)}",
                             customer_external_id=f"CUS-77{int(mail_works)}")
        client = Client()
        open_link(client, order)
        walk(client, order, until="installer")
        response = post_step(client, order, "installer",
                             {"choice": "colleague", "colleague_email": "colleague@partner.example"})
        if response.status_code == 302:
            response = client.get(response["Location"])
        page = _normalised(response)
        pages[mail_works] = (page[0], page[1], page[2].replace(order.number, "ORDER"))
        email = OutboundEmail.objects.get(order=order, kind=OutboundEmail.Kind.COLLEAGUE)
        assert (email.sent_at is not None) is mail_works
        assert email.attempts == 1, eager_celery
    assert pages[False] == pages[True]
    assert len(smtp.messages) == 1
