"""/metrics on a million orders: what one Prometheus scrape costs (provisioning/metrics.py).

    .venv/bin/python bench/bench_metrics.py [--emails N]

On the generator's million orders (bench/generate.py), plus an outbox of N sent emails spread
over two years (the last day's share sent today) and a backlog of 300 unsent, 60 of them failing:
the queries one scrape runs, each one's time and plan (EXPLAIN ANALYZE), and the whole scrape's
time (the collector and the text exposition), median of 20.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

N_EMAILS = 1_000_000
MARKER = "bench-metrics"


def fill_outbox(n):
    from django.db import connection
    from django.utils import timezone

    from provisioning.models import OutboundEmail

    table = OutboundEmail._meta.db_table
    kinds = [k for k in OutboundEmail.Kind.values if k != "deployment"]
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table} WHERE subject = %s", [MARKER])
        if cur.fetchone()[0] >= n:
            return 0
        now = timezone.now()
        # Sent: one every (two years / n), the newest a few seconds ago.
        cur.execute(f"""
            INSERT INTO {table} (kind, "to", subject, body_text, body_html, created_at,
                                 next_attempt_at, attempts, last_error, sent_at, secrets,
                                 delivery, delivery_reason, message_id)
            SELECT (%s::text[])[1 + i %% %s], 'someone' || i || '@example.com', %s,
                   repeat('Bonjour, ', 60), repeat('<p>Bonjour</p>', 60), t, NULL, 1, '', t, '{{}}',
                   '', '', ''
            FROM generate_series(1, %s) AS i,
                 LATERAL (SELECT %s::timestamptz - (i * interval '63072 seconds' / %s * 1000)) AS s(t)
            """, [kinds, len(kinds), MARKER, n, now, n])
        cur.execute(f"""
            INSERT INTO {table} (kind, "to", subject, body_text, body_html, created_at,
                                 next_attempt_at, attempts, last_error, sent_at, secrets,
                                 delivery, delivery_reason, message_id)
            SELECT (%s::text[])[1 + i %% %s], 'waiting' || i || '@example.com', %s, 'b', '',
                   %s::timestamptz - i * interval '2 seconds', %s, CASE WHEN i <= 60 THEN 3 ELSE 0 END,
                   '', NULL, '{{}}', '', '', ''
            FROM generate_series(1, 300) AS i""", [kinds, len(kinds), MARKER, now, now])
        cur.execute(f"ANALYZE {table}")
    return n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=N_EMAILS)
    args = parser.parse_args()
    common.start()
    results = common.Results("metrics", "/metrics: one Prometheus scrape")
    import time

    from django.db import connection
    from prometheus_client import generate_latest

    from provisioning.metrics import REGISTRY

    t0 = time.perf_counter()
    added = fill_outbox(args.emails)
    if added:
        results.row("outbox rows added", f"{added:,} sent + 300 unsent",
                    f"{time.perf_counter() - t0:.1f} s")
    with connection.cursor() as cur:
        cur.execute("ANALYZE provisioning_event; ANALYZE provisioning_provisioning")
        cur.execute("SELECT count(*) FROM provisioning_outboundemail")
        results.row("outbox rows", f"{cur.fetchone()[0]:,}")

    generate_latest(REGISTRY)  # warm
    with common.count_queries() as queries:
        body = generate_latest(REGISTRY)
    results.row("queries per scrape", len(queries))
    results.row("exposition size", f"{len(body):,} bytes")
    timing, _ = common.timeit(lambda: generate_latest(REGISTRY), repeat=20)
    results.row("scrape (collector + exposition), median of 20", common.ms(timing["median"]),
                f"best {common.ms(timing['best'])}")
    # EXPLAIN ANALYZE of each query as it ran (parameters interpolated by the driver).
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        generate_latest(REGISTRY)
    executed = [q["sql"] for q in captured.captured_queries]
    plans = []
    with connection.cursor() as cur:
        for sql in executed:
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) " + sql)
            plan = "\n".join(row[0] for row in cur.fetchall())
            plans.append(f"{sql[:160]}…\n{plan}" if len(sql) > 160 else f"{sql}\n{plan}")
    results.block("EXPLAIN ANALYZE of each query of a scrape", "\n\n".join(plans))
    for line in body.decode().splitlines():
        if line.startswith(("onboarding_deployment_emails_due ", "onboarding_outbox_oldest",
                            "onboarding_orders_stalled_open", 'onboarding_emails_sent_today{kind="password"}',
                            'onboarding_outbox_backlog{kind="password"}')):
            results.row(line.split(" ")[0], line.split(" ")[1])
    results.save()


if __name__ == "__main__":
    main()
