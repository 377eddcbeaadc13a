"""POST /api/orders: the ordering system pushes orders with a bearer API key."""
import datetime
import hashlib
import json

import pytest
from django.test import Client
from django.utils import timezone

from orders import services
from orders.models import ApiKey, Order
from orders.views import MAX_BODY_BYTES
from provisioning.models import Event, Provisioning
from tests.test_import import SPEC_ORDER, order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _before_the_start_dates(time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 20, 10, 0, tzinfo=datetime.timezone.utc))
URL = "/api/orders"


@pytest.fixture
def raw_key():
    _key, raw = services.create_api_key("Ordering system")
    return raw


def post(client, data, key, **extra):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key is not None else {}
    return client.post(URL, body, content_type="application/json", **headers, **extra)


def test_a_new_order_is_created_with_201(client, raw_key):
    response = post(client, SPEC_ORDER, raw_key)

    assert response.status_code == 201
    assert response.json() == {"order_number": "CCW-88213407", "status": "created"}
    created = Order.objects.get()
    assert created.lines.count() == 2
    assert Provisioning.objects.filter(order=created, status="scheduled").exists()
    assert list(created.events.values_list("kind", flat=True)) == ["imported"]


def test_a_repeat_of_a_known_order_answers_200_without_a_duplicate(client, raw_key):
    post(client, SPEC_ORDER, raw_key)

    response = post(client, SPEC_ORDER, raw_key)

    assert response.status_code == 200
    assert response.json() == {"order_number": "CCW-88213407", "status": "unchanged"}
    assert Order.objects.count() == 1


def test_a_changed_repeat_before_the_email_updates_the_order(client, raw_key):
    post(client, SPEC_ORDER, raw_key)

    response = post(client, order(requested_start_date="2026-12-20"), raw_key)

    assert response.status_code == 200
    assert response.json() == {"order_number": "CCW-88213407", "status": "updated",
                               "changed": ["requested_start_date"]}
    assert str(Order.objects.get().requested_start_date) == "2026-12-20"
    assert Event.objects.get(kind="updated").data["source"] == "api:Ordering system"


def test_a_changed_repeat_after_the_email_is_acknowledged_but_not_applied(client, raw_key):
    post(client, SPEC_ORDER, raw_key)
    Provisioning.objects.update(email_sent_at=timezone.now(), status="email_sent")

    response = post(client, order(requested_start_date="2026-12-20"), raw_key)

    assert response.status_code == 200
    assert response.json() == {
        "order_number": "CCW-88213407", "status": "unchanged", "ignored": ["requested_start_date"],
        "detail": "Known order left unchanged: the deployment email was already sent."}
    assert str(Order.objects.get().requested_start_date) == "2026-12-01"


def test_an_invalid_order_answers_400_with_per_field_errors(client, raw_key):
    bad = order(product="A-XX", deployment_contact_email="nope",
                lines=[{"sku": "S", "service": "calling", "quantity": -1}])

    response = post(client, bad, raw_key)

    assert response.status_code == 400
    assert response.json() == {"errors": {
        "product": ['unknown product "A-XX" (expected A-WX, A-SPK or A-FLEX)'],
        "deployment_contact_email": ['invalid email address "nope"'],
        "lines[0].quantity": ["must be at least 1, got -1"],
    }}
    assert not Order.objects.exists()


