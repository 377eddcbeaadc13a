"""The rep dashboard and the admin order list on a million orders: queries per page and time
against SQL, in the same run.

    .venv/bin/python bench/bench_pages.py

Each page is requested in-process (Django's test client, signed in; DEBUG off) several times;
for each we report the number of queries (budget ≤ 8), the median time of the whole page, the
time of the same SQL statements replayed alone (the page's database share), and the time of a
hand-written SQL query that fetches the same rows (what a page could not go below), with the
EXPLAIN of the page's slowest statement.
"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

REPEAT = 9
BUDGET = 8

# The dashboard's rows, hand-written: stalled and not set up, most overdue first, with what a row
# shows of the order, its last history event, the rep's last contact note and whether a request
# to join waits; and the count the paginator needs.
DASHBOARD_SQL = """
SELECT p.order_id, p.status, p.email_attempts, p.email_last_error, p.email_failed_at,
       p.email_sent_at, p.email_delivery, p.email_delivery_reason, p.setup_begun_at, p.stall_due_at,
       p.last_contacted_at, p.window_closes_at, p.deployed_at, o.number, o.product,
       o.requested_start_date, o.deployment_contact_email, o.partner_name, o.customer_name,
       (SELECT e.kind FROM provisioning_event e WHERE e.order_id = p.order_id ORDER BY e.at DESC, e.id DESC LIMIT 1),
       (SELECT e.at FROM provisioning_event e WHERE e.order_id = p.order_id ORDER BY e.at DESC, e.id DESC LIMIT 1),
       (SELECT e.note FROM provisioning_event e WHERE e.order_id = p.order_id AND e.kind = 'contacted'
        ORDER BY e.at DESC, e.id DESC LIMIT 1),
       EXISTS (SELECT 1 FROM orgs_joinrequest j WHERE j.order_id = p.order_id AND j.status = 'pending')
FROM provisioning_provisioning p JOIN orders_order o ON o.id = p.order_id
WHERE p.stalled_at IS NOT NULL AND p.set_up_at IS NULL {where}
ORDER BY p.stall_due_at, p.order_id LIMIT 25 OFFSET {offset}"""
DASHBOARD_COUNT_SQL = """
SELECT count(*) FROM provisioning_provisioning p JOIN orders_order o ON o.id = p.order_id
WHERE p.stalled_at IS NOT NULL AND p.set_up_at IS NULL {where}"""
# The rest of the dashboard's data, hand-written too: today's chart counts (past days are kept in
# the cache, provisioning/selectors.daily_chart), the failing deployment emails panel and the
# count of other failing emails. {rep} is "" for all reps, else a rep filter.
CHART_TODAY_SQL = """
SELECT (e.at AT TIME ZONE %s)::date, e.kind, count(*) FROM provisioning_event e
JOIN orders_order o ON o.id = e.order_id
WHERE e.kind IN ('stalled', 'set_up', 'reminded', 'window_reminded') AND e.at >= %s AND e.at < %s {rep}
GROUP BY 1, 2"""
FAILING_DEPLOYMENT_SQL = """
SELECT p.order_id, p.status, p.email_attempts, p.email_last_error, p.email_failed_at,
       p.email_sent_at, p.email_delivery, p.email_delivery_reason, p.email_delivery_at, o.number,
       o.deployment_contact_email, o.partner_name, o.customer_name, count(*) OVER (),
       coalesce(p.email_failed_at, p.email_delivery_at) AS since, m.next_attempt_at
FROM provisioning_provisioning p JOIN orders_order o ON o.id = p.order_id
LEFT JOIN provisioning_outboundemail m ON m.id = p.outbox_email_id
WHERE ((p.email_failed_at IS NOT NULL AND p.email_sent_at IS NULL)
       OR p.email_delivery IN ('bounced', 'rejected'))
  AND p.set_up_at IS NULL AND p.status NOT IN ('closed', 'deployed') {rep}
ORDER BY since, p.order_id LIMIT 10"""
FAILING_EMAILS_SQL = """
SELECT count(*) FROM provisioning_outboundemail m LEFT JOIN orders_order o ON o.id = m.order_id
WHERE m.sent_at IS NULL AND m.attempts > 0 AND m.kind <> 'deployment' {rep}"""


def panels_and_chart(rep):
    """The hand-written statements of the dashboard's chart and panels, for `rep` (None: all)."""
    import datetime

    from django.utils import timezone

    from provisioning.lifecycle import local_time_on

    today = timezone.localdate()
    bounds = [local_time_on(today, 0), local_time_on(today + datetime.timedelta(days=1), 0)]
    zone = [str(timezone.get_current_timezone())]
    if rep is None:
        return [(CHART_TODAY_SQL.format(rep=""), zone + bounds),
                (FAILING_DEPLOYMENT_SQL.format(rep=""), []),
                (FAILING_EMAILS_SQL.format(rep=""), [])]
    return [(CHART_TODAY_SQL.format(rep="AND o.account_rep_id = %s"), zone + bounds + [rep.pk]),
            (FAILING_DEPLOYMENT_SQL.format(rep="AND o.account_rep_id = %s"), [rep.pk]),
            (FAILING_EMAILS_SQL.format(
                rep='AND (o.account_rep_id = %s OR upper(m."to") = upper(%s))'), [rep.pk, rep.email])]


ADMIN_SQL = """
SELECT o.*, u.email, p.status FROM orders_order o JOIN orgs_user u ON u.id = o.account_rep_id
LEFT JOIN provisioning_provisioning p ON p.order_id = o.id
WHERE {where} ORDER BY o.id DESC LIMIT 50"""
ADMIN_COUNT_SQL = "SELECT count(*) FROM orders_order o WHERE {where}"


