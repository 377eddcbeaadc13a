"""Item 15: hostile input on every form, through its page. Hypothesis posts arbitrary field
values (and unknown fields) to the wizard's steps, the service setup steps, the rep dashboard's
forms, the sign-in page and the order API: never a 500, and never a partial write — each form
either saves a whole valid result or nothing. (The importer's own property test is in
tests/test_import.py; the subdomain rules' in tests/test_subdomains.py.)"""
import json
import re

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from orders.models import Order
from orders.services import create_api_key
from orgs.models import Membership, Organization
from provisioning.models import CallingSettings, Event, MeetingSettings, Provisioning
from tests.factories import OrderFactory, RepFactory
from tests.reliability import figures
from tests.service_helpers import set_up_order, with_link
from tests.wizard_helpers import open_link

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


def record(name, counter):
    figures.record(f"hypothesis_{name}", {"examples": counter[0], "server_errors": 0})


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
        response = client.post("/setup/", payload)
        count[0] += 1
        assert response.status_code < 500
        set_up = Provisioning.objects.get(pk=order.pk).set_up_at is not None
        # All of Confirm, or nothing: no org, user or membership before the order is set up.
        assert set_up or (Organization.objects.count(), Membership.objects.count()) == (0, 0)

    post()
    record("wizard", count)


def test_the_service_setup_steps_never_fail_and_save_only_valid_settings():
    order = set_up_order(["calling", "meetings"])
    client = Client()
    with_link(client, order)
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


def test_the_order_api_never_fails_and_rejects_wholesale():
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
        assert response.status_code in (200, 201, 400, 413)
        if response.status_code == 400:
            # A refused order writes nothing; in a list, only the orders reported created exist.
            results = response.json().get("orders", [])
            created = sum(1 for result in results if result["status"] == "created")
            assert Order.objects.count() == orders_before + created
            assert response.json()  # per-field errors, as JSON

    post()
    record("order_api", count)
