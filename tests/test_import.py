"""python manage.py import_orders FILE: the spec's JSON, per-order errors, re-import policy."""
import copy
import datetime
import io
import json
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError
from django.db.models import Q
from django.forms.models import model_to_dict
from django.utils import timezone, translation
from hypothesis import HealthCheck, event, given, settings as hsettings, strategies as st

from orders.models import Order, OrderLine
from orders.services import OrderImporter
from orgs.models import User
from provisioning.models import Event, Provisioning
from tests.factories import UserFactory
from tests.helpers import at_once

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _before_the_start_dates(time_machine):
    # The orders below start in December 2026: their deployment emails are not due yet.
    time_machine.move_to(datetime.datetime(2026, 11, 20, 10, 0, tzinfo=datetime.timezone.utc))

SPEC_ORDER = {
    "order_number": "CCW-88213407",
    "product": "A-WX",
    "requested_start_date": "2026-12-01",
    "deployment_contact_email": "webex-deploy@partner.example",
    "language": "fr",
    "account_rep_email": "rep@vendor.example",
    "partner": {"id": "PTN-4411", "name": "Réseaux Alpins SARL", "country": "FR"},
    "customer": {"id": "CUS-90210", "name": "Boulangerie Martin", "country": "FR",
                 "address": "12 rue des Lilas", "city": "Lyon", "postal_code": "69003"},
    "lines": [
        {"sku": "A-WX-CALL-PRO", "service": "calling", "quantity": 50},
        {"sku": "A-WX-MTG-ENT", "service": "meetings", "quantity": 50},
    ],
}


def order(number="CCW-88213407", **changes):
    data = copy.deepcopy(SPEC_ORDER)
    data["order_number"] = number
    data.update(changes)
    return data


def run_import(tmp_path, content, *args):
    """(exit status, stdout, stderr) of import_orders on a file holding `content`."""
    path = tmp_path / "orders.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_orders", str(path), *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue().replace(str(path), "FILE")


def test_it_imports_the_spec_example_with_lines_provisioning_and_history(tmp_path):
    code, out, err = run_import(tmp_path, SPEC_ORDER)

    assert (code, err) == (0, "")
    assert out.endswith(": 1 order: 1 imported, 0 updated, 0 unchanged, 0 rejected\n")
    imported = Order.objects.get(number="CCW-88213407")
    assert imported.product == "A-WX"
    assert imported.requested_start_date == datetime.date(2026, 12, 1)
    assert imported.deployment_contact_email == "webex-deploy@partner.example"
    assert imported.language == "fr"
    assert (imported.partner_external_id, imported.partner_name) == ("PTN-4411", "Réseaux Alpins SARL")
    assert (imported.customer_city, imported.customer_postal_code) == ("Lyon", "69003")
    assert sorted(imported.lines.values_list("sku", "service", "quantity")) == [
        ("A-WX-CALL-PRO", "calling", 50), ("A-WX-MTG-ENT", "meetings", 50)]
    provisioning = imported.provisioning
    paris = ZoneInfo(settings.TIME_ZONE)
    assert provisioning.status == "scheduled"
    assert provisioning.email_due_at == datetime.datetime(2026, 12, 1, settings.DEPLOYMENT_EMAIL_HOUR,
                                                          tzinfo=paris)
    assert list(imported.events.values_list("kind", flat=True)) == ["imported"]


def test_it_imports_a_list_of_orders(tmp_path):
    code, out, _err = run_import(tmp_path, [order("CCW-1"), order("CCW-2"), order("CCW-3")])

    assert code == 0
    assert set(Order.objects.values_list("number", flat=True)) == {"CCW-1", "CCW-2", "CCW-3"}
    assert "3 orders: 3 imported" in out