def capture():
    """Context manager collecting (sql, params, seconds) of every query."""
    from contextlib import contextmanager

    from django.db import connection

    @contextmanager
    def block():
        queries = []

        def wrapper(execute, sql, params, many, context):
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                queries.append((sql, params, time.perf_counter() - t0))

        with connection.execute_wrapper(wrapper):
            yield queries

    return block()


def replay(queries):
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        for sql, params, _ in queries:
            cur.execute(sql, params)
            if cur.description:
                cur.fetchall()
    return time.perf_counter() - t0


def hand_written(statements):
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        for sql, params in statements:
            cur.execute(sql, params)
            cur.fetchall()
    return time.perf_counter() - t0


def measure(results, client, label, url, statements, rest=()):
    """`statements`: the rows and their count, hand-written; `rest`: the page's other data (the
    dashboard's chart and panels), so that the page is also set against all it reads."""
    response = client.get(url)
    assert response.status_code == 200, f"{url} gave HTTP {response.status_code}"
    page_times, sql_times, raw_times, all_times = [], [], [], []
    queries = []
    for _ in range(REPEAT):
        with capture() as queries:
            t0 = time.perf_counter()
            response = client.get(url)
            page_times.append(time.perf_counter() - t0)
        sql_times.append(replay(queries))
        raw_times.append(hand_written(statements))
        if rest:
            all_times.append(hand_written([*statements, *rest]))
    page, sql, raw = (statistics.median(v) for v in (page_times, sql_times, raw_times))
    slowest = max(queries, key=lambda q: q[2])
    within = "within" if len(queries) <= BUDGET else "OVER"
    results.row(f"{label}: queries", len(queries), f"budget ≤ {BUDGET}: {within}")
    results.row(f"{label}: page / its SQL replayed / hand-written SQL",
                f"{common.ms(page)} / {common.ms(sql)} / {common.ms(raw)}", f"GET {url}")
    results.ratio(f"{label}: page / hand-written SQL", page, raw)
    if rest:
        whole = statistics.median(all_times)
        results.row(f"{label}: hand-written SQL of all the page shows (rows, count, chart, panels)",
                    common.ms(whole))
        results.ratio(f"{label}: page / hand-written SQL of all it shows", page, whole)
    plan = common.explain(slowest[0], slowest[1])
    results.block(f"{label}: EXPLAIN ANALYZE of the slowest query ({common.ms(slowest[2])})",
                  f"{slowest[0][:600]}{'…' if len(slowest[0]) > 600 else ''}\n\n{plan}")
    return len(queries)


# A name or email fragment, written as the trigram indexes of orders/migrations/0004 serve it.
NAME_FRAGMENT = ("(UPPER(o.customer_name) LIKE UPPER(%s) OR UPPER(o.partner_name) LIKE UPPER(%s) "
                 "OR UPPER(o.deployment_contact_email) LIKE UPPER(%s))")


def main():
    common.start()
    from django.conf import settings
    from django.test import Client

    from orgs.models import User

    settings.DEBUG = False
    results = common.Results("pages", "Dashboard and admin on a million orders")
    rep = User.objects.filter(email__startswith="bench-rep").order_by("pk").first()
    admin, _ = User.objects.get_or_create(email="bench-admin@vendor.example",
                                          defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(rep)
    try:
        from provisioning import selectors  # noqa: F401
    except ImportError:
        results.note("the dashboard has not landed")
    else:
        mine = "AND o.account_rep_id = %s"
        measure(results, client, "dashboard, first page (my stalled orders)", "/reps/stalled/",
                [(DASHBOARD_SQL.format(where=mine, offset=0), [rep.pk]),
                 (DASHBOARD_COUNT_SQL.format(where=mine), [rep.pk])], panels_and_chart(rep))
        filtered = ("AND o.product = 'A-WX' AND p.setup_begun_at IS NULL "
                    "AND p.stall_due_at <= now() - interval '7 days'")
        measure(results, client, "dashboard, filtered (all reps, A-WX, 7+ days, never begun, page 3)",
                "/reps/stalled/?reps=all&product=A-WX&overdue=7&setup=never&page=3",
                [(DASHBOARD_SQL.format(where=filtered, offset=50), []),
                 (DASHBOARD_COUNT_SQL.format(where=filtered), [])], panels_and_chart(None))
        search = f"AND {NAME_FRAGMENT}"
        measure(results, client, "dashboard, search 'Martin' (all reps)",
                "/reps/stalled/?reps=all&q=Martin",
                [(DASHBOARD_SQL.format(where=search, offset=0), ["%Martin%"] * 3),
                 (DASHBOARD_COUNT_SQL.format(where=search), ["%Martin%"] * 3)], panels_and_chart(None))

    client.force_login(admin)
    try:
        import orders.admin  # noqa: F401
    except ImportError:
        results.note("the order admin has not landed")
    else:
        measure(results, client, "admin orders, no search", "/admin/orders/order/",
                [(ADMIN_SQL.format(where="true"), [])])
        email = "deploy17@partner17.example"
        measure(results, client, "admin orders, search by email", f"/admin/orders/order/?q={email}",
                [(ADMIN_SQL.format(where="lower(o.deployment_contact_email) = %s"), [email]),
                 (ADMIN_COUNT_SQL.format(where="lower(o.deployment_contact_email) = %s"), [email])])
        measure(results, client, "admin orders, search by name fragment 'Dubois 4242'",
                "/admin/orders/order/?q=Dubois+4242",
                [(ADMIN_SQL.format(where=NAME_FRAGMENT), ["%Dubois 4242%"] * 3),
                 (ADMIN_COUNT_SQL.format(where=NAME_FRAGMENT), ["%Dubois 4242%"] * 3)])
    results.save()


if __name__ == "__main__":
    main()
