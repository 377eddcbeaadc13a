"""Item 15: hostile input on every form, through its page. Hypothesis posts arbitrary field
values (and unknown fields) to the wizard's steps (also after valid earlier steps, so Confirm is
reached with hostile later input), the password step, the service setup steps, the rep
dashboard's forms, the sign-in, password reset and password change pages, the language switch
and the order API: never a 500, and never a partial write — each form either saves a whole valid
result or nothing. (The importer's own property test is in tests/test_import.py; the subdomain
rules' in tests/test_subdomains.py.)"""
import json
import re
from urllib.parse import quote

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_encode
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from onboarding.access import BROWSER_KEY
from onboarding.done_views import DONE_KEY
from orders.models import Order
from orders.services import create_api_key
from orgs.models import Membership, Organization, User
from provisioning.models import CallingSettings, Event, MeetingSettings, Provisioning
from tests.factories import OrderFactory, PartnerOrgFactory, RepFactory
from tests.reliability import figures
from tests.service_helpers import member_of, set_up_order, sign_in_installer
from tests.wizard_helpers import (DEFAULT_ANSWERS, INSTALLER_EMAIL, done_url, open_link, setup_url,
                                  walk)

pytestmark = pytest.mark.django_db
EXAMPLES = 120
SETTINGS = hsettings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))

NASTY = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\u202egnp.exe", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ÉÇÀ", "A" * 5000, "<script>alert(1)</script>",
    "'; DROP TABLE orgs_user; --", "%s%s%n", "../../etc/passwd", "+33 1 23 45 67 89", "FR",
    "partner", "customer", "self", "colleague", "on", "1", "0", "-1", "99999999999999999999",
    "x@y", "a@b.example", "Admin@Partner.Example", "www", "ADMIN", "-bad-", "ok-name", "\r\n", "\t",
    "null", "true", "{}", "[]", "Europe/Paris", "Mars/Olympus", "fr", "en", "zz",
])
VALUE = st.one_of(NASTY, st.text(max_size=80), st.text(alphabet=st.characters(codec="utf-8"), max_size=20))


def form_data(fields):
    keys = st.sampled_from(fields + ["junk", "csrfmiddlewaretoken", "wizard_goto_step"])
    return st.dictionaries(keys, VALUE, max_size=len(fields) + 2)


def record(name, counter, **more):
    figures.record(f"hypothesis_{name}", {"examples": counter[0], "server_errors": 0, **more})


def same_in_both(first, second):
    """Hostile values, sometimes the same in both fields, so a mismatch is not all that is met."""
    return st.one_of(form_data([first, second]), VALUE.map(lambda v: {first: v, second: v}))


WIZARD_FIELDS = {
    "role": ["role"], "installer": ["choice", "name", "email", "colleague_email"],
    "partner_org": ["name", "country", "address", "city", "postal_code"],
    "customer_admin": ["email"], "customer_org": ["name", "country", "address", "city", "postal_code"],
    "confirm": [],
}


def test_the_wizard_steps_never_fail_and_never_half_save():
    order = OrderFactory()
    client = Client()
    open_link(client, order)
    count = [0]

    @SETTINGS
    @given(step=st.sampled_from(sorted(WIZARD_FIELDS)), data=st.data())
    def post(step, data):
        values = data.draw(form_data(WIZARD_FIELDS[step]))
        payload = {f"setup_{order.pk}-current_step": step}
        payload.update({f"{step}-{k}" if k in WIZARD_FIELDS[step] else k: v for k, v in values.items()})
        response = client.post(setup_url(order), payload)
        count[0] += 1
        assert response.status_code < 500
        set_up = Provisioning.objects.get(pk=order.pk).set_up_at is not None
        # All of Confirm, or nothing: no org, user or membership before the order is set up.
        assert set_up or (Organization.objects.count(), Membership.objects.count()) == (0, 0)

    post()
    record("wizard", count)


def _wizard_payload(order, step, values):
    payload = {f"setup_{order.pk}-current_step": step}
    payload.update({f"{step}-{k}" if k in WIZARD_FIELDS[step] else k: v for k, v in values.items()})
    return payload


def _people():
    return Organization.objects.count(), User.objects.count(), Membership.objects.count()


