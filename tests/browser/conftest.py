"""Real-browser journeys: Playwright for Python driving Debian's chromium against pytest-django's
live server (the suite's real PostgreSQL and Redis).

- One browser per session, a fresh context (cookies, storage) per test.
- Emails are captured by Django's locmem backend; a journey takes the Set up now link from the
  real email body, as a person would click it.
- Every page a journey visits is screenshotted (full page) under
  test-artifacts/screenshots/<journey>/<nn>-<name>.png and checked with axe-core: any serious
  or critical violation fails the test.
- Any console error or uncaught page error (a CSP violation, a missing asset, a JS exception)
  fails the test.
"""
import datetime
import html.parser
import importlib
import json
import os
import re
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-dev-shm-usage"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
PASSWORD = "correct-horse-battery"  # the factories' password


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Debian's chromium is missing ({CHROMIUM}). The browser journeys need it: "
                    "run `apt-get install chromium` as root (or `make deps`, which runs "
                    "scripts/system-deps.sh). Playwright never downloads a browser here.",
                    pytrace=False)
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    # Playwright's sync API keeps an asyncio loop running in this thread; Django's ORM calls in
    # the test (factories, assertions) are still plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(live_server, settings, mailoutbox):
    """The live server, with emailed links pointing at it and emails delivered at once (as a
    running worker would)."""
    from config.celery import app as celery_app
    # Pages hand work over by the task's name (outbox.hand_to_worker): registered in this
    # process, as in a worker, it runs eagerly here instead of going to the broker.
    from provisioning import tasks  # noqa: F401

    settings.SITE_URL = live_server.url
    settings.CSRF_TRUSTED_ORIGINS = [live_server.url]
    # Each journey hashes a few passwords (set, sign in); the real hasher costs ~0.5 s each here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ensure_reps_group()
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield live_server
    finally:
        celery_app.conf.task_always_eager = previous


def ensure_reps_group():
    """The 'Account representatives' group comes from a data migration; the flush that ends
    every transactional test removes it, so put it back (with its permissions)."""
    from django.contrib.auth.models import Group, Permission

    migration = importlib.import_module("orgs.migrations.0002_reps_group")
    group, _ = Group.objects.get_or_create(name=settings.REPS_GROUP)
    for app_label, codename in migration.PERMS:
        perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm:
            group.permissions.add(perm)
    return group


class Journey:
    """A person's walk through the site in one browser context: every page visited is
    screenshotted and checked for accessibility."""

    def __init__(self, context, base_url, name):
        self.context = context
        self.base_url = base_url
        self.name = name
        self.count = 0
        self.folder = SCREENSHOTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.problems = []
        self.page = self.new_page()

    def new_page(self):
        page = self.context.new_page()
        page.on("console", lambda msg: self._console(page, msg))
        page.on("pageerror", lambda exc: self.problems.append(f"page error on {page.url}: {exc}"))
        return page

    def _console(self, page, msg):
        if msg.type != "error":
            return
        source = msg.location.get("url", "")
        # Chromium asks every origin for /favicon.ico (pages of ours name theirs in base.html),
        # and logs a page's own 404/410 status: journeys assert those statuses themselves.
        if source.endswith("/favicon.ico") or (source == page.url and "status of" in msg.text):
            return
        self.problems.append(f"console error on {page.url}: {msg.text} {source}")

    def open(self, path_or_url):
        url = path_or_url if path_or_url.startswith("http") else self.base_url + path_or_url
        response = self.page.goto(url)
        return response

    def visit(self, name, axe=True):
        """Record the page the journey is on: a full-page screenshot, then axe-core."""
        self.page.wait_for_load_state("load")
        self.page.evaluate("() => document.fonts.ready.then(() => true)")
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.assert_no_horizontal_scroll()
        if axe:
            assert_accessible(self.page, f"{self.name}/{path.name}")
        return path

    def button(self, name, exact=True):
        return self.page.get_by_role("button", name=name, exact=exact)

    def link(self, name, exact=True):
        return self.page.get_by_role("link", name=name, exact=exact)

    def press(self, name):
        """Click a button by its visible label (the spec's words) and wait for the next page."""
        with self.page.expect_navigation():
            self.button(name).click()
        self.page.wait_for_load_state("load")

    def follow(self, locator):
        """Click a link (a locator) and wait for the page it opens."""
        with self.page.expect_navigation():
            locator.click()
        self.page.wait_for_load_state("load")

    def sign_in(self, email, password):
        self.open("/accounts/login/")
        self.visit("sign-in")
        self.page.get_by_label(re.compile("email", re.I)).fill(email)
        self.page.get_by_label(re.compile("password", re.I)).fill(password)
        self.press("Sign in")

    def heading(self):
        return self.page.get_by_role("heading", level=1).inner_text()

    def assert_no_horizontal_scroll(self):
        overflow = self.page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{self.page.url} scrolls sideways by {overflow}px"