def test_errors_follow_the_callers_language(client, raw_key):
    response = post(client, order(product="A-XX"), raw_key, HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 400
    assert response.json()["errors"]["product"] == [
        'produit inconnu "A-XX" (attendu : A-WX, A-SPK ou A-FLEX)']


def test_malformed_json_answers_400_with_line_and_column(client, raw_key):
    response = post(client, '{"order_number": "CCW-1",\n "product": }', raw_key)

    assert response.status_code == 400
    assert response.json() == {"errors": {"body": [
        "Malformed JSON at line 2, column 13: Expecting value"]}}


def test_a_list_imports_each_order_and_says_what_happened_to_each(client, raw_key):
    bad = order("CCW-3", lines=[{"sku": "A-WX-CALL-PRO", "service": "calling", "quantity": -5}])
    response = post(client, [order("CCW-1"), bad, order("CCW-2")], raw_key)

    assert response.status_code == 400  # one was refused; the valid ones are in, as import_orders
    assert response.json() == {"orders": [
        {"order_number": "CCW-1", "status": "created"},
        {"order_number": "CCW-3", "status": "rejected",
         "errors": {"lines[0].quantity": ["must be at least 1, got -5"]}},
        {"order_number": "CCW-2", "status": "created"},
    ]}
    assert sorted(Order.objects.values_list("number", flat=True)) == ["CCW-1", "CCW-2"]


def test_a_list_answers_201_when_all_went_in_and_200_when_all_were_known(client, raw_key):
    orders = [order("CCW-1"), order("CCW-2")]
    assert post(client, orders, raw_key).status_code == 201
    again = post(client, orders, raw_key)
    assert again.status_code == 200
    assert [o["status"] for o in again.json()["orders"]] == ["unchanged", "unchanged"]
    assert Order.objects.count() == 2


def test_an_empty_list_is_refused_with_a_clear_message(client, raw_key):
    response = post(client, [], raw_key)

    assert response.status_code == 400
    assert response.json() == {"errors": {"body": ["The list holds no order."]}}


@pytest.mark.parametrize("authorization", [None, "", "Bearer ", "Bearer onb_not-a-key",
                                           "Basic dXNlcjpwYXNz"])
def test_without_a_valid_key_it_answers_401_and_writes_nothing(client, raw_key, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = client.post(URL, json.dumps(SPEC_ORDER), content_type="application/json", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="orders"'
    assert not Order.objects.exists()


def test_a_revoked_key_answers_401(client, raw_key):
    services.revoke_api_keys(ApiKey.objects.all())

    response = post(client, SPEC_ORDER, raw_key)

    assert response.status_code == 401
    assert not Order.objects.exists()


def test_other_methods_answer_405(client, raw_key):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert response.status_code == 405


def test_a_body_over_the_limit_answers_413(client, raw_key):
    response = post(client, " " * (MAX_BODY_BYTES + 1), raw_key)

    assert response.status_code == 413
    assert not Order.objects.exists()


def test_the_api_needs_no_csrf_token(raw_key):
    response = post(Client(enforce_csrf_checks=True), SPEC_ORDER, raw_key)
    assert response.status_code == 201


def test_keys_are_stored_as_sha256_only(raw_key):
    key = ApiKey.objects.get()
    stored = [str(value) for value in ApiKey.objects.values_list(
        "name", "prefix", "key_hash", "created_at", "revoked_at", "last_used_at").get()]

    assert key.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert not any(raw_key in value for value in stored)
    assert raw_key.startswith(key.prefix) and len(key.prefix) == 12


def test_using_a_key_records_when_it_was_last_used(client, raw_key):
    post(client, SPEC_ORDER, raw_key)
    assert ApiKey.objects.get().last_used_at is not None


# --- Hostile bodies: always a JSON answer, never a 500 (the property test is in
# tests/reliability/test_hostile_input.py) ----------------------------------------------------

def _huge(digits=5000):
    return "9" * digits


@pytest.mark.parametrize("path, literal, field", [
    ("order_number", _huge(), "order_number"),
    ("quantity", _huge(), "lines[0].quantity"),
    ("quantity", "-" + _huge(), "lines[0].quantity"),
    ("partner_id", _huge(), "partner.id"),
    ("customer_id", _huge() + ".5e3", "customer.id"),
])
def test_a_number_of_five_thousand_digits_is_a_field_error_not_a_crash(client, raw_key, path,
                                                                       literal, field):
    body = order(lines=[{"sku": "S", "service": "calling", "quantity": "QTY"}])
    body["partner"]["id"], body["customer"]["id"] = "PARTNER", "CUSTOMER"
    text = json.dumps(body).replace('"QTY"', "50")
    placeholder = {"order_number": '"CCW-88213407"', "quantity": "50",
                   "partner_id": '"PARTNER"', "customer_id": '"CUSTOMER"'}[path]
    text = text.replace(placeholder, literal, 1)

    response = post(client, text, raw_key)

    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert field in response.json()["errors"]
    assert not Order.objects.exists()


WRONG_TYPES = [
    ("a list where the order is expected", [[SPEC_ORDER]], None),
    ("a string as the body", "CCW-1", "order"),
    ("null as the body", None, "order"),
    ("a list as partner", order(partner=["PTN-4411"]), "partner"),
    ("an object as a name", order(customer={**SPEC_ORDER["customer"], "name": {"x": 1}}),
     "customer.name"),
    ("an object as the start date", order(requested_start_date={"y": 2026}), "requested_start_date"),
    ("a boolean as quantity", order(lines=[{"sku": "S", "service": "calling", "quantity": True}]),
     "lines[0].quantity"),
    ("a float as quantity", order(lines=[{"sku": "S", "service": "calling", "quantity": 1.5}]),
     "lines[0].quantity"),
    ("null as quantity", order(lines=[{"sku": "S", "service": "calling", "quantity": None}]),
     "lines[0].quantity"),
    ("an object as lines", order(lines={"sku": "S"}), "lines"),
    ("a number as a line", order(lines=[7]), "lines[0]"),
    ("a list as the product", order(product=["A-WX"]), "product"),
    ("a number as an email", order(deployment_contact_email=12), "deployment_contact_email"),
    ("a string of a megabyte less a little", order(partner={**SPEC_ORDER["partner"],
                                                            "name": "x" * 900_000}), "partner.name"),
]


@pytest.mark.parametrize("label, body, field", WRONG_TYPES, ids=[w[0] for w in WRONG_TYPES])
def test_wrong_types_anywhere_answer_400_json_naming_the_field(client, raw_key, label, body, field):
    response = post(client, json.dumps(body), raw_key)

    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    errors = response.json()
    if field is None:  # a list holding a list: that entry is refused
        assert errors["orders"][0]["errors"] == {"order": ["must be a JSON object"]}
    else:
        assert field in errors["errors"]
    assert not Order.objects.exists()


@pytest.mark.parametrize("depth", [50, 5000, 200_000])
def test_deep_nesting_answers_400_json(client, raw_key, depth):
    body = '{"order_number": "CCW-1", "partner": ' + "[" * depth + "]" * depth + "}"
    response = post(client, body, raw_key)

    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert not Order.objects.exists()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", ""])
def test_a_body_that_is_not_declared_json_answers_415_json(client, raw_key, content_type):
    response = client.post(URL, json.dumps(SPEC_ORDER), content_type=content_type,
                           HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    assert response.status_code == 415 and response["Content-Type"] == "application/json"
    assert "Content-Type: application/json" in response.json()["errors"]["body"][0]
    assert not Order.objects.exists()


def test_an_unknown_address_under_the_api_answers_404_json(client, raw_key):
    for url in ("/api/", "/api/order", "/api/orders/CCW-1", "/api/orders/" + "9" * 5000):
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"error": "There is no API endpoint at this address."}


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_a_wrong_method_answers_405_json_with_allow(client, raw_key, method):
    response = getattr(client, method)(URL, HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    assert response.status_code == 405 and response["Allow"] == "POST"
    assert response.json() == {"error": "This endpoint does not accept this method; it accepts: POST."}


# --- Rate limit per API key ------------------------------------------------------------------

def test_each_api_key_is_rate_limited_on_its_own_with_retry_after(client, raw_key, settings,
                                                                  time_machine):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api-key": "3/m"}
    time_machine.move_to(datetime.datetime(2026, 11, 20, 10, 0, 0, tzinfo=datetime.timezone.utc),
                         tick=False)  # the counting window cannot end mid-test
    _other, other_raw = services.create_api_key("Another ordering system")
    statuses = [post(client, order(f"CCW-{n}"), raw_key).status_code for n in range(4)]
    assert statuses == [201, 201, 201, 429]

    limited = post(client, order("CCW-9"), raw_key)
    assert limited.status_code == 429 and limited["Content-Type"] == "application/json"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert "Too many requests" in limited.json()["errors"]["body"][0]
    assert not Order.objects.filter(number="CCW-9").exists()
    # Another key, even from the same address, has its own budget.
    assert post(client, order("CCW-10"), other_raw).status_code == 201
    # After the window the key works again.
    time_machine.shift(datetime.timedelta(seconds=61))
    assert post(client, order("CCW-9"), raw_key).status_code == 201


def test_an_unknown_key_is_refused_before_any_counting(client, raw_key, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api-key": "1/m"}
    for _n in range(3):
        assert post(client, SPEC_ORDER, "onb_not-a-key").status_code == 401
    assert post(client, SPEC_ORDER, raw_key).status_code == 201