def test_confirm_reached_after_valid_steps_with_hostile_later_input_is_whole_or_nothing():
    """Valid answers up to a drawn step, then hostile values over the valid ones from there on,
    then Confirm: the order is set up with every org, user and membership, or nothing exists."""
    steps = ["role", "installer", "partner_org", "customer_admin", "customer_org"]
    count, set_up = [0], [0]

    @hsettings(SETTINGS, max_examples=60)  # each example is a fresh order and a whole walk
    @given(valid_until=st.integers(0, len(steps)), data=st.data())
    def run(valid_until, data):
        n = count[0]
        order = OrderFactory(partner_external_id=f"PTN-H{n}")
        client = Client()
        open_link(client, order)
        answers = {**DEFAULT_ANSWERS,
                   "installer": {**DEFAULT_ANSWERS["installer"], "email": f"ines{n}@partner.example"},
                   "customer_admin": {"email": f"camille{n}@customer.example"}}
        before = _people()
        for i, step in enumerate(steps):
            values = dict(answers[step])
            if i >= valid_until:
                values.update(data.draw(form_data(WIZARD_FIELDS[step])))
            assert client.post(setup_url(order), _wizard_payload(order, step, values)).status_code < 500
        confirm = client.post(setup_url(order), _wizard_payload(order, "confirm", data.draw(form_data([]))))
        count[0] += 1
        assert confirm.status_code < 500
        orgs, users, memberships = (after - b for after, b in zip(_people(), before))
        order = Order.objects.select_related("provisioning").get(pk=order.pk)
        if order.provisioning.set_up_at is None:
            assert (orgs, users, memberships) == (0, 0, 0)
        else:
            set_up[0] += 1
            assert order.customer_org_id is not None and orgs >= 1
            assert memberships == users >= 1  # every new user in exactly one organisation

    run()
    record("wizard_confirm_after_valid_steps", count, set_up=set_up[0])


def test_the_password_step_never_fails_and_sets_the_password_whole_or_not_at_all():
    order = OrderFactory()
    client = Client()
    open_link(client, order)
    walk(client, order)
    user = User.objects.get(email=INSTALLER_EMAIL)
    marker, browser = client.session[DONE_KEY], client.session[BROWSER_KEY]
    count, sets = [0], [0]

    @SETTINGS
    @given(values=same_in_both("new_password1", "new_password2"))
    def post(values):
        response = client.post(done_url(order), values)
        count[0] += 1
        assert response.status_code in (200, 302)
        user.refresh_from_db()
        password_set_at = Provisioning.objects.get(pk=order.pk).password_set_at
        if response.status_code == 302:
            sets[0] += 1
            assert user.check_password(values["new_password1"]) and password_set_at is not None
        else:
            assert not user.has_usable_password() and password_set_at is None
        assert order.events.filter(kind=Event.Kind.PASSWORD_SET).count() == sets[0]
        if response.status_code == 302:  # back to "no password yet": the next example meets the form
            user.set_unusable_password()
            user.save(update_fields=["password"])
            Provisioning.objects.filter(pk=order.pk).update(password_set_at=None)
            client.logout()  # the sign-in the success made no longer matches the password
            session = client.session
            session[DONE_KEY], session[BROWSER_KEY] = marker, browser
            session.save()

    post()
    record("password_step", count, passwords_set=sets[0])


def test_password_reset_never_fails_and_changes_a_password_only_through_a_valid_link(mailoutbox):
    user = member_of(PartnerOrgFactory(), "known@partner.example")
    count, changed = [0], [0]

    @SETTINGS
    @given(kind=st.sampled_from(["request", "link", "new password"]), data=st.data())
    def attempt(kind, data):
        user.refresh_from_db()
        password, mails = user.password, len(mailoutbox)
        client = Client()
        count[0] += 1
        if kind == "request":
            values = data.draw(st.one_of(form_data(["email"]), st.sampled_from(
                [{"email": "known@partner.example"}, {"email": "KNOWN@partner.example"}])))
            response = client.post("/accounts/password_reset/", values)
            assert response.status_code in (200, 302)
            assert all(m.to == ["known@partner.example"] for m in mailoutbox[mails:])
            assert len(mailoutbox) - mails <= 1
        elif kind == "link":
            uid, token = data.draw(VALUE), data.draw(VALUE)
            response = client.get(f"/accounts/reset/{quote(uid, safe='')}/{quote(token, safe='')}/")
            assert response.status_code in (200, 302, 404)
        else:
            uid = urlsafe_base64_encode(force_bytes(user.pk))
            token = default_token_generator.make_token(user)
            form_url = client.get(f"/accounts/reset/{uid}/{token}/")["Location"]
            values = data.draw(same_in_both("new_password1", "new_password2"))
            response = client.post(form_url, values)
            assert response.status_code in (200, 302)
            if response.status_code == 302:
                changed[0] += 1
                user.refresh_from_db()
                assert user.check_password(values["new_password1"])
                return
        user.refresh_from_db()
        assert user.password == password  # nothing else changes a password

    attempt()
    record("password_reset", count, passwords_changed=changed[0])