_AXE_SOURCE = None


def axe_violations(page):
    """axe-core's serious and critical violations on the current page. Evaluated through the
    DevTools protocol, so the site's CSP (no inline scripts) does not block it."""
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        _AXE_SOURCE = AXE_JS.read_text(encoding="utf-8")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_AXE_SOURCE)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
          .map(v => ({id: v.id, impact: v.impact, help: v.help,
                      nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + n.failureSummary)}));
    }""")
    return result


def assert_accessible(page, where):
    violations = axe_violations(page)
    assert not violations, f"axe-core: serious/critical violations on {where} ({page.url}):\n" + \
        json.dumps(violations, indent=2, ensure_ascii=False)


@pytest.fixture
def journey(browser, site, request):
    """journey(name, viewport=DESKTOP, locale='en-GB') -> Journey; each in its own context."""
    contexts = []
    journeys = []

    def start(name=None, viewport=DESKTOP, locale="en-GB"):
        context = browser.new_context(viewport=viewport, locale=locale)
        context.set_default_timeout(10_000)
        contexts.append(context)
        journeys.append(Journey(context, site.url, name or request.node.name.removeprefix("test_")))
        return journeys[-1]

    yield start
    problems = [p for j in journeys for p in j.problems]
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


# --- Emails ------------------------------------------------------------------------------------

def deliver_pending_emails():
    """Send whatever the outbox still holds (normally nothing: tasks run eagerly here)."""
    from provisioning import outbox
    from provisioning.models import OutboundEmail

    for pk in OutboundEmail.objects.filter(sent_at__isnull=True).values_list("pk", flat=True):
        outbox.deliver(pk)


def emails_to(address):
    deliver_pending_emails()
    return [m for m in mail.outbox if address.lower() in [to.lower() for to in m.to]]


class _Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors, self._href, self._text = [], None, []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.anchors.append((" ".join("".join(self._text).split()), self._href))
            self._href = None


def link_in_email(message, label="Set up now", path="/setup/"):
    """The URL behind the email's button or link called `label` (HTML part), else the first
    URL of the text under `path` (the Set up now link's /setup/, an invitation's
    /invitations/, a join request's /join-requests/, a password link's /accounts/reset/)."""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            parser = _Anchors()
            parser.feed(content)
            for text, href in parser.anchors:
                if text == label:
                    return href
    match = re.search(re.escape(settings.SITE_URL + path) + r"[^\s\"'<>]+", message.body)
    assert match, f"no {label!r} link in the email {message.subject!r}:\n{message.body}"
    return match.group(0)


def code_in_email(message):
    """The 6-digit verification code of an email, as its recipient reads it (a line of its own
    in the text part)."""
    match = re.search(r"^\s*(\d{6})\s*$", message.body, re.M)
    assert match, f"no code in the email {message.subject!r}:\n{message.body}"
    assert match.group(1) in "".join(c for c, _mimetype in getattr(message, "alternatives", [])), \
        "the HTML part shows the same code"
    return match.group(1)


def email_due_now(order):
    """A moment at which the order's deployment email is due: now, or its due time today."""
    due = order.provisioning.email_due_at
    now = datetime.datetime.now(tz=ZoneInfo(settings.TIME_ZONE))
    return max(now, due + datetime.timedelta(minutes=1))


def a_day_after_the_email(order):
    """When the order, still not set up, stalls: a day after its email was delivered."""
    order.provisioning.refresh_from_db()
    return order.provisioning.stall_due_at + datetime.timedelta(minutes=1)


# --- Orders and the deployment email ------------------------------------------------------------

