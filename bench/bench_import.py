"""Import rate: `import_orders` on a 10,000-order file against real PostgreSQL, with the floor
measured in the same run: a raw-SQL bulk insert (multi-row INSERT … VALUES in one transaction) of
exactly the same rows (orders, lines, provisioning rows, 'imported' events).

    .venv/bin/python bench/bench_import.py [--orders 10000] [--repeat 2]
    scripts/services.py -- .venv/bin/python bench/bench_import.py

The ratio says what validation, Django models and batch transactions (each order still
all-or-nothing) cost over the floor.
Rows are removed after each run, so the script can run on a database that holds other data (the
million-order bench database included).
"""
import argparse
import datetime
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

PREFIX = "IMPB-"
PRODUCTS = ["A-WX", "A-SPK", "A-FLEX"]
SERVICES = ["calling", "meetings", "messaging", "webinars"]


def make_orders(count, run):
    start = datetime.date.today() + datetime.timedelta(days=30)
    orders = []
    for n in range(count):
        product = PRODUCTS[n % 3]
        services = [SERVICES[n % 4], SERVICES[(n + 1) % 4]]
        orders.append({
            "order_number": f"{PREFIX}{run}-{n:06d}",
            "product": product,
            "requested_start_date": (start + datetime.timedelta(days=n % 60)).isoformat(),
            "deployment_contact_email": f"deploy{n}@partner{n % 500}.example",
            "language": "fr" if n % 2 else "en",
            "account_rep_email": f"bench-rep{n % 50}@vendor.example",
            "partner": {"id": f"PTN-B{n % 500}", "name": f"Partenaire {n % 500} SARL", "country": "FR"},
            "customer": {"id": f"CUS-B{n}", "name": f"Client {n}", "country": "FR",
                         "address": f"{n % 90 + 1} rue des Lilas", "city": "Lyon",
                         "postal_code": "69003"},
            "lines": [{"sku": f"{product}-{s.upper()[:4]}", "service": s, "quantity": 10 + n % 90}
                      for s in services],
        })
    return orders


def run_import(path):
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    try:
        call_command("import_orders", str(path), stdout=out, stderr=err)
    except SystemExit as exc:
        raise RuntimeError(f"import failed ({exc.code}): {err.getvalue()[-500:]}")
    return time.perf_counter() - t0, out.getvalue().strip().splitlines()[-1], err.getvalue()


def raw_bulk_insert(orders):
    """The floor: the same rows in one transaction, by multi-row INSERTs (psycopg2 execute_values).
    Reps are looked up/created once, like the importer does."""
    from django.db import connection, transaction
    from psycopg2.extras import execute_values

    from orgs.models import User
    from provisioning.lifecycle import schedule_for

    class Row:  # what schedule_for reads
        def __init__(self, data):
            self.requested_start_date = datetime.date.fromisoformat(data["requested_start_date"])
            self.product = data["product"]

    t0 = time.perf_counter()
    with transaction.atomic():
        reps = {u.email: u.pk for u in User.objects.filter(
            email__in={o["account_rep_email"] for o in orders})}
        with connection.cursor() as django_cursor:
            cur = django_cursor.cursor
            now = datetime.datetime.now(datetime.timezone.utc)
            ids = execute_values(cur, """
                INSERT INTO orders_order (number, product, requested_start_date,
                    deployment_contact_email, language, account_rep_id, partner_external_id,
                    partner_name, partner_country, customer_external_id, customer_name,
                    customer_country, customer_address, customer_city, customer_postal_code,
                    created_at, updated_at) VALUES %s RETURNING id""", [
                (o["order_number"], o["product"], o["requested_start_date"],
                 o["deployment_contact_email"], o["language"], reps[o["account_rep_email"]],
                 o["partner"]["id"], o["partner"]["name"], o["partner"]["country"],
                 o["customer"]["id"], o["customer"]["name"], o["customer"]["country"],
                 o["customer"]["address"], o["customer"]["city"], o["customer"]["postal_code"],
                 now, now) for o in orders], page_size=1000, fetch=True)
            order_ids = [row[0] for row in ids]
            execute_values(cur, """INSERT INTO orders_orderline (order_id, sku, service, quantity,
                deployment_contact_email) VALUES %s""", [
                (oid, line["sku"], line["service"], line["quantity"], "")
                for oid, o in zip(order_ids, orders) for line in o["lines"]], page_size=1000)
            rows = []
            for oid, o in zip(order_ids, orders):
                s = schedule_for(Row(o))
                rows.append((oid, "scheduled", s["email_due_at"], s["email_next_attempt_at"], 0, "",
                             s["stall_due_at"], s["window_closes_at"], "", "", "", now,
                             "", "", "", "", ""))
            execute_values(cur, """INSERT INTO provisioning_provisioning (order_id, status,
                email_due_at, email_next_attempt_at, email_attempts, email_last_error,
                stall_due_at, window_closes_at, setup_mode, installer_name, installer_email,
                updated_at, confirmed_in_browser, customer_admin_email, email_delivery,
                email_delivery_reason, email_message_id) VALUES %s""", rows, page_size=1000)
            execute_values(cur, """INSERT INTO provisioning_event (order_id, kind, note, data)
                VALUES %s""", [(oid, "imported", "", "{}") for oid in order_ids], page_size=1000)
    return time.perf_counter() - t0


