"""Beat jobs on a million orders, each against the equivalent hand-written SQL in the same run.

    .venv/bin/python bench/bench_jobs.py

1. send_due_deployment_emails: its claim loop (lifecycle.claim_due_emails, batch by batch)
   versus the hand-written `WITH claimed AS MATERIALIZED (SELECT … FOR UPDATE SKIP LOCKED)
   UPDATE … RETURNING` with the same batch size, interleaved; then the whole job (claim, render, send
   over the locmem backend, mark sent) versus the set-based SQL floor of the same database work;
   query counts at two batch sizes; EXPLAIN of the idle run.
2. flag_stalled_provisioning: the whole job versus one hand-written statement doing the same
   database work (flag + history + the per-rep lists); the flag UPDATE itself as timed inside the
   job versus alone; EXPLAIN of the idle run.

Between runs the touched rows are put back from a snapshot table (not timed), and rows the run
added (links, history, outbox) are deleted, so every run sees the same million orders.
"""
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

EMAIL_COLS = ["status", "email_next_attempt_at", "email_attempts", "email_last_error",
              "email_failed_at", "email_sent_at", "outbox_email_id", "email_message_id",
              "updated_at"]
STALL_COLS = ["status", "stalled_at", "rep_notified_at", "updated_at"]
ADDED = ["provisioning_event", "provisioning_setuplink", "provisioning_outboundemail"]
ROUNDS = 3

# MATERIALIZED so that the LIMIT is applied once (an IN-subquery may be rescanned per row).
CLAIM_SQL = """
WITH claimed AS MATERIALIZED (
  SELECT order_id FROM provisioning_provisioning
  WHERE email_sent_at IS NULL AND email_next_attempt_at <= %(now)s
  ORDER BY email_next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
UPDATE provisioning_provisioning SET email_next_attempt_at = %(lease)s
WHERE order_id IN (SELECT order_id FROM claimed)
RETURNING order_id"""

# The database work of one deployment batch once claimed: a link per order, marked sent, history.
SEND_FLOOR_SQL = """
WITH links AS (
  INSERT INTO provisioning_setuplink (order_id, token_hash, nonce, recipient_email, purpose,
                                     created_at)
  SELECT o.id, md5(random()::text) || md5(random()::text), md5(random()::text),
         lower(o.deployment_contact_email), 'deployment', %(now)s
  FROM orders_order o WHERE o.id = ANY(%(ids)s)
  RETURNING order_id),
sent AS (
  UPDATE provisioning_provisioning SET email_sent_at = %(now)s, email_next_attempt_at = NULL,
         email_attempts = email_attempts + 1, status = 'email_sent', updated_at = %(now)s
  WHERE order_id = ANY(%(ids)s) AND email_sent_at IS NULL RETURNING order_id)
INSERT INTO provisioning_event (order_id, kind, at, note, data)
SELECT order_id, 'link_issued', %(now)s, '', '{}'::jsonb FROM links
UNION ALL SELECT order_id, 'email_sent', %(now)s, '', '{}'::jsonb FROM sent"""

FLAG_SQL = """
UPDATE provisioning_provisioning SET stalled_at = %(now)s, rep_notified_at = %(now)s, updated_at = %(now)s
WHERE stalled_at IS NULL AND set_up_at IS NULL AND stall_due_at <= %(now)s
  AND email_sent_at IS NOT NULL AND status IN ('email_sent', 'scheduled')
RETURNING order_id"""

# The whole stall job's database work in one statement: flag, two history rows per order, and
# each rep's list of newly stalled orders (what their email lists).
FLAG_FLOOR_SQL = f"""
WITH flagged AS ({FLAG_SQL}),
history AS (
  INSERT INTO provisioning_event (order_id, kind, at, note, data)
  SELECT order_id, kind, %(now)s, '', '{{}}'::jsonb FROM flagged, (VALUES ('stalled'), ('rep_notified')) k(kind)
  RETURNING 1)
SELECT u.email, array_agg(o.number ORDER BY o.requested_start_date, o.number), (SELECT count(*) FROM history)
FROM flagged f JOIN orders_order o ON o.id = f.order_id JOIN orgs_user u ON u.id = o.account_rep_id
GROUP BY u.email"""


class State:
    """Snapshot of the rows a job will touch, and high-water marks of the tables it appends to."""

    def __init__(self, name, where, cols, params):
        from django.db import connection

        self.name, self.cols = f"bench_snap_{name}", cols
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {self.name}")
            cur.execute(f"CREATE UNLOGGED TABLE {self.name} AS SELECT order_id, {', '.join(cols)} "
                        f"FROM provisioning_provisioning WHERE {where}", params)
            cur.execute(f"SELECT count(*) FROM {self.name}")
            self.rows = cur.fetchone()[0]
            self.marks = {}
            for table in ADDED:
                cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
                self.marks[table] = cur.fetchone()[0]

    def restore(self):
        from django.db import connection

        sets = ", ".join(f"{c} = s.{c}" for c in self.cols)
        with connection.cursor() as cur:
            cur.execute(f"UPDATE provisioning_provisioning p SET {sets} FROM {self.name} s "
                        "WHERE p.order_id = s.order_id")
            for table, mark in self.marks.items():
                cur.execute(f"DELETE FROM {table} WHERE id > %s", [mark])
            # What autovacuum would do between two beat runs: the next run starts clean.
            cur.execute("VACUUM provisioning_provisioning")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.restore()  # also after a failure: the next run finds the same million orders
        self.drop()

    def drop(self):
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {self.name}")


