"""Item 17: CSRF on every POST (the walk skips no route unless it is listed with a reason),
security headers on every route, no inline script or style, sign-in lockouts (django-axes)."""
import datetime
import importlib
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch

from provisioning.models import SetupLink
from provisioning.links import issue_link
from tests.factories import OrderFactory, UserFactory
from tests.reliability import figures

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

# Machine endpoints that a bearer key or a signature authenticates, never a cookie, so no CSRF:
# the order API and the email provider's signed delivery webhook. Anything else exempt is a bug.
CSRF_EXEMPT = {"/api/orders", "/webhooks/mailgun/tracking/"}
SAMPLES = ["1", "x", "00000000-0000-0000-0000-000000000001", "orgs", "orgs/user", "abc-def"]


def _named_patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _named_patterns(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry


def _sample_url(name, pattern):
    params = list(pattern.pattern.regex.groupindex)
    if not params:
        try:
            return reverse(name)
        except NoReverseMatch:
            return None
    for sample in SAMPLES:
        try:
            return reverse(name, kwargs={p: sample for p in params})
        except NoReverseMatch:
            continue
    return None


# Named routes the walk cannot build a URL for, each with the reason it is not walked. Any
# other route without a sample URL fails every walk (every_url), instead of being skipped.
UNBUILDABLE: dict = {}


def every_url():
    """{name: sample URL} for every named route (one name per URL)."""
    seen = {}
    for name, pattern in _named_patterns():
        url = _sample_url(name, pattern)
        if url is None:
            assert name in UNBUILDABLE, f"no sample URL for route {name!r}: add one to SAMPLES " \
                                        "or list it in UNBUILDABLE with the reason"
            continue
        if url not in seen.values():
            seen[name] = url
    return seen


def test_the_walk_drops_no_route_but_the_listed_ones():
    unbuilt = {name for name, pattern in _named_patterns() if _sample_url(name, pattern) is None}
    assert unbuilt == set(UNBUILDABLE)
    assert len(every_url()) == len({_sample_url(n, p) for n, p in _named_patterns()} - {None})


def is_csrf_failure(response):
    """True when the answer is the CSRF check's refusal (settings.CSRF_FAILURE_VIEW, which shows
    templates/403_csrf.html), not a 403 of the view itself."""
    return response.status_code == 403 and \
        "403_csrf.html" in [t.name for t in response.templates]


def test_every_post_without_a_csrf_token_is_refused_as_a_csrf_failure():
    urls = every_url()
    assert len(urls) > 20  # the admin alone has more: the walk really ran
    client = Client(enforce_csrf_checks=True)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)  # past any login redirect, so only CSRF can refuse
    accepted = {}
    for name, url in urls.items():
        if url in CSRF_EXEMPT:
            continue
        response = client.post(url, {"anything": "1"})
        if not is_csrf_failure(response):
            accepted[name] = (url, response.status_code)
    assert accepted == {}, f"POST without CSRF token not refused by the CSRF check: {accepted}"
    # tests/reliability/test_access_matrix.py does the same for each form of its POSTS, on
    # real objects and as the person who may send it.


def test_only_the_bearer_api_is_exempt_from_csrf():
    exempt = {_sample_url(name, pattern) for name, pattern in _named_patterns()
              if getattr(pattern.callback, "csrf_exempt", False)}
    assert exempt <= CSRF_EXEMPT


def security_header_problems(response):
    """What is missing from a response's security headers ([] when nothing is). Every response,
    whatever its status: a 404, a redirect or a JSON answer can be framed or sniffed too."""
    problems = []
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options")
    if response.get("X-Frame-Options") != "DENY":
        problems.append("X-Frame-Options")
    csp = response.get("Content-Security-Policy", "")
    if "script-src 'self'" not in csp or "frame-ancestors 'none'" not in csp \
            or "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append(f"Content-Security-Policy {csp!r}")
    return problems


def test_every_named_route_sends_the_security_headers():
    """Every route, anonymous and as a superuser. Every URL of the access matrix, for each of
    its six people, is checked by tests/reliability/test_access_matrix.py as it goes."""
    superuser = Client()
    superuser.force_login(UserFactory(is_staff=True, is_superuser=True))
    wrong, urls = {}, every_url()
    for name, url in urls.items():
        for who, client in (("anonymous", Client()), ("superuser", superuser)):
            problems = security_header_problems(client.get(url))
            if problems:
                wrong[f"{url} as {who}"] = problems
    assert wrong == {}
    figures.record("security_headers_every_route", {"routes": len(urls), "responses": 2 * len(urls)})


