"""Item 18: several machines. Two gunicorn web processes, two Celery workers and two beat
processes (scripts/scaleout.py) on loopback, one PostgreSQL (this test's database) and one Redis
of their own. 1,000 due orders: each gets exactly one email at the SMTP sink; a wizard begun on
one web process finishes on the other (sessions live in PostgreSQL and Redis, not in a process)."""
import datetime
import http.cookiejar
import importlib.util
import re
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.db import connection

from orders.models import Order
from provisioning.models import Provisioning
from provisioning.links import issue_link
from tests.factories import OrderFactory, RepFactory
from tests.reliability import figures
from tests.reliability.bulk import due_orders
from tests.reliability.servers import RedisServer, SmtpSink
from tests.wizard_helpers import DEFAULT_ANSWERS, setup_url

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
ORDERS = 1000
DEADLINE = 150  # seconds for the 1,000 emails; the check stops by itself


def _load_stack():
    spec = importlib.util.spec_from_file_location("scaleout", ROOT / "scripts" / "scaleout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _database_url():
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def stack(tmp_path):
    scaleout = _load_stack()
    redis, sink = RedisServer().start(), SmtpSink().start()
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": _database_url(),
           "REDIS_URL": redis.url, "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
           "SECRET_KEY": "scale-out-check-" + "s" * 40, "DEBUG": "false",
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "SITE_URL": "https://onboarding.example",
           "CELERY_TASK_ALWAYS_EAGER": "false", "SCALEOUT_BEAT_SECONDS": "2",
           "TIME_ZONE": django_settings.TIME_ZONE, "LOG_LEVEL": "WARNING"}
    running = scaleout.Stack(env, tmp_path)
    running.sink = sink
    try:
        running.start()
        running.wait_for_webs()
        yield running
    finally:
        running.stop()
        sink.refuse()
        redis.close()


class Browser:
    """A person's browser: one cookie jar, whatever server answers."""

    STEP = re.compile(r'name="(setup_\d+)-current_step"[^>]*value="([a-z_]+)"')
    TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.html = ""

    def get(self, url):
        with self.opener.open(url, timeout=30) as response:
            self.html = response.read().decode()
            return response.status

    def post(self, url, data):
        data = {"csrfmiddlewaretoken": self.TOKEN.search(self.html).group(1), **data}
        request = urllib.request.Request(url, urllib.parse.urlencode(data).encode(), method="POST")
        with self.opener.open(request, timeout=30) as response:
            self.html = response.read().decode()
            return response.status

    def step(self):
        match = self.STEP.search(self.html)
        return match.groups() if match else (None, None)

    def answer(self, web, order):
        prefix, step = self.step()
        payload = {f"{prefix}-current_step": step}
        answers = DEFAULT_ANSWERS.get(step, {})
        if step == "installer":  # the link's recipient installs: no code to fetch from the sink
            answers = {**answers, "email": order.deployment_contact_email}
        payload.update({f"{step}-{k}": v for k, v in answers.items()})
        self.post(f"{web}{setup_url(order)}", payload)
        return step


def test_two_webs_two_workers_two_beats_send_each_email_once_and_share_sessions(stack):
    Group.objects.get_or_create(name=django_settings.REPS_GROUP)
    rep = RepFactory()
    # A wizard begun on web 1 ...
    order = OrderFactory(number="CCW-55500001", requested_start_date=datetime.date(2030, 1, 1))
    raw = issue_link(order, order.deployment_contact_email, "deployment")
    web1, web2 = stack.web_urls
    browser = Browser()
    assert browser.get(f"{web1}/setup/{raw}/") == 200
    on_web1 = [browser.answer(web1, order), browser.answer(web1, order)]
    assert on_web1 == ["role", "installer"]
    # ... finished on web 2, with the same cookies.
    on_web2 = []
    while browser.step()[1] is not None and len(on_web2) < 10:
        on_web2.append(browser.answer(web2, order))
    assert on_web2[-1] == "confirm"
    provisioning = Provisioning.objects.get(pk=order.pk)
    assert provisioning.set_up_at is not None
    assert Order.objects.get(pk=order.pk).partner_org is not None

    # 1,000 due orders; beats tick every 2 s on both beat processes.
    started = time.monotonic()
    orders = due_orders(ORDERS, rep)
    expected = {o.deployment_contact_email for o in orders}
    while time.monotonic() - started < DEADLINE:
        stack.check_alive()
        received = {m["To"] for m in stack.sink.messages}
        if expected <= received:
            break
        time.sleep(0.5)
    seconds_to_all = time.monotonic() - started
    time.sleep(6)  # three more beat ticks on each beat: any duplicate would arrive now
    per_order = Counter(m["To"] for m in stack.sink.messages if m["To"] in expected)
    missed = expected - set(per_order)
    assert not missed, f"{len(missed)} orders got no email\n{stack.logs()}"
    assert set(per_order.values()) == {1}, {to: n for to, n in per_order.items() if n > 1}
    assert Provisioning.objects.filter(order__in=orders, email_sent_at__isnull=True).count() == 0
    # Both beats scheduled the job and both workers ran it: the shared work is real, not one
    # process doing everything while the other idles.
    job = "provisioning.tasks.send_due_deployment_emails"
    for beat in ("beat1", "beat2"):
        assert f"Sending due task send-due-deployment-emails ({job})" in stack.log_of(beat), beat
    sent_by = {worker: sum(int(n) for n in re.findall(
        rf"{re.escape(job)}\[[^\]]+\] succeeded in [^:]+: {{'sent': (\d+)", stack.log_of(worker)))
        for worker in ("worker1", "worker2")}
    ran = {worker: stack.log_of(worker).count(f"{job}[") for worker in sent_by}
    assert all(ran.values()), ran
    assert sum(sent_by.values()) == ORDERS, sent_by
    figures.record("scale_out", {"web": 2, "workers": 2, "beats": 2, "orders": ORDERS,
                                 "emails": sum(per_order.values()), "duplicates": 0, "missed": 0,
                                 "seconds_until_all_sent": round(seconds_to_all, 1),
                                 "wizard_steps_on_web1": on_web1, "wizard_steps_on_web2": on_web2,
                                 "emails_sent_by_worker": sent_by})