def test_it_reports_every_invalid_field_with_the_order_number_and_imports_nothing_of_it(tmp_path):
    bad = order("CCW-666", product="A-XX", requested_start_date="2026-02-30",
                deployment_contact_email="not-an-email",
                lines=[{"sku": "A-WX-CALL-PRO", "service": "fax", "quantity": -5}])
    del bad["customer"]["name"]

    code, out, err = run_import(tmp_path, [bad])

    assert code == 1
    assert err.splitlines() == [
        'order CCW-666: product: unknown product "A-XX" (expected A-WX, A-SPK or A-FLEX)',
        'order CCW-666: requested_start_date: not a date "2026-02-30" (expected YYYY-MM-DD)',
        'order CCW-666: deployment_contact_email: invalid email address "not-an-email"',
        "order CCW-666: customer.name: this field is required",
        'order CCW-666: lines[0].service: unknown service "fax" '
        "(expected calling, meetings, messaging, webinars or contact_center)",
        "order CCW-666: lines[0].quantity: must be at least 1, got -5",
    ]
    assert "1 order: 0 imported, 0 updated, 0 unchanged, 1 rejected" in out
    assert not Order.objects.exists() and not User.objects.exists()


@pytest.mark.parametrize("change, message", [
    ({"lines": []}, "lines: must contain at least one line"),
    ({"lines": [{"sku": "X", "service": "calling", "quantity": 2.5}]},
     'lines[0].quantity: must be a whole number, got 2.5'),
    ({"lines": [{"sku": "X", "service": "calling", "quantity": 1},
                {"sku": "X", "service": "meetings", "quantity": 1}]},
     'lines[1].sku: duplicate SKU "X" in this order'),
    ({"account_rep_email": None}, "account_rep_email: this field is required"),
    ({"language": "de"}, 'language: unknown language "de" (expected en or fr)'),
    ({"partner": "PTN-4411"}, "partner: must be an object"),
    ({"requested_start_date": "01/12/2026"},
     'requested_start_date: not a date "01/12/2026" (expected YYYY-MM-DD)'),
])
def test_each_kind_of_problem_has_a_clear_message(tmp_path, change, message):
    code, _out, err = run_import(tmp_path, order("CCW-7", **change))

    assert code == 1
    assert err == f"order CCW-7: {message}\n"


def test_messages_are_in_the_sites_language_whatever_was_active_before(tmp_path):
    with translation.override("fr"):
        _code, _out, err = run_import(tmp_path, order("CCW-7", product="A-XX"))
    assert err == 'order CCW-7: product: unknown product "A-XX" (expected A-WX, A-SPK or A-FLEX)\n'


def test_an_order_without_a_number_is_named_by_its_position(tmp_path):
    nameless = order()
    del nameless["order_number"]

    code, _out, err = run_import(tmp_path, [order("CCW-1"), nameless, "CCW-3"])

    assert code == 1
    assert err.splitlines() == ["order #2: order_number: this field is required",
                                "order #3: order: must be a JSON object"]
    assert list(Order.objects.values_list("number", flat=True)) == ["CCW-1"]


def test_a_mixed_file_imports_the_valid_orders_and_exits_non_zero(tmp_path):
    code, out, err = run_import(tmp_path, [order("CCW-1"), order("CCW-2", product="A-XX"),
                                           order("CCW-3")])

    assert code == 1
    assert err == 'order CCW-2: product: unknown product "A-XX" (expected A-WX, A-SPK or A-FLEX)\n'
    assert sorted(Order.objects.values_list("number", flat=True)) == ["CCW-1", "CCW-3"]
    assert "3 orders: 2 imported, 0 updated, 0 unchanged, 1 rejected" in out


def test_malformed_json_is_reported_with_line_and_column_and_nothing_is_imported(tmp_path):
    text = '[\n  {"order_number": "CCW-1",\n    "product" "A-WX"}\n]'

    code, out, err = run_import(tmp_path, text)

    assert code == 2
    assert err == "FILE: malformed JSON at line 3, column 15: Expecting ':' delimiter\n"
    assert out == ""
    assert not Order.objects.exists()


def test_a_missing_file_is_reported(tmp_path):
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("import_orders", str(tmp_path / "nope.json"), stderr=err)
    assert exit_.value.code == 2
    assert "nope.json: cannot read the file: No such file or directory" in err.getvalue()


