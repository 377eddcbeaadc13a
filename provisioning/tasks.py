"""Thin Celery tasks: ids in, a service call out. Retry policies live here.
The jobs themselves are in provisioning/jobs.py; `job_run` around each beat job's call counts
its run for /metrics and names it in the logs (provisioning/metrics.py)."""
from celery import shared_task

from provisioning.metrics import job_run


@shared_task
def send_due_deployment_emails():
    from provisioning import jobs

    with job_run("send_due_deployment_emails") as metered:
        run = jobs.send_due_deployment_emails()
        metered.rows = len(run.sent) + len(run.failed) + run.skipped
    return {"sent": len(run.sent), "failed": len(run.failed), "batches": run.batches}


@shared_task
def flag_stalled_provisioning():
    from provisioning import jobs

    with job_run("flag_stalled_provisioning") as metered:
        run = jobs.flag_stalled_provisioning()
        metered.rows = len(run.flagged)
    return {"flagged": len(run.flagged), "reps_emailed": run.reps_emailed}


@shared_task
def send_pending_emails():
    from provisioning import jobs

    with job_run("send_pending_emails") as metered:
        result = jobs.send_pending_emails()
        metered.rows = result["sent"] + result["failed"]
    return result


@shared_task
def send_setup_reminders():
    from provisioning import jobs

    with job_run("send_setup_reminders") as metered:
        metered.rows = len(jobs.send_setup_reminders())
    return metered.rows


@shared_task
def send_window_reminders():
    from provisioning import jobs

    with job_run("send_window_reminders") as metered:
        metered.rows = len(jobs.send_window_reminders())
    return metered.rows


@shared_task
def close_expired_setup_windows():
    from provisioning import jobs

    with job_run("close_expired_setup_windows") as metered:
        metered.rows = len(jobs.close_expired_setup_windows())
    return metered.rows


@shared_task(acks_late=True)
def deliver_email(email_id):
    from provisioning import outbox

    return outbox.deliver(email_id)


@shared_task
def clear_expired_sessions():
    from django.core.management import call_command

    call_command("clearsessions")