def test_password_change_never_fails_and_needs_the_current_password():
    user = member_of(PartnerOrgFactory(), "changer@partner.example")
    client = Client()
    client.force_login(user)
    current = ["correct-horse-battery"]
    count, changed = [0], [0]

    @SETTINGS
    @given(values=same_in_both("new_password1", "new_password2"),
           old=st.one_of(st.none(), VALUE), junk=form_data([]))
    def change(values, old, junk):
        payload = {**junk, **values, "old_password": current[0] if old is None else old}
        response = client.post("/accounts/password_change/", payload)
        count[0] += 1
        assert response.status_code in (200, 302)
        user.refresh_from_db()
        if response.status_code == 302:
            changed[0] += 1
            current[0] = values["new_password1"]
        assert user.check_password(current[0])
        assert client.get("/accounts/password_change/").status_code == 200  # still signed in

    change()
    record("password_change", count, passwords_changed=changed[0])


def test_the_language_switch_never_fails_and_never_redirects_off_site():
    count = [0]

    @SETTINGS
    @given(values=form_data(["language", "next"]), referer=st.one_of(st.none(), VALUE),
           accept=st.one_of(st.none(), VALUE), method=st.sampled_from(["post", "get"]))
    def switch(values, referer, accept, method):
        client = Client()
        headers = {"HTTP_REFERER": referer} if referer is not None else {}
        response = getattr(client, method)("/i18n/setlang/", values, **headers)
        count[0] += 1
        assert response.status_code in (204, 302, 405)
        location = response.get("Location")
        assert location is None or url_has_allowed_host_and_scheme(location, {"testserver"})
        page = client.get("/", **({"HTTP_ACCEPT_LANGUAGE": accept} if accept is not None else {}))
        assert page.status_code == 200 and page["Content-Language"] in ("en", "fr")

    switch()
    record("language_switch", count)


def test_the_service_setup_steps_never_fail_and_save_only_valid_settings():
    order = set_up_order(["calling", "meetings"])
    client = Client()
    sign_in_installer(client, order)
    fields = {"calling": ["country", "time_zone", "location_name", "main_number"],
              "meetings": ["language", "time_zone", "recording_allowed", "guests_allowed",
                           "join_before_host"],
              "enterprise": ["subdomain", "check", "save", "pick"],
              "subscription": [], "deploy": []}
    count = [0]

    @SETTINGS
    @given(step=st.sampled_from(sorted(fields)), data=st.data())
    def post(step, data):
        values = data.draw(form_data(fields[step]))
        response = client.post(f"/orders/{order.number}/services/{step}/", values)
        count[0] += 1
        assert response.status_code < 500
        for calling in CallingSettings.objects.filter(order=order):
            assert re.fullmatch(r"\+\d{6,15}", calling.main_number) and len(calling.country) == 2
        for meeting in MeetingSettings.objects.filter(order=order):
            assert meeting.language in ("en", "fr", "de", "es", "it", "nl", "pt", "ja", "zh") \
                or re.fullmatch(r"[a-z]{2}(-[a-z]{2})?", meeting.language)
        subdomain = Organization.objects.get(pk=order.customer_org_id).subdomain
        assert subdomain is None or re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{1,28}[a-z0-9])", subdomain)

    post()
    record("service_setup", count)


def test_the_rep_dashboard_forms_never_fail_and_never_half_save():
    rep = RepFactory()
    order = OrderFactory(account_rep=rep)
    Provisioning.objects.filter(pk=order.pk).update(stalled_at="2026-01-02T09:00Z")
    client = Client()
    client.force_login(rep)
    count = [0]

    @SETTINGS
    @given(which=st.sampled_from(["filter", "contact", "contacted"]), data=st.data())
    def submit(which, data):
        before = Event.objects.count()
        if which == "filter":
            values = data.draw(form_data(["reps", "product", "overdue", "setup", "q", "per_page",
                                          "page", "format"]))
            response = client.get("/reps/stalled/", values)
        elif which == "contact":
            values = data.draw(form_data(["email", "apply_to_lines"]))
            response = client.post(f"/reps/orders/{order.number}/contact/", values)
            contact = Order.objects.get(pk=order.pk).deployment_contact_email
            assert re.fullmatch(r"[^@\s]+@[^@\s]+", contact)
        else:
            values = data.draw(form_data(["note"]))
            response = client.post(f"/reps/orders/{order.number}/contacted/", values)
            if response.status_code == 200:  # the form refused it: no history row
                assert Event.objects.count() == before
        count[0] += 1
        assert response.status_code < 500

    submit()
    record("rep_dashboard", count)


def test_the_sign_in_page_never_fails():
    count = [0]

    # Fewer: each attempt runs the password hasher (on purpose, even for unknown emails).
    @hsettings(SETTINGS, max_examples=40)
    @given(values=form_data(["username", "password", "next"]))
    def sign_in(values):
        response = Client().post("/accounts/login/", values, REMOTE_ADDR=f"192.0.2.{count[0] % 250}")
        count[0] += 1
        assert response.status_code in (200, 302, 429)

    sign_in()
    record("sign_in", count)