def keep_due_only(state, n, now):
    """Leave only the first n of the snapshot's due orders due (the others wait a year); the
    state's restore() puts them back."""
    import datetime

    raw(f"""UPDATE provisioning_provisioning SET email_next_attempt_at = %s
            WHERE order_id IN (SELECT order_id FROM {state.name} ORDER BY order_id OFFSET %s)""",
        [now + datetime.timedelta(days=365), n])


def raw(sql, params):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def bench_deployment(results, jobs):
    from django.utils import timezone

    now = timezone.now()
    with State("email", "email_sent_at IS NULL AND email_next_attempt_at <= %s", EMAIL_COLS, [now]) as state:
        return _bench_deployment(results, jobs, state, now)


def _bench_deployment(results, jobs, state, now):
    import datetime

    from django.core import mail
    from django.utils import timezone

    from provisioning import lifecycle

    batch = jobs.BATCH_SIZE
    results.row("orders due for the deployment email", f"{state.rows:,}")

    def job_claim():
        n = 0
        while True:
            ids = lifecycle.claim_due_emails(now, batch)
            n += len(ids)
            if len(ids) < batch:
                return n

    def raw_claim(limit=batch):
        n = 0
        lease = timezone.now() + datetime.timedelta(minutes=15)
        while True:
            ids = raw(CLAIM_SQL, {"lease": lease, "now": now, "limit": limit})
            n += len(ids)
            if len(ids) < limit:
                return n

    assert job_claim() == state.rows, "the job's claim did not claim every due order"
    state.restore()
    times = common.interleaved({"job": job_claim, "raw": raw_claim,
                                "raw_one_statement": lambda: raw_claim(limit=state.rows + 1)},
                               repeat=ROUNDS, setup=state.restore)
    state.restore()
    results.row(f"claim {state.rows:,} due orders, job (batches of {batch})",
                common.ms(times["job"]["median"]), f"median of {ROUNDS}")
    results.row(f"claim, hand-written UPDATE … RETURNING (batches of {batch})",
                common.ms(times["raw"]["median"]))
    results.row("claim, hand-written, one statement for all", common.ms(times["raw_one_statement"]["median"]))
    results.ratio("claim ratio job / hand-written SQL (same batches)", times["job"]["median"],
                  times["raw"]["median"], target=1.5)

    # The whole job over the locmem backend, and the set-based floor of its database work.
    def whole_job(batch_size):
        mail.outbox = []
        with common.count_queries() as queries:
            t0 = time.perf_counter()
            run = jobs.send_due_deployment_emails(now=now, batch_size=batch_size)
            elapsed = time.perf_counter() - t0
        sent = len(run.sent)
        mail.outbox = []
        return elapsed, sent, run.batches, queries

    elapsed, sent, batches, queries = whole_job(batch)
    claim_s = sum(s for sql, s in queries if "email_next_attempt_at = CASE" in sql)
    results.row(f"whole job: sent {sent:,} emails (locmem backend)", f"{elapsed:.1f} s",
                f"{sent / elapsed:,.0f} emails/s")
    results.row("whole job: queries", f"{len(queries):,} for {batches} batches",
                f"{len(queries) / max(batches, 1):.1f} per batch")
    results.row("whole job: time in SQL", f"{sum(s for _, s in queries):.1f} s",
                f"claim statements {claim_s:.2f} s")
    # Idle: nothing due any more (the run just sent everything).
    for _ in range(2):
        with common.count_queries() as idle_queries:
            t0 = time.perf_counter()
            jobs.send_due_deployment_emails(now=now)
            idle = time.perf_counter() - t0
    results.row("idle run (nothing due): time, queries", f"{common.ms(idle)}, {len(idle_queries)}")
    plan = common.explain(
        "SELECT order_id FROM provisioning_provisioning WHERE email_sent_at IS NULL "
        "AND email_next_attempt_at <= %s ORDER BY email_next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED",
        [now, batch])
    results.block("EXPLAIN of the idle run's claim (nothing due)", plan)
    results.row("idle claim uses the partial index prov_email_due_idx",
                "yes" if "prov_email_due_idx" in plan and "Seq Scan" not in plan else "NO")
    state.restore()

    # Same orders, four times bigger batches: a quarter of the queries (on a 2,000-order subset,
    # to keep `make bench` short).
    subset = min(2000, state.rows)
    counts = {}
    for size in (batch, batch * 4):
        keep_due_only(state, subset, now)
        _, sent_n, batches_n, queries_n = whole_job(size)
        state.restore()
        counts[size] = (len(queries_n), batches_n, sent_n)
    results.row(f"queries for the same {subset:,} orders, batches of {batch} vs {batch * 4}",
                f"{counts[batch][0]:,} ({counts[batch][1]} batches) vs "
                f"{counts[batch * 4][0]:,} ({counts[batch * 4][1]} batches)",
                "queries follow batches, not orders")

    def floor():
        lease = timezone.now() + datetime.timedelta(minutes=15)
        n = 0
        while True:
            ids = [r[0] for r in raw(CLAIM_SQL, {"lease": lease, "now": now, "limit": batch})]
            if ids:
                raw(SEND_FLOOR_SQL, {"ids": ids, "now": timezone.now()})
            n += len(ids)
            if len(ids) < batch:
                return n

    floor_t, floor_n = common.timeit(floor, repeat=1)
    state.restore()
    results.row(f"hand-written SQL floor of the job's database work ({floor_n:,} orders, "
                f"batches of {batch})", f"{floor_t['median']:.2f} s")
    results.ratio("whole job / SQL floor (informative: the job also renders and sends 2 parts "
                  "per email)", elapsed, floor_t["median"])
    return elapsed


