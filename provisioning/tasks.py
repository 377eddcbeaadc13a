"""Thin Celery tasks: ids in, a service call out. Retry policies live here.
The jobs themselves are in provisioning/services.py (and provisioning/jobs.py)."""
from celery import shared_task


@shared_task
def send_due_deployment_emails():
    return 0  # shell until the deployment-email issue lands


@shared_task
def flag_stalled_provisioning():
    return 0  # shell until the deployment-email issue lands


@shared_task
def send_pending_emails():
    return 0  # shell until the deployment-email issue lands


@shared_task
def close_expired_setup_windows():
    return 0  # shell until the deployment-email issue lands


@shared_task(acks_late=True)
def deliver_email(email_id):
    from provisioning import outbox

    return outbox.deliver(email_id)
