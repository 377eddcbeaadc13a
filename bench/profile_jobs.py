"""Where the beat jobs spend their time beyond the SQL (pyinstrument), on the million orders.

    .venv/bin/python bench/profile_jobs.py [--orders 2000]

Profiles send_due_deployment_emails on the first N due orders (locmem backend) and the whole
flag_stalled_provisioning, then puts every touched row back (bench_jobs.State). Writes the
profiles to var/bench/profile-*.txt and prints their top.
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402


def show(results, name, caption, profiler, lines=40):
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    common.OUT_DIR.mkdir(parents=True, exist_ok=True)
    (common.OUT_DIR / f"profile-{name}.txt").write_text(text)
    results.block(caption, "\n".join([line for line in text.splitlines() if line.strip()][:lines]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    args = parser.parse_args()
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    common.start()
    from django.conf import settings
    from django.core import mail
    from django.utils import timezone
    results = common.Results("profile", "Where the jobs' time goes beyond SQL (pyinstrument)")
    try:
        from pyinstrument import Profiler
    except ImportError:
        results.note("pyinstrument is not installed (.venv/bin/pip install pyinstrument)")
        results.save()
        return

    from bench.bench_jobs import EMAIL_COLS, STALL_COLS, State
    from provisioning import jobs

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    now = timezone.now()
    with State("profile_email", "email_sent_at IS NULL AND email_next_attempt_at <= %s",
               EMAIL_COLS, [now]) as state:
        # Only the first N due orders stay due for this run.
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("""UPDATE provisioning_provisioning SET email_next_attempt_at = %s
                           WHERE order_id IN (SELECT order_id FROM bench_snap_profile_email
                                              ORDER BY order_id OFFSET %s)""",
                        [now + timezone.timedelta(days=365), args.orders])
        mail.outbox = []
        profiler = Profiler(interval=0.001)
        profiler.start()
        run = jobs.send_due_deployment_emails(now=now)
        profiler.stop()
        mail.outbox = []
        show(results, "deployment-job", f"send_due_deployment_emails, {len(run.sent):,} emails "
             "(locmem backend)", profiler)
    with State("profile_stall", "stalled_at IS NULL AND set_up_at IS NULL AND stall_due_at <= %s "
               "AND email_sent_at IS NOT NULL AND status IN ('email_sent', 'scheduled')", STALL_COLS, [now]):
        profiler = Profiler(interval=0.001)
        profiler.start()
        run = jobs.flag_stalled_provisioning(now=now)
        profiler.stop()
        show(results, "stall-job", f"flag_stalled_provisioning, {len(run.flagged):,} orders, "
             f"{run.reps_emailed} rep emails", profiler)
    results.save()


if __name__ == "__main__":
    main()