def test_reimporting_an_identical_order_reports_it_unchanged_and_writes_nothing(tmp_path):
    run_import(tmp_path, SPEC_ORDER)
    before = Order.objects.get().updated_at

    code, out, err = run_import(tmp_path, SPEC_ORDER)

    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "order CCW-88213407: unchanged"
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 2
    assert Order.objects.get().updated_at == before
    assert list(Event.objects.values_list("kind", flat=True)) == ["imported"]


def test_reimport_before_the_email_updates_the_order_and_recomputes_its_schedule(tmp_path):
    run_import(tmp_path, SPEC_ORDER)
    changed = order(requested_start_date="2026-12-15",
                    lines=[{"sku": "A-WX-CALL-PRO", "service": "calling", "quantity": 80}])

    code, out, _err = run_import(tmp_path, changed)

    assert code == 0
    assert out.splitlines()[0] == "order CCW-88213407: updated (requested_start_date, lines)"
    updated = Order.objects.get()
    assert updated.requested_start_date == datetime.date(2026, 12, 15)
    assert list(updated.lines.values_list("sku", "quantity")) == [("A-WX-CALL-PRO", 80)]
    provisioning = Provisioning.objects.get()
    assert provisioning.email_due_at.astimezone(ZoneInfo(settings.TIME_ZONE)).date() == \
        datetime.date(2026, 12, 15)
    assert provisioning.email_next_attempt_at == provisioning.email_due_at
    assert provisioning.stall_due_at.astimezone(ZoneInfo(settings.TIME_ZONE)).date() == \
        datetime.date(2026, 12, 16)
    event = Event.objects.get(kind="updated")
    assert event.data["changes"] == {"requested_start_date": ["2026-12-01", "2026-12-15"]}
    assert event.data["lines_changed"] is True


def test_reimport_after_the_email_was_sent_leaves_the_order_unchanged(tmp_path):
    run_import(tmp_path, SPEC_ORDER)
    Provisioning.objects.update(email_sent_at=timezone.now(), status="email_sent")

    code, out, _err = run_import(tmp_path, order(requested_start_date="2026-12-15",
                                                  deployment_contact_email="other@partner.example"))

    assert code == 0
    assert out.splitlines()[0] == (
        "order CCW-88213407: unchanged, the deployment email was already sent "
        "(changes not applied: requested_start_date, deployment_contact_email)")
    kept = Order.objects.get()
    assert kept.requested_start_date == datetime.date(2026, 12, 1)
    assert kept.deployment_contact_email == "webex-deploy@partner.example"
    assert not Event.objects.filter(kind="updated").exists()


def test_reimport_once_the_email_is_due_leaves_the_order_unchanged(tmp_path, time_machine):
    run_import(tmp_path, SPEC_ORDER)
    time_machine.move_to(datetime.datetime(2026, 12, 1, 9, 5, tzinfo=ZoneInfo(settings.TIME_ZONE)))

    _code, out, _err = run_import(tmp_path, order(deployment_contact_email="other@partner.example"))

    assert out.splitlines()[0] == ("order CCW-88213407: unchanged, the deployment email is already "
                                   "due (changes not applied: deployment_contact_email)")
    assert Order.objects.get().deployment_contact_email == "webex-deploy@partner.example"


def test_a_number_repeated_in_one_file_is_imported_once(tmp_path):
    code, out, _err = run_import(tmp_path, [order("CCW-1"), order("CCW-1")])

    assert code == 0
    assert Order.objects.count() == 1
    assert "2 orders: 1 imported, 0 updated, 1 unchanged, 0 rejected" in out


def test_a_missing_account_rep_is_created_inactive_as_staff_in_the_reps_group(tmp_path):
    run_import(tmp_path, [order("CCW-1", account_rep_email="New.Rep@Vendor.example"),
                          order("CCW-2", account_rep_email="new.rep@vendor.example")])

    rep = User.objects.get()
    assert rep.email == "new.rep@vendor.example"
    assert rep.is_staff and not rep.is_superuser
    assert not rep.is_active  # until an administrator activates it (tests/test_staff.py)
    assert not rep.has_usable_password()
    assert list(rep.groups.values_list("name", flat=True)) == [settings.REPS_GROUP]
    assert set(Order.objects.values_list("account_rep", flat=True)) == {rep.pk}