# Found by the access matrix: these answers used to go out without the security headers, their
# middleware listed before the headers' own.
@pytest.mark.parametrize("answer", ["staff idle sign-out, GET", "staff idle sign-out, POST",
                                    "a URL without its final slash"])
def test_answers_of_early_middleware_carry_the_security_headers_too(answer, settings):
    from config.middleware import StaffIdleTimeoutMiddleware
    from tests.factories import RepFactory

    client = Client()
    if answer.startswith("staff idle"):
        client.force_login(RepFactory())
        session = client.session
        session[StaffIdleTimeoutMiddleware.KEY] = 0  # 1970: idle for long enough
        session.save()
        response = getattr(client, answer.rpartition(" ")[2].lower())("/reps/stalled/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    else:
        response = client.get("/reps/stalled")
        assert response.status_code == 301 and response["Location"] == "/reps/stalled/"
    assert security_header_problems(response) == []


def test_setup_pages_never_send_a_referrer_elsewhere_and_are_not_cached(client):
    order = OrderFactory()
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    for token_url in (client.get("/setup/" + "t" * 43 + "/"), client.get(f"/setup/{raw}/")):
        assert token_url["Referrer-Policy"] == "no-referrer"  # a URL that carries a token
        assert "no-store" in token_url["Cache-Control"]
    wizard = client.get(token_url["Location"])  # tokenless: same-origin, so POSTs keep their Origin
    assert wizard.status_code == 200 and wizard["Referrer-Policy"] == "same-origin"
    assert "no-store" in wizard["Cache-Control"]


def test_production_settings_send_hsts_and_secure_cookies(monkeypatch, settings, client):
    monkeypatch.setenv("SECRET_KEY", "k" * 50)
    monkeypatch.setenv("ALLOWED_HOSTS", "onboarding.example")
    production = importlib.import_module("config.settings_production")
    assert production.SECURE_HSTS_SECONDS >= 31536000
    assert production.SESSION_COOKIE_SECURE and production.CSRF_COOKIE_SECURE
    assert production.SECURE_SSL_REDIRECT and not production.DEBUG
    settings.SECURE_HSTS_SECONDS = production.SECURE_HSTS_SECONDS
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_SSL_REDIRECT = True
    insecure = client.get("/", HTTP_HOST="testserver")
    assert insecure.status_code == 301 and insecure["Location"].startswith("https://")
    secure = client.get("/", secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)


def _our_templates():
    folders = [ROOT / "templates"] + [ROOT / app / "templates"
                                      for app in ("orders", "orgs", "provisioning", "onboarding")]
    return [p for folder in folders if folder.exists() for p in folder.rglob("*.html")]


def test_no_template_has_inline_script_style_or_event_handler():
    templates = _our_templates()
    assert templates
    offenders = []
    for path in templates:
        text = path.read_text()
        if "/emails/" in str(path):  # emails are not pages: mail clients need inline styles
            continue
        for regex in (INLINE_SCRIPT, INLINE_STYLE, INLINE_HANDLER):
            for match in regex.finditer(text):
                offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert offenders == []


class TestSignInLockout:
    """django-axes, per (email, client address) pair: config/login.py and the AXES_* settings."""

    email = "installer@partner.example"
    password = "correct-horse-battery"
    load_balancer = "10.0.0.2"

    @pytest.fixture(autouse=True)
    def _user(self, db):
        self.user = UserFactory(email=self.email)

    def _attempt(self, client, password, address="203.0.113.7", email=None, **extra):
        return client.post(reverse("login"), {"username": email or self.email, "password": password},
                           REMOTE_ADDR=address, **extra)

    def _via_load_balancer(self, client, password, forwarded_for, email=None):
        return self._attempt(client, password, address=self.load_balancer, email=email,
                             HTTP_X_FORWARDED_FOR=forwarded_for)

    def test_guessing_is_stopped_after_five_failures_even_with_the_right_password(self, client):
        statuses = [self._attempt(client, f"guess-{n}").status_code for n in range(4)]
        assert statuses == [200] * 4  # the form says "wrong password" four times
        fifth = self._attempt(client, "guess-5")
        assert fifth.status_code == 429
        assert "Too many failed sign-in attempts" in fifth.content.decode()
        right = self._attempt(client, self.password)
        assert right.status_code == 429
        assert "_auth_user_id" not in client.session

    def test_the_lockout_ends_after_fifteen_minutes(self, client, time_machine):
        time_machine.move_to(datetime.datetime.now(datetime.timezone.utc))
        for n in range(5):
            self._attempt(client, f"guess-{n}")
        time_machine.shift(datetime.timedelta(minutes=16))
        assert self._attempt(client, self.password).status_code == 302

    def test_letter_case_does_not_buy_more_guesses(self, client):
        for n, email in enumerate([self.email, self.email.upper(), " Installer@Partner.example ",
                                   self.email.title(), self.email]):
            response = self._attempt(client, f"guess-{n}", email=email)
        assert response.status_code == 429

    def test_the_real_person_elsewhere_is_not_locked_out(self, client):
        for n in range(6):
            self._attempt(client, f"guess-{n}", address="198.51.100.66")
        other = Client()
        response = self._attempt(other, self.password, address="203.0.113.7")
        assert response.status_code == 302
        assert other.session["_auth_user_id"] == str(self.user.pk)

    def test_an_attacker_elsewhere_cannot_lock_a_superuser_out_of_the_admin(self, client):
        admin = UserFactory(email="root@vendor.example", is_staff=True, is_superuser=True)
        for n in range(20):
            client.post("/admin/login/", {"username": admin.email, "password": f"x{n}"},
                        REMOTE_ADDR="198.51.100.66")
        assert client.post("/admin/login/", {"username": admin.email, "password": self.password},
                           REMOTE_ADDR="198.51.100.66").status_code == 429
        real = Client()
        response = real.post("/admin/login/?next=/admin/", {"username": admin.email,
                                                            "password": self.password},
                             REMOTE_ADDR="203.0.113.50")
        assert response.status_code == 302 and real.session["_auth_user_id"] == str(admin.pk)

    def test_the_admin_sign_in_is_locked_too(self, client):
        staff = UserFactory(email="staff@vendor.example", is_staff=True, is_superuser=True)
        for n in range(5):
            client.post("/admin/login/", {"username": staff.email, "password": f"x{n}"},
                        REMOTE_ADDR="203.0.113.9")
        response = client.post("/admin/login/", {"username": staff.email,
                                                 "password": "correct-horse-battery"},
                               REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 429
        assert "Too many failed sign-in attempts" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_a_success_resets_the_count(self, client):
        for n in range(4):
            self._attempt(client, f"guess-{n}")
        assert self._attempt(client, self.password).status_code == 302
        client.logout()
        for n in range(4):
            assert self._attempt(client, f"again-{n}").status_code == 200

    def test_the_lockout_message_is_in_french_too(self, client):
        client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "fr"
        for n in range(5):
            response = self._attempt(client, f"guess-{n}")
        assert response.status_code == 429
        assert "Trop de tentatives" in response.content.decode()

    def test_behind_the_load_balancer_two_people_do_not_share_one_bucket(self, client, settings):
        """Every request comes from the load balancer's address; it appends the client's."""
        settings.TRUSTED_PROXY_COUNT = 1
        for n in range(6):  # the attacker even writes the real person's address first
            response = self._via_load_balancer(client, f"guess-{n}", "203.0.113.7, 198.51.100.66")
        assert response.status_code == 429
        real = Client()
        assert self._via_load_balancer(real, self.password, "203.0.113.7").status_code == 302
        assert real.session["_auth_user_id"] == str(self.user.pk)

    def test_without_a_trusted_proxy_a_forged_forwarded_for_buys_no_fresh_bucket(self, client):
        for n in range(5):  # a new made-up address in the header at each guess
            response = self._attempt(client, f"guess-{n}", address="198.51.100.66",
                                     HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert response.status_code == 429
        assert self._attempt(client, self.password, address="198.51.100.66",
                             HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429


def test_a_form_refused_by_csrf_offers_to_reload_its_own_page():
    """The usual cause: a tab left open while the password step signed in in another tab."""
    order = OrderFactory()
    browser = Client(enforce_csrf_checks=True)
    raw = issue_link(order, order.deployment_contact_email, SetupLink.Purpose.DEPLOYMENT)
    browser.get(f"/setup/{raw}/")
    url = f"/setup/orders/{order.number}/"
    response = browser.post(url, {f"setup_{order.pk}-current_step": "role", "role-role": "partner",
                                  "csrfmiddlewaretoken": "a-token-from-before-the-sign-in"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "Please try again" in page and f'href="{url}"' in page and "Reload the page" in page
    assert browser.get(url).status_code == 200  # the reload shows the step again
    french = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="fr")
    assert "Recharger la page" in french.post("/accounts/login/", {}).content.decode()