def order_data(number, **overrides):
    """An order as the ordering system sends it (SPEC's JSON), starting today."""
    data = {
        "order_number": number,
        "product": "A-WX",
        "requested_start_date": datetime.date.today().isoformat(),
        "deployment_contact_email": "webex-deploy@partner.example",
        "language": "en",
        "account_rep_email": "rachel.rep@vendor.example",
        "partner": {"id": "PTN-4411", "name": "Réseaux Alpins SARL", "country": "FR"},
        "customer": {"id": "CUS-90210", "name": "Boulangerie Martin", "country": "FR",
                     "address": "12 rue des Lilas", "city": "Lyon", "postal_code": "69003"},
        "lines": [
            {"sku": "A-WX-CALL-PRO", "service": "calling", "quantity": 50},
            {"sku": "A-WX-MTG-ENT", "service": "meetings", "quantity": 50},
        ],
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def import_order(number, **overrides):
    """The order, through the real import path (what import_orders and the API call)."""
    from orders import services as order_services
    from orders.models import Order

    outcome = order_services.import_order(order_data(number, **overrides), source="import")
    assert outcome.status == "created", outcome.describe()
    return Order.objects.select_related("provisioning", "account_rep").get(number=number)


def send_deployment_emails(order):
    """The beat job, run at a moment the order's email is due."""
    from provisioning import jobs

    order.provisioning.refresh_from_db()
    run = jobs.send_due_deployment_emails(now=email_due_now(order))
    deliver_pending_emails()
    return run


def email_to(address, subject_contains=""):
    found = [m for m in emails_to(address) if subject_contains in m.subject]
    assert found, (f"no email to {address} ({subject_contains!r}); sent: "
                   f"{[(m.to, m.subject) for m in mail.outbox]}")
    return found[-1]


# --- Steps several journeys walk the same way (English labels) ----------------------------------

def code_sent_to(address):
    """The verification code last emailed to `address`, read from the delivered email."""
    found = [m for m in emails_to(address) if re.search(r"^\s*\d{6}\s*$", m.body, re.M)]
    assert found, (f"no code was emailed to {address}; sent: "
                   f"{[(m.to, m.subject) for m in mail.outbox]}")
    return code_in_email(found[-1])


def mask(email):
    """An address as the wizard shows it (onboarding.selectors.mask_email): j•••@domain."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


CODE_WORDS = {
    "en": {"code": "Code from the email", "sent": "We sent a 6-digit code to", "next": "Next"},
    "fr": {"code": "Code reçu par e-mail", "sent": "Nous avons envoyé un code à 6 chiffres à",
           "next": "Suivant"},
}


def enter_emailed_code(j, email, language="en", name="code-asked"):
    """The step just submitted asks for the code sent to `email`: the page says where it went,
    the person reads it in that mailbox and types it, then Next."""
    words = CODE_WORDS[language]
    j.visit(name)
    field = j.page.get_by_label(words["code"])
    assert field.is_visible(), f"no {words['code']!r} field on {j.page.url}"
    assert f"{words['sent']} {mask(email)}" in j.page.get_by_role("main").inner_text()
    field.fill(code_sent_to(email))
    j.press(words["next"])


def choose_partner_self(j, name, email=None):
    """Role and installer steps: I am a partner → Yes, I will do the setup. `email` None keeps
    the address the link was sent to (prefilled: no code); another address is proven with the
    code emailed to it."""
    j.visit("role")
    j.page.get_by_label("I am a partner").check()
    j.press("Next")
    j.visit("installer")
    j.page.get_by_label("Yes, I will do the setup").check()
    j.page.get_by_label("Your name").fill(name)
    if email is not None:
        j.page.get_by_label("Your email").fill(email)
    j.press("Next")
    asks_code = j.page.get_by_label("Code from the email").count() > 0
    if email is None:
        assert not asks_code, "the link's own recipient is not asked for a code"
    elif asks_code:
        enter_emailed_code(j, email, name="installer-code")


def set_password(j, password):
    j.page.get_by_label("New password", exact=True).fill(password)
    j.page.get_by_label("New password confirmation").fill(password)
    j.press("Save password")


def finish_services(j, subdomain, main_number="04 72 00 00 00"):
    """The service setup assistant from Subscription details to the deployed summary."""
    j.visit("subscription")
    assert j.heading() == "Subscription details"
    j.press("Next")
    if j.heading() == "Calling settings":
        j.visit("calling")
        j.page.get_by_label("Default location name").fill("Lyon")
        j.page.get_by_label("Main number").fill(main_number)
        j.press("Next")
    if j.heading() == "Meeting settings":
        j.visit("meetings")
        j.press("Next")
    j.visit("enterprise")
    assert j.heading() == "Enterprise settings"
    j.page.get_by_label("Subdomain").fill(subdomain)
    j.button("Check availability").click()
    j.page.locator(".availability .alert.success").wait_for()
    j.press("Save")
    j.visit("deploy")
    assert j.heading() == "Deploy and start billing"
    j.press("Deploy")
    j.visit("deployed")
    assert j.heading() == "Your services are deployed"