def test_an_existing_user_named_as_rep_is_used_as_is_never_promoted(tmp_path):
    partner_user = UserFactory(email="someone@partner.example")

    run_import(tmp_path, order(account_rep_email="SOMEONE@partner.example"))

    partner_user.refresh_from_db()
    assert Order.objects.get().account_rep == partner_user
    assert not partner_user.is_staff and not partner_user.groups.exists()


def test_it_shows_a_progress_line_on_stderr_for_large_files(tmp_path):
    orders = [order(f"CCW-{n}") for n in range(5)]

    code, _out, err = run_import(tmp_path, orders, "--progress-every", "2")

    assert code == 0
    assert err == ("\r2 / 5 orders processed"
                   "\r4 / 5 orders processed"
                   "\r5 / 5 orders processed\n")


def test_small_files_show_no_progress_line(tmp_path):
    _code, _out, err = run_import(tmp_path, [order("CCW-1"), order("CCW-2")])
    assert err == ""


def test_an_error_clears_the_progress_line_before_it_is_printed(tmp_path):
    orders = [order("CCW-1"), order("CCW-2"), order("CCW-3", product="A-XX")]

    _code, _out, err = run_import(tmp_path, orders, "--progress-every", "2")

    assert err == ("\r2 / 3 orders processed"
                   "\r" + " " * len("2 / 3 orders processed") + "\r"
                   'order CCW-3: product: unknown product "A-XX" (expected A-WX, A-SPK or A-FLEX)\n'
                   "\r3 / 3 orders processed\n")


def test_the_import_runs_a_bounded_number_of_queries_per_batch(tmp_path, django_assert_max_num_queries):
    orders = [order(f"CCW-{n}", account_rep_email=f"rep{n % 3}@vendor.example") for n in range(40)]
    # One batch: look up reps and known numbers (2), create each new rep once (5 each, plus the
    # group), then one INSERT each for orders, lines, provisioning rows and events, in one
    # transaction (a savepoint and its release here). Nothing per order.
    with django_assert_max_num_queries(2 + 3 * 5 + 1 + 4 + 2):
        code, _out, _err = run_import(tmp_path, orders)
    assert code == 0 and Order.objects.count() == 40 and OrderLine.objects.count() == 80


def test_reimporting_unchanged_orders_runs_no_query_per_order(tmp_path, django_assert_max_num_queries):
    orders = [order(f"CCW-{n}") for n in range(40)]
    run_import(tmp_path, orders)
    with django_assert_max_num_queries(4):  # reps, known orders, their lines (+ rep join)
        code, out, _err = run_import(tmp_path, orders)
    assert code == 0 and "40 unchanged" in out


def snapshot(number):
    """What the import wrote for one order, outside the order's own columns."""
    imported = Order.objects.get(number=number)
    rows = {rel.name: rel.related_model._default_manager.filter(**{rel.field.name: imported}).count()
            for rel in Order._meta.related_objects}
    provisioning = model_to_dict(imported.provisioning, exclude=["order"])
    events = list(imported.events.values("kind", "actor", "note", "data"))
    return rows, provisioning, events


def test_the_batch_import_writes_exactly_what_create_provisioning_writes():
    importer = OrderImporter()
    assert importer.import_one(order("CCW-1")).status == "created"  # lifecycle.create
    assert [o.status for o in importer.import_many([order("CCW-2")])] == ["created"]  # lifecycle.create_many

    assert snapshot("CCW-1") == snapshot("CCW-2")


