"""Email throughput: emails per second per Celery worker to a local SMTP sink, 1 → 2 workers.

    .venv/bin/python bench/bench_email.py

Real `celery worker` processes (solo pool: one process, one email at a time each) on the bench
Redis, sending over SMTP to a sink on loopback (bench/smtp_sink.py) that counts messages. Two
workloads, each with 1 then 2 workers:

- outbox: N pending OutboundEmail rows, one `deliver_email` task each (what every state change's
  email goes through: lock the row, connect, send, mark sent);
- deployment: 4,000 of the million orders' due deployment emails, one `send_due_deployment_emails` task per
  worker; the workers claim disjoint batches (FOR UPDATE SKIP LOCKED) until none is left.

Rates are counted at the sink, from the first to the last message received, so worker start-up
is not in them. Every email must arrive exactly once (checked).
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.smtp_sink import SmtpSink  # noqa: E402

OUTBOX_EMAILS = 1000
DEPLOYMENT_EMAILS = 4000  # of the 10,000 due: keeps `make bench` short
FLOOR_EMAILS = 1000
FLOOR_ROUNDS = 5  # the machine's speed moves within a minute: a median of more pairs
TIMEOUT = 240  # seconds per run at most


def start_workers(n, sink, log_dir):
    env = dict(os.environ, EMAIL_URL=f"smtp://{sink.host}:{sink.port}", LOG_LEVEL="WARNING",
               CELERY_TASK_ALWAYS_EAGER="false", DJANGO_SETTINGS_MODULE="config.settings")
    procs = []
    for i in range(n):
        log = open(log_dir / f"worker{i}.log", "w")
        procs.append(subprocess.Popen(
            [str(Path(common.PYTHON).parent / "celery"), "-A", "config", "worker", "--pool", "solo",
             "-n", f"bench{i}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "WARNING"], cwd=common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    from config.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5) or []
        if len(replies) >= n:
            return procs
        if any(p.poll() is not None for p in procs):
            break
    stop_workers(procs)
    raise RuntimeError(f"celery workers did not start; see {log_dir}")


def stop_workers(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_for(sink, expected):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and sink.count < expected:
        time.sleep(0.05)
    time.sleep(0.5)  # a duplicate would show up now
    return sink.count


PY_SPY = Path(common.PYTHON).parent / "py-spy"


def start_py_spy(pid, out, seconds=6):
    """Sample a worker's stacks while it sends (py-spy, when installed), or None."""
    if not PY_SPY.exists():
        return None
    return subprocess.Popen([str(PY_SPY), "record", "--pid", str(pid), "--duration", str(seconds),
                             "--rate", "250", "--format", "raw", "--output", str(out),
                             "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize_py_spy(path, top=25):
    """Inclusive share of the samples per function, from py-spy's collapsed stacks."""
    totals, samples = {}, 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples += int(count)
        seen = set()
        for frame in stack.split(";"):
            name = frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0].split("/")[-1]
            name = name.rstrip(")") + ")"
            if name not in seen:
                seen.add(name)
                totals[name] = totals.get(name, 0) + int(count)
    # The worker's own loop (every frame above the task) says nothing: start at the task.
    task = totals.get("deliver_email (tasks.py)", samples)
    ranked = sorted(((k, v) for k, v in totals.items() if v <= task),
                    key=lambda kv: -kv[1])[:top]
    return samples, "\n".join(f"{100 * n / samples:5.1f} %  {name}" for name, n in ranked)


def purge_queue():
    from config.celery import app

    app.control.purge()


def outbox_run(n_workers, sink, log_dir, results=None):
    from provisioning.models import OutboundEmail
    from provisioning.tasks import deliver_email
    from django.utils import timezone

    body = ("Hello,\n\nYour order CCW-88213407 starts on 1 December 2026.\n" * 20)
    html = "<p>" + body.replace("\n", "<br>") + "</p>"
    emails = OutboundEmail.objects.bulk_create([
        OutboundEmail(kind=OutboundEmail.Kind.DEPLOYED, to=f"bench{i}@partner.example",
                      subject=f"Bench email {i}", body_text=body, body_html=html,
                      next_attempt_at=timezone.now()) for i in range(OUTBOX_EMAILS)])
    procs = start_workers(n_workers, sink, log_dir)
    try:
        sink.reset()
        t0 = time.perf_counter()
        for email in emails:
            deliver_email.apply_async((email.pk,))
        first = time.perf_counter()
        spy_out = log_dir / "py-spy-outbox-worker.txt"
        spy = start_py_spy(procs[0].pid, spy_out) if n_workers == 1 else None
        received = wait_for(sink, len(emails))
        if spy is not None and spy.wait(30) == 0 and spy_out.exists() and results is not None:
            samples, text = summarize_py_spy(spy_out)
            results.block(f"py-spy, one worker sending outbox emails: share of {samples:,} samples "
                          "per function (inclusive; the worker loop above the task left out)", text)
        first_at = sink.first_at or t0
        rate = (received - 1) / (sink.last_at - first_at) if received > 1 else 0.0
        return {"received": received, "expected": len(emails), "rate": rate,
                "enqueue_s": first - t0, "sent_rows": OutboundEmail.objects.filter(
                    pk__in=[e.pk for e in emails], sent_at__isnull=False).count()}
    finally:
        stop_workers(procs)
        OutboundEmail.objects.filter(pk__in=[e.pk for e in emails]).delete()


def deployment_run(n_workers, sink, log_dir, results=None):
    from django.utils import timezone

    from bench.bench_jobs import EMAIL_COLS, State, keep_due_only
    from provisioning.tasks import send_due_deployment_emails

    now = timezone.now()
    with State("email_workers", "email_sent_at IS NULL AND email_next_attempt_at <= %s",
               EMAIL_COLS, [now]) as state:
        due = min(DEPLOYMENT_EMAILS, state.rows)
        keep_due_only(state, due, now)
        procs = start_workers(n_workers, sink, log_dir)
        try:
            sink.reset()
            for _ in range(n_workers):
                send_due_deployment_emails.apply_async()
            received = wait_for(sink, due)
            rate = (received - 1) / (sink.last_at - sink.first_at) if received > 1 else 0.0
            return {"received": received, "expected": due, "rate": rate}
        finally:
            stop_workers(procs)


def to_the_sink(sink):
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


def prebuilt_messages(n, now):
    """n two-part messages as the job sends them (one order's deployment email, its link in),
    each to its own address: what Django's SMTP backend alone is given in the floor."""
    from django.core.mail import EmailMultiAlternatives

    from provisioning import deployment_email, outbox
    from provisioning.models import Provisioning

    provisioning = (Provisioning.objects.select_related("order").filter(
        email_sent_at__isnull=True, email_next_attempt_at__lte=now).first())
    email = deployment_email.build(provisioning)
    subject, text, html = outbox.with_secrets(email)
    messages = []
    for i in range(n):
        message = EmailMultiAlternatives(subject, text, None, [f"floor{i}@partner.example"])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    return messages


def job_against_the_smtp_floor(sink, results):
    """In one process, rounds interleaved: the deployment job sending FLOOR_EMAILS due orders'
    emails to the sink, against Django's SMTP backend sending as many prebuilt two-part messages
    of the same size over one connection (the floor: no database, no templates)."""
    import statistics

    from django.core.mail import get_connection
    from django.utils import timezone

    from bench.bench_jobs import EMAIL_COLS, State, keep_due_only
    from provisioning import jobs

    to_the_sink(sink)
    now = timezone.now()
    job_rates, floor_rates, ratios, exact = [], [], [], True
    with State("email_floor", "email_sent_at IS NULL AND email_next_attempt_at <= %s",
               EMAIL_COLS, [now]) as state:
        n = min(FLOOR_EMAILS, state.rows)
        messages = prebuilt_messages(n, now)

        def floor():
            sink.reset()
            t0 = time.perf_counter()
            get_connection().send_messages(messages)
            return n / (time.perf_counter() - t0), sink.count == n

        def job():
            state.restore()
            keep_due_only(state, n, now)
            sink.reset()
            t0 = time.perf_counter()
            run = jobs.send_due_deployment_emails(now=now)
            elapsed = time.perf_counter() - t0
            return len(run.sent) / elapsed, len(run.sent) == n and sink.count == n

        for i in range(FLOOR_ROUNDS):
            order = (floor, job) if i % 2 == 0 else (job, floor)
            rates = {}
            for fn in order:
                rates[fn], ok = fn()
                exact = exact and ok
            floor_rates.append(rates[floor])
            job_rates.append(rates[job])
            ratios.append(rates[job] / rates[floor])
    results.row(f"Django's SMTP backend alone, {n:,} prebuilt two-part messages, one connection "
                "(the floor)", f"{statistics.median(floor_rates):,.0f} emails/s",
                f"median of {FLOOR_ROUNDS}, in this process")
    results.row(f"deployment job, {n:,} due orders, to the same sink",
                f"{statistics.median(job_rates):,.0f} emails/s",
                "each email once" if exact else "EMAILS MISSING OR DOUBLED")
    results.ratio("deployment job / Django's SMTP floor (median of the paired rounds)",
                  statistics.median(ratios), 1, target=0.5, higher_is_better=True)


def main():
    common.start()
    results = common.Results("email", "Email throughput: Celery workers to a local SMTP sink")
    log_dir = common.OUT_DIR / "workers"
    log_dir.mkdir(parents=True, exist_ok=True)
    sink = SmtpSink().start()
    purge_queue()
    job_against_the_smtp_floor(sink, results)
    if "--floor-only" in sys.argv:
        sink.stop()
        results.save()
        return
    try:
        for workload, run in (("outbox deliver_email", outbox_run),
                              ("deployment job", deployment_run)):
            rates = {}
            for n in (1, 2):
                try:
                    r = run(n, sink, log_dir, results)
                except ImportError as exc:
                    results.note(f"{workload}: not measured ({exc})")
                    break
                rates[n] = r["rate"]
                exact = "each once" if r["received"] == r["expected"] else \
                    f"RECEIVED {r['received']} OF {r['expected']}"
                results.row(f"{workload}, {n} worker{'s' if n > 1 else ''}",
                            f"{r['rate']:,.0f} emails/s", f"{r['received']:,} emails, {exact}")
            if len(rates) == 2:
                results.row(f"{workload}: per worker with 2 workers", f"{rates[2] / 2:,.0f} emails/s")
                results.ratio(f"{workload}: scaling 1 → 2 workers", rates[2], rates[1])
    finally:
        sink.stop()
    results.note(f"{os.cpu_count()} CPUs shared by the workers, PostgreSQL, Redis and the sink.")
    results.save()


if __name__ == "__main__":
    main()
