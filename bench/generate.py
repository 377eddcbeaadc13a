"""A million orders, set-based, on PostgreSQL.

    .venv/bin/python bench/generate.py [--orders N] [--force]

One `INSERT … SELECT FROM generate_series` per table, from a temporary plan table that gives
each order its category, start date and product. Secondary indexes are dropped during the load
and rebuilt after (a sorted build beats a million index insertions); primary keys and unique
constraints stay in place, so the data is checked like any other. Foreign-key triggers are
skipped for the load (session_replication_role=replica): every id is produced by the same
statement that produces its parent.

Orders get a category from a permutation of their number (so categories are spread over the
table, not clustered), with these shares of N:

| category       | share  | state |
|----------------|--------|-------|
| due            | 1.0 %  | start date = today (email hour passed), email not sent: the job's work |
| stalling       | 1.5 %  | start 1–5 days ago, email sent, not set up, not yet flagged |
| stalled_open   | 0.5 %  | flagged stalled 6–29 days ago, rep told, not set up (the dashboard) |
| closed         | 1.0 %  | setup window over, never set up |
| future         | 8.0 %  | start in the next 90 days, scheduled |
| done           | 88 %   | start over the past two years, set up (90 % deployed) |

"Today" is the latest site-local date whose DEPLOYMENT_EMAIL_HOUR has passed, so the due/stalling
split holds at any hour of the day. Timestamps follow provisioning.lifecycle.schedule_for.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

N_ORDERS = 1_000_000
N_REPS = 25
N_PARTNERS = 2_000
SHARES = [("due", 0.010), ("stalling", 0.015), ("stalled_open", 0.005), ("closed", 0.010),
          ("future", 0.080)]  # the rest: done
MULTIPLIER = 2654435761  # odd and not a multiple of 5: i -> i*M mod 10^k is a permutation

TABLES = ["orders_order", "orders_orderline", "provisioning_provisioning", "provisioning_event"]
MARKER_PREFIX = "CCW-B"


def reference_day(now):
    """The latest local date whose email hour has passed at `now`."""
    import datetime

    from django.conf import settings
    from django.utils import timezone

    from provisioning.lifecycle import local_time_on

    day = timezone.localtime(now).date()
    if local_time_on(day, settings.DEPLOYMENT_EMAIL_HOUR) > now:
        day -= datetime.timedelta(days=1)
    return day


def existing_orders():
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM orders_order WHERE number LIKE %s", [MARKER_PREFIX + "%"])
        return cur.fetchone()[0]


def ensure(n=None):
    """Generate once per database: a no-op when the bench orders are there."""
    n = n or N_ORDERS
    if existing_orders() >= n:
        return None
    return generate(n)


def _required_extras(cur, table, given):
    """NOT NULL columns without a default that this generator does not know (added by a later
    migration): filled with a neutral value of their type so the load still runs."""
    cur.execute("""SELECT column_name, data_type FROM information_schema.columns
                   WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL
                     AND is_identity = 'NO'""", [table])
    neutral = {"boolean": "false", "integer": "0", "smallint": "0", "bigint": "0",
               "jsonb": "'{}'::jsonb", "json": "'{}'::json",
               "timestamp with time zone": "now()", "date": "current_date"}
    extras = {}
    for column, data_type in cur.fetchall():
        if column not in given:
            extras[column] = neutral.get(data_type, "''")
    return extras


def _insert(cur, table, columns, select_sql, params):
    """INSERT INTO table (columns + unknown required ones) SELECT … — columns is {name: expr}."""
    columns = dict(columns)
    columns.update(_required_extras(cur, table, columns))
    names = ", ".join(columns)
    exprs = ",\n       ".join(f"{expr}" for expr in columns.values())
    cur.execute(f"INSERT INTO {table} ({names})\nSELECT {exprs}\n{select_sql}", params)
    return cur.rowcount


def _drop_secondary_indexes(cur, table):
    """Drop indexes that back no constraint; return their definitions to rebuild them."""
    cur.execute("""SELECT i.indexname, i.indexdef FROM pg_indexes i
                   WHERE i.tablename = %s AND NOT EXISTS (
                     SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""", [table])
    defs = cur.fetchall()
    for name, _ in defs:
        cur.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in defs]


def generate(n=N_ORDERS, log=print):
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    t_start = time.perf_counter()
    now = timezone.now()
    day = reference_day(now)
    timings = {}
    bounds, acc = {}, 0
    for name, share in SHARES:
        bounds[name] = (acc, acc + round(share * n))
        acc += round(share * n)

    params = {"n": n, "m": MULTIPLIER, "day": day, "now": now, "hour": settings.DEPLOYMENT_EMAIL_HOUR,
              "tz": settings.TIME_ZONE, "window": settings.SETUP_WINDOW_DAYS,
              "window_flex": settings.SETUP_WINDOW_DAYS_FLEX, "prefix": MARKER_PREFIX}
    for name, (lo, hi) in bounds.items():
        params[f"{name}_lo"], params[f"{name}_hi"] = lo, hi

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cur.fetchone()[0]:
            cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cur.execute("SET LOCAL work_mem = '64MB'")

        # Reps: staff users in the reps group (unusable passwords; benches log in with force_login).
        t0 = time.perf_counter()
        group = Group.objects.get(name=settings.REPS_GROUP)
        _insert(cur, "orgs_user", {
            "password": "'!bench'", "email": "'bench-rep' || r || '@vendor.example'",
            "full_name": "'Bench Rep ' || r", "is_staff": "true", "is_active": "true",
            "is_superuser": "false", "date_joined": "%(now)s"},
            "FROM generate_series(1, %(reps)s) r ON CONFLICT DO NOTHING", {**params, "reps": N_REPS})
        cur.execute("""INSERT INTO orgs_user_groups (user_id, group_id)
                       SELECT id, %s FROM orgs_user WHERE email LIKE 'bench-rep%%'
                       ON CONFLICT DO NOTHING""", [group.pk])
        cur.execute("SELECT array_agg(id ORDER BY id) FROM orgs_user WHERE email LIKE 'bench-rep%%'")
        params["reps"] = cur.fetchone()[0]
        cur.execute("SELECT coalesce(max(id), 0) FROM orders_order")
        params["base"] = cur.fetchone()[0]

        # The plan: one row per order with everything the tables derive from.
        cur.execute("""
CREATE TEMP TABLE bench_plan ON COMMIT DROP AS
SELECT i, k, id, cat, product, start,
       ((start + make_time(%(hour)s, 0, 0)) AT TIME ZONE %(tz)s) AS email_due,
       ((start + 1 + make_time(%(hour)s, 0, 0)) AT TIME ZONE %(tz)s) AS stall_due,
       ((start + CASE WHEN product = 'A-FLEX' THEN %(window_flex)s ELSE %(window)s END
         + time '23:59:59') AT TIME ZONE %(tz)s) AS window_closes
FROM (
  SELECT i, k, %(base)s + i AS id, cat,
         CASE WHEN k %% 20 < 11 THEN 'A-WX' WHEN k %% 20 < 18 THEN 'A-SPK' ELSE 'A-FLEX' END AS product,
         %(day)s::date + CASE cat
           WHEN 'due' THEN 0
           WHEN 'stalling' THEN -1 - (k %% 5)
           WHEN 'stalled_open' THEN -6 - (k %% 24)
           WHEN 'closed' THEN -31 - (k %% 660)
           WHEN 'future' THEN 1 + (k %% 90)
           ELSE -1 - (k %% 730) END AS start
  FROM (
    SELECT i, k, CASE
      WHEN k >= %(due_lo)s AND k < %(due_hi)s THEN 'due'
      WHEN k >= %(stalling_lo)s AND k < %(stalling_hi)s THEN 'stalling'
      WHEN k >= %(stalled_open_lo)s AND k < %(stalled_open_hi)s THEN 'stalled_open'
      WHEN k >= %(closed_lo)s AND k < %(closed_hi)s THEN 'closed'
      WHEN k >= %(future_lo)s AND k < %(future_hi)s THEN 'future'
      ELSE 'done' END AS cat
    FROM (SELECT i, ((i::bigint * %(m)s) %% %(n)s)::int AS k
          FROM generate_series(1, %(n)s) i) perm
  ) cats
) plan""", params)
        timings["plan"] = time.perf_counter() - t0

        dropped = {}
        for table in TABLES:
            dropped[table] = _drop_secondary_indexes(cur, table)

        t0 = time.perf_counter()
        rows = _insert(cur, "orders_order", {
            "id": "id", "number": "%(prefix)s || lpad(id::text, 8, '0')", "product": "product",
            "requested_start_date": "start",
            "deployment_contact_email": "'deploy' || (1 + k %% 2000) || '@partner' || (1 + k %% 2000) || '.example'",
            "language": "CASE WHEN k %% 10 < 3 THEN 'fr' ELSE 'en' END",
            "account_rep_id": "(%(reps)s::bigint[])[1 + (k %% array_length(%(reps)s::bigint[], 1))]",
            "partner_external_id": "'PTN-' || (1 + k %% 2000)",
            "partner_name": "(ARRAY['Réseaux', 'Telco', 'Unified', 'Alpine', 'Nordic', 'Cloud', 'Voix', 'Digital'])[1 + (k %% 2000) %% 8] || ' Partner ' || (1 + k %% 2000)",
            "partner_country": "(ARRAY['FR','DE','GB','ES','IT','BE','NL','CH'])[1 + (k / 7) %% 8]",
            "customer_external_id": "'CUS-' || i",
            "customer_name": "(ARRAY['Boulangerie', 'Garage', 'Cabinet', 'Hôtel', 'Pharmacie', 'Atelier', 'Clinique', 'Librairie', 'Studio', 'Ferme'])[1 + k %% 10] || ' ' || (ARRAY['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau', 'Simon', 'Laurent'])[1 + (k / 10) %% 12] || ' ' || i",
            "customer_country": "(ARRAY['FR','DE','GB','ES','IT','BE','NL','CH'])[1 + (k / 7) %% 8]",
            "customer_address": "(1 + k %% 200) || ' rue des Lilas'",
            "customer_city": "(ARRAY['Lyon','Paris','Lille','Nantes','Berlin','London','Madrid','Rome'])[1 + k %% 8]",
            "customer_postal_code": "lpad((1000 + k %% 90000)::text, 5, '0')",
            "created_at": "email_due - interval '20 days'", "updated_at": "%(now)s",
        }, "FROM bench_plan", params)
        timings["orders"] = time.perf_counter() - t0
        log(f"  orders: {rows:,} in {timings['orders']:.1f} s")

        t0 = time.perf_counter()
        rows = _insert(cur, "orders_orderline", {
            "order_id": "p.id", "sku": "p.product || '-' || upper(left(s.service, 4)) || '-' || (CASE WHEN p.k %% 3 = 0 THEN 'ENT' ELSE 'PRO' END)",
            "service": "s.service", "quantity": "5 * (1 + p.k %% 60)", "deployment_contact_email": "''",
        }, """FROM bench_plan p CROSS JOIN LATERAL unnest(CASE
                 WHEN p.product = 'A-WX' THEN ARRAY['calling', 'meetings', 'messaging']
                 WHEN p.product = 'A-FLEX' THEN ARRAY['meetings', 'messaging']
                 WHEN p.k %% 2 = 0 THEN ARRAY['calling'] ELSE ARRAY['meetings', 'calling'] END) AS s(service)""",
            params)
        timings["lines"] = time.perf_counter() - t0
        log(f"  order lines: {rows:,} in {timings['lines']:.1f} s")

        t0 = time.perf_counter()
        sent = "cat <> 'due' AND cat <> 'future'"
        stalled = "cat IN ('stalled_open', 'closed') OR (cat = 'done' AND k %% 10 = 0)"
        begun = ("email_due + make_interval(hours => CASE WHEN cat = 'done' AND k %% 10 = 0 "
                 "THEN 30 + k %% 200 ELSE 1 + k %% 20 END)")
        rows = _insert(cur, "provisioning_provisioning", {
            "order_id": "id",
            "status": f"""CASE WHEN cat IN ('due', 'future') THEN 'scheduled'
                               WHEN cat IN ('stalling', 'stalled_open') THEN 'email_sent'
                               WHEN cat = 'closed' THEN 'closed'
                               WHEN k %% 10 = 9 THEN 'set_up' ELSE 'deployed' END""",
            "email_due_at": "email_due", "email_next_attempt_at": "email_due",
            "email_attempts": f"CASE WHEN {sent} THEN 1 ELSE 0 END", "email_last_error": "''",
            "email_sent_at": f"CASE WHEN {sent} THEN email_due + interval '2 minutes' END",
            "setup_begun_at": f"""CASE WHEN cat = 'done' OR (cat = 'stalled_open' AND k %% 5 = 0)
                                      THEN least({begun}, %(now)s - interval '1 hour') END""",
            "set_up_at": f"CASE WHEN cat = 'done' THEN least({begun} + interval '40 minutes', %(now)s - interval '20 minutes') END",
            "setup_mode": "CASE WHEN cat = 'done' THEN (ARRAY['self','self','colleague','customer'])[1 + k %% 4] ELSE '' END",
            "installer_name": "''", "installer_email": "''",
            "password_set_at": f"CASE WHEN cat = 'done' AND k %% 3 = 0 THEN least({begun} + interval '45 minutes', %(now)s - interval '15 minutes') END",
            "stall_due_at": "stall_due",
            "stalled_at": f"CASE WHEN {stalled} THEN stall_due + interval '3 minutes' END",
            "rep_notified_at": f"CASE WHEN {stalled} THEN stall_due + interval '4 minutes' END",
            "last_contacted_at": "CASE WHEN cat = 'stalled_open' AND k %% 3 = 0 THEN stall_due + interval '1 day' END",
            "window_closes_at": "window_closes",
            "deployed_at": f"CASE WHEN cat = 'done' AND k %% 10 <> 9 THEN least({begun} + interval '1 day', %(now)s - interval '10 minutes') END",
            "updated_at": "%(now)s",
        }, "FROM bench_plan", params)
        timings["provisioning"] = time.perf_counter() - t0
        log(f"  provisioning: {rows:,} in {timings['provisioning']:.1f} s")

        # History: 'imported' for every order; sent / stalled / set up for the last 60 days
        # (what the dashboard's 30-day chart reads).
        t0 = time.perf_counter()
        recent = "start >= %(day)s::date - 60"
        rows = _insert(cur, "provisioning_event", {
            "order_id": "id", "kind": "e.kind", "at": "e.at", "note": "''", "data": "'{}'::jsonb",
        }, f"""FROM bench_plan p CROSS JOIN LATERAL (VALUES
                 ('imported', p.email_due - interval '20 days', true),
                 ('email_sent', p.email_due + interval '2 minutes',
                    p.cat NOT IN ('due', 'future') AND {recent}),
                 ('stalled', p.stall_due + interval '3 minutes',
                    (p.cat IN ('stalled_open', 'closed') OR (p.cat = 'done' AND p.k %% 10 = 0)) AND {recent}),
                 ('set_up', least(p.email_due + make_interval(hours => 2 + p.k %% 20), %(now)s - interval '20 minutes'),
                    p.cat = 'done' AND {recent})
               ) AS e(kind, at, wanted)
               WHERE e.wanted""", params)
        timings["events"] = time.perf_counter() - t0
        log(f"  events: {rows:,} in {timings['events']:.1f} s")

        t0 = time.perf_counter()
        for table, defs in dropped.items():
            for definition in defs:
                cur.execute(definition)
        for table in ("orders_order", "orders_orderline"):
            cur.execute(f"""SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                          (SELECT max(id) FROM {table}))""")
        timings["indexes"] = time.perf_counter() - t0
        log(f"  secondary indexes rebuilt in {timings['indexes']:.1f} s")

    # Outside the transaction: VACUUM sets the visibility map (index-only scans), like autovacuum
    # would on a live database; ANALYZE gives the planner real statistics.
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"VACUUM (ANALYZE) {table}")
    timings["vacuum_analyze"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    log(f"  vacuum+analyze {timings['vacuum_analyze']:.1f} s; total {timings['total']:.1f} s")
    return {"orders": n, "reference_day": str(day), "timings": timings,
            "bounds": {k: v[1] - v[0] for k, v in bounds.items()}}


def counts():
    """What the jobs and pages will find, as the raw SQL sees it."""
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cur:
        cur.execute("""SELECT
            (SELECT count(*) FROM orders_order),
            (SELECT count(*) FROM orders_orderline),
            (SELECT count(*) FROM provisioning_event),
            (SELECT count(*) FROM provisioning_provisioning
              WHERE email_sent_at IS NULL AND email_next_attempt_at <= %(now)s),
            (SELECT count(*) FROM provisioning_provisioning
              WHERE stalled_at IS NULL AND set_up_at IS NULL AND stall_due_at <= %(now)s
                AND email_sent_at IS NOT NULL),
            (SELECT count(*) FROM provisioning_provisioning
              WHERE stalled_at IS NOT NULL AND set_up_at IS NULL)""", {"now": timezone.now()})
        keys = ["orders", "order_lines", "events", "email_due_now", "stall_due_now", "stalled_open"]
        return dict(zip(keys, cur.fetchone()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=N_ORDERS)
    parser.add_argument("--force", action="store_true", help="generate even if already there")
    args = parser.parse_args()
    common.ensure_services()
    common.setup_django()
    common.migrate()
    results = common.Results("generate", f"Generator: {args.orders:,} orders")
    if not args.force and existing_orders() >= args.orders:
        results.note("already generated in this database; --force to add another set")
    else:
        info = generate(args.orders, log=lambda line: None)
        for step, seconds in info["timings"].items():
            results.row(f"generation: {step}", f"{seconds:.1f} s")
        results.row("reference day (email hour passed)", info["reference_day"])
    for key, value in counts().items():
        results.row(key.replace("_", " "), f"{value:,}")
    results.save()


if __name__ == "__main__":
    main()