def test_a_failed_batch_is_rolled_back_whole_and_redone_order_by_order(monkeypatch):
    def race(orders, actor=None):
        # Orders and lines of the batch are inserted by now: the rollback must take them back.
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr("provisioning.lifecycle.create_many", race)

    outcomes = list(OrderImporter().import_many([order("CCW-1"), order("CCW-2"), order("CCW-3")]))

    assert [o.status for o in outcomes] == ["created", "created", "created"]
    assert Order.objects.count() == 3
    assert not Order.objects.filter(Q(lines__isnull=True) | Q(provisioning__isnull=True)).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_the_same_orders_create_each_once(monkeypatch):
    """Four importers (the command and API calls, say) race on the same five new orders: the
    unique order number makes all but one batch fail; those fall back order by order and find
    the orders already there."""
    orders = [order(f"CCW-{n}") for n in range(5)]
    fallbacks = []
    bulk_create = OrderImporter._bulk_create

    def spy(self, cleaned_list):
        created = bulk_create(self, cleaned_list)
        fallbacks.append(created is None)
        return created

    monkeypatch.setattr(OrderImporter, "_bulk_create", spy)
    results, errors = at_once(lambda i: [o.status for o in OrderImporter().import_many(orders)], 4)

    assert errors == []
    assert any(fallbacks), "the importers did not overlap: no race was exercised"
    statuses = [status for run in results for status in run]
    assert statuses.count("created") == 5 and statuses.count("unchanged") == 15
    assert Order.objects.count() == 5 and Provisioning.objects.count() == 5
    assert Event.objects.filter(kind="imported").count() == 5
    assert User.objects.count() == 1  # the rep, created once


# --- Hostile input -------------------------------------------------------------------------------

NASTY = st.sampled_from(["", " ", "\x00", "\ud800", "ß" * 300, "2026-02-29", "2026-12-01",
                         "A-WX", "calling", "a@b.example", "CCW-1", "CCW-2", "FR", "fr"])
SCALARS = st.none() | st.booleans() | st.integers(-10, 10**12) | st.floats() | st.text(max_size=20) \
    | NASTY
JSONISH = st.recursive(SCALARS, lambda children: st.lists(children, max_size=3)
                       | st.dictionaries(st.text(max_size=8) | st.sampled_from(list(SPEC_ORDER)),
                                         children, max_size=4), max_leaves=12)


@st.composite
def mutated_orders(draw):
    """A valid order with some fields replaced, removed or nested values broken."""
    data = order(draw(st.sampled_from(["CCW-1", "CCW-2", "CCW-3"])))
    for key in draw(st.lists(st.sampled_from(list(SPEC_ORDER)), max_size=3)):
        if draw(st.booleans()):
            data.pop(key, None)
        else:
            data[key] = draw(JSONISH)
    lines = data.get("lines")
    if draw(st.booleans()) and isinstance(lines, list) and lines and isinstance(lines[0], dict):
        data["lines"][0][draw(st.sampled_from(["sku", "service", "quantity"]))] = draw(JSONISH)
    return data


@st.composite
def valid_orders(draw):
    """Valid orders over a few numbers, so examples create, update and re-import them too."""
    return order(f"CCW-{draw(st.integers(1, 6))}",
                 requested_start_date=draw(st.sampled_from(["2026-12-01", "2026-12-15"])),
                 lines=[{"sku": "A-WX-CALL-PRO", "service": "calling",
                         "quantity": draw(st.integers(1, 3))}])


HYPOTHESIS_EXAMPLES = 200


@hsettings(max_examples=HYPOTHESIS_EXAMPLES, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(items=st.lists(valid_orders() | mutated_orders() | JSONISH, min_size=1, max_size=4))
def test_the_importer_never_raises_and_never_writes_a_partial_order(items):
    outcomes = list(OrderImporter().import_many(items))

    assert len(outcomes) == len(items)
    for outcome in outcomes:
        outcome.describe()  # always printable
        event(outcome.status)  # --hypothesis-show-statistics: how many got through
    partial = Order.objects.filter(Q(lines__isnull=True) | Q(provisioning__isnull=True)
                                   | ~Q(events__kind="imported"))
    assert not partial.exists()


def test_a_number_of_five_thousand_digits_is_reported_on_its_field(tmp_path):
    text = json.dumps([order("CCW-1", lines=[{"sku": "S", "service": "calling", "quantity": "Q"}]),
                       order("CCW-2")]).replace('"Q"', "9" * 5000)
    code, _out, err = run_import(tmp_path, text)
    assert code == 1
    assert err.startswith("order CCW-1: lines[0].quantity: is too large")
    assert list(Order.objects.values_list("number", flat=True)) == ["CCW-2"]