def cleanup():
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        mine = "SELECT id FROM orders_order WHERE number LIKE %s"
        for table in ("provisioning_event", "orders_orderline", "provisioning_provisioning"):
            cur.execute(f"DELETE FROM {table} WHERE order_id IN ({mine})", [PREFIX + "%"])
        cur.execute("DELETE FROM orders_order WHERE number LIKE %s", [PREFIX + "%"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    common.ensure_services()
    common.setup_django()
    common.migrate()
    from orders.models import Order

    results = common.Results("import", f"Order import: {args.orders:,} orders")
    results.row("orders already in the database", f"{Order.objects.count():,}")
    cleanup()
    imports, floors, reimports = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):
            orders = make_orders(args.orders, run)
            path = Path(tmp) / f"orders-{run}.json"
            path.write_text(json.dumps(orders))
            # A B A B: the importer and the floor share whatever noise the machine has.
            seconds, summary, progress = run_import(path)
            imports.append(seconds)
            print(f"  run {run + 1}: import {seconds:.1f} s — {summary}", flush=True)
            seconds, summary, _progress = run_import(path)
            reimports.append(seconds)
            print(f"  run {run + 1}: re-import of the same file {seconds:.1f} s — {summary}", flush=True)
            cleanup()
            floors.append(raw_bulk_insert(orders))
            print(f"  run {run + 1}: raw-SQL bulk insert {floors[-1]:.2f} s", flush=True)
            cleanup()
    best_import, best_floor, best_reimport = min(imports), min(floors), min(reimports)
    results.row("import_orders, best of runs", f"{best_import:.1f} s",
                f"{args.orders / best_import:,.0f} orders/s; runs: "
                + ", ".join(f"{s:.1f} s" for s in imports))
    results.row("re-import of the same file (all unchanged)", f"{best_reimport:.1f} s",
                f"{args.orders / best_reimport:,.0f} orders/s")
    results.row("raw-SQL bulk insert of the same rows (floor)", f"{best_floor:.2f} s",
                f"{args.orders / best_floor:,.0f} orders/s")
    results.ratio("import time / floor time", best_import, best_floor)
    results.row("well under a minute for 10,000", "yes" if best_import * 10_000 / args.orders < 30
                else "NO", "target: < 30 s for 10,000 orders")
    results.note("The importer validates every order, then writes each batch of 250 new orders in "
                 "one transaction with bulk INSERTs (orders, lines, provisioning rows, history "
                 "events), falling back to one transaction per order if a batch fails; the floor "
                 "writes all rows in one transaction with no validation and no Django models.")
    results.note(f"progress line sample (stderr): {progress.strip()[-60:]!r}")
    results.save()


if __name__ == "__main__":
    main()