def bench_stall(results, jobs):
    from django.utils import timezone

    now = timezone.now()
    where = ("stalled_at IS NULL AND set_up_at IS NULL AND stall_due_at <= %s "
             "AND email_sent_at IS NOT NULL AND status IN ('email_sent', 'scheduled')")
    with State("stall", where, STALL_COLS, [now]) as state:
        return _bench_stall(results, jobs, state, now)


def _bench_stall(results, jobs, state, now):
    results.row("orders stalling (not flagged yet)", f"{state.rows:,}")

    stats = {}

    def job():
        with common.count_queries() as queries:
            run = jobs.flag_stalled_provisioning(now=now)
        stats.update(flagged=len(run.flagged), reps=run.reps_emailed, queries=len(queries))
        stats.setdefault("flag_s", []).append(sum(s for sql, s in queries if "SET stalled_at" in sql))

    def floor():
        raw(FLAG_FLOOR_SQL, {"now": now})

    def flag_only():
        raw(FLAG_SQL, {"now": now})

    times = common.interleaved({"job": job, "floor": floor, "flag_only": flag_only},
                               repeat=ROUNDS, setup=state.restore)
    results.row(f"whole job: flagged {stats['flagged']:,}, {stats['reps']} rep emails",
                common.ms(times["job"]["median"]), f"{stats['queries']} queries")
    results.row("hand-written: flag + history + per-rep lists in one statement",
                common.ms(times["floor"]["median"]))
    results.ratio("whole stall job / hand-written SQL (informative: the job also renders the rep "
                  "emails and builds ORM objects)", times["job"]["median"], times["floor"]["median"])
    flag_s = statistics.median(stats["flag_s"])
    results.row("the job's flag UPDATE (timed inside the job)", common.ms(flag_s), f"median of {ROUNDS}")
    results.row("hand-written flag UPDATE … RETURNING alone", common.ms(times["flag_only"]["median"]))
    results.ratio("flag part ratio job / hand-written SQL", flag_s,
                  times["flag_only"]["median"], target=1.5)

    state.restore()
    job()  # flags everything: the next run is idle
    with common.count_queries() as idle_queries:
        t0 = time.perf_counter()
        jobs.flag_stalled_provisioning(now=now)
        idle = time.perf_counter() - t0
    results.row("idle run right after flagging (dead index entries not vacuumed yet): time, queries",
                f"{common.ms(idle)}, {len(idle_queries)}")
    plan = common.explain(FLAG_SQL.replace("%(now)s", "%s"), [now] * 4)
    results.block("EXPLAIN ANALYZE of the idle flag UPDATE right after flagging", plan)
    raw("VACUUM provisioning_provisioning", None)
    t0 = time.perf_counter()
    jobs.flag_stalled_provisioning(now=now)
    idle = time.perf_counter() - t0
    results.row("idle run once autovacuum has passed: time", common.ms(idle))
    plan = common.explain(FLAG_SQL.replace("%(now)s", "%s"), [now] * 4)
    results.block("EXPLAIN ANALYZE of the idle flag UPDATE once vacuumed", plan)
    results.row("idle flag uses the partial index prov_stall_due_idx",
                "yes" if "prov_stall_due_idx" in plan and "Seq Scan" not in plan else "NO")
    return times


def main():
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"  # rep emails delivered in-process (locmem)
    common.start()
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    results = common.Results("jobs", "Beat jobs on a million orders")
    try:
        from provisioning import jobs, lifecycle

        lifecycle.claim_due_emails  # noqa: B018 — the job has landed
    except (ImportError, AttributeError):
        results.note("provisioning.jobs has not landed: nothing to measure")
        results.save()
        return
    bench_deployment(results, jobs)
    bench_stall(results, jobs)
    results.save()


if __name__ == "__main__":
    main()