JSON_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) |
                          VALUE, lambda inner: st.lists(inner, max_size=3) |
                          st.dictionaries(st.text(max_size=20), inner, max_size=4), max_leaves=12)
ORDER_KEYS = ["order_number", "product", "requested_start_date", "deployment_contact_email",
              "language", "account_rep_email", "partner", "customer", "lines"]


@pytest.fixture
def unlimited_api(settings):
    """These tests are about what a body can do, not about how many: no per-key limit."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api-key": "1000000/m"}


def test_the_order_api_never_fails_and_rejects_wholesale(unlimited_api):
    _, raw_key = create_api_key("hypothesis")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    count = [0]

    @SETTINGS
    @given(body=st.one_of(st.dictionaries(st.sampled_from(ORDER_KEYS), JSON_VALUE, max_size=9),
                          JSON_VALUE, st.binary(max_size=200)))
    def post(body):
        orders_before = Order.objects.count()
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = client.post("/api/orders", payload, content_type="application/json")
        count[0] += 1
        # 415: an empty body goes without a Content-Type (Django's test client, as curl -d '').
        assert response.status_code in (200, 201, 400, 413, 415)
        assert response["Content-Type"] == "application/json"
        if response.status_code == 400:
            # A refused order writes nothing; in a list, only the orders reported created exist.
            results = response.json().get("orders", [])
            created = sum(1 for result in results if result["status"] == "created")
            assert Order.objects.count() == orders_before + created
            assert response.json()  # per-field errors, as JSON

    post()
    record("order_api", count)


class Raw:
    """A piece of JSON text that json.dumps cannot write: a 5,000-digit number, deep nesting."""

    def __init__(self, text):
        self.text = text


RAW_JSON = st.one_of(
    st.integers(65, 6000).map(lambda n: Raw("9" * n)),                     # beyond any field
    st.integers(4000, 6000).map(lambda n: Raw("-" + "1" * n + ".5e-7")),
    st.integers(1, 100_000).map(lambda n: Raw("[" * n + "]" * n)),        # deep nesting
    st.integers(1, 3000).map(lambda n: Raw('{"a":' * n + "1" + "}" * n)),
    st.sampled_from([Raw("NaN"), Raw("-Infinity"), Raw("1e999"), Raw('"\\ud800"'),
                     Raw('"' + "x" * 300_000 + '"')]),
)
HOSTILE_JSON = st.one_of(JSON_VALUE, RAW_JSON)


def _dumps(value):
    """json.dumps, with each Raw written as its own text."""
    raws = []

    def placeholder(obj):
        if isinstance(obj, Raw):
            raws.append(obj.text)
            return f"\x00raw{len(raws) - 1}\x00"
        raise TypeError(type(obj))

    text = json.dumps(value, default=placeholder)
    for n, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{n}\x00"), raw, 1)
    return text


def _order_paths(order, prefix=()):
    """Every place in a valid order where a value can go wrong, as key paths."""
    yield prefix
    if isinstance(order, dict):
        for key, value in order.items():
            yield from _order_paths(value, prefix + (key,))
    elif isinstance(order, list):
        for i, value in enumerate(order):
            yield from _order_paths(value, prefix + (i,))


def _replaced(order, path, value):
    if not path:
        return value
    copy = json.loads(json.dumps(order))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def test_the_order_api_answers_json_to_any_hostile_value_anywhere_in_an_order(unlimited_api):
    """A valid order with hostile values put anywhere in it (a 5,000-digit number, a list where
    an object goes, an object where a string goes, a boolean quantity, null, deep nesting, huge
    strings), alone or in a list: every answer is JSON, 2xx or 4xx."""
    from tests.test_import import SPEC_ORDER

    _, raw_key = create_api_key("hypothesis-anywhere")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    paths = list(_order_paths(SPEC_ORDER))
    count, statuses = [0], set()

    @SETTINGS
    @given(changes=st.lists(st.tuples(st.sampled_from(paths), HOSTILE_JSON), min_size=1, max_size=3),
           as_list=st.booleans(), number=st.integers(0, 5))
    def post(changes, as_list, number):
        order = {**SPEC_ORDER, "order_number": f"CCW-H{number}"}
        for path, value in changes:
            try:
                order = _replaced(order, path, value)
            except (KeyError, IndexError, TypeError):  # an earlier change removed that place
                continue
        body = _dumps([order, SPEC_ORDER] if as_list else order)
        response = client.post("/api/orders", body, content_type="application/json")
        count[0] += 1
        statuses.add(response.status_code)
        assert 200 <= response.status_code < 300 or 400 <= response.status_code < 500
        assert response["Content-Type"] == "application/json"
        assert isinstance(response.json(), dict)

    post()
    record("order_api_hostile_values", count, statuses=sorted(statuses))
