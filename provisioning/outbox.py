"""Every email goes through the outbox: a row written in the caller's transaction, delivered by
a task enqueued on commit, or by the send_pending_emails sweep if the broker was unreachable.
Nothing is lost when Redis or SMTP is down; nothing is sent for a rolled-back transaction."""
import datetime
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from provisioning.models import OutboundEmail

log = logging.getLogger(__name__)


def render_email(template_prefix, context, language):
    """(subject, text, html) from emails/<prefix>-subject.txt, -body.txt, -body.html."""
    with translation.override(language):
        subject = " ".join(render_to_string(f"emails/{template_prefix}-subject.txt", context).split())
        text = render_to_string(f"emails/{template_prefix}-body.txt", context)
        html = render_to_string(f"emails/{template_prefix}-body.html", context)
    return subject, text, html


def enqueue(kind, to, template_prefix, context, language="en", order=None):
    """Write one email to the outbox and deliver it after commit. Call inside the transaction
    that makes the email true."""
    subject, text, html = render_email(template_prefix, context, language)
    email = OutboundEmail.objects.create(kind=kind, to=to, subject=subject, body_text=text,
                                         body_html=html, order=order,
                                         next_attempt_at=timezone.now())
    transaction.on_commit(lambda: _dispatch(email.pk))
    return email


def _dispatch(email_id):
    """Hand the email to Celery; if the broker is down the sweep will send it later."""
    from config import broker
    from provisioning.tasks import deliver_email

    if broker.is_down():  # failed a moment ago: don't pay a timeout per email
        log.warning("broker down; email %s left for the outbox sweep", email_id)
        return
    try:
        deliver_email.apply_async((email_id,), retry=False)
    except Exception:  # broker unreachable: the row stays pending for the sweep
        broker.mark_down()
        log.warning("broker unreachable; email %s left for the outbox sweep", email_id)


def build_message(email, connection=None):
    message = EmailMultiAlternatives(email.subject, email.body_text, settings.DEFAULT_FROM_EMAIL,
                                     [email.to], connection=connection)
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


def deliver(email_id, connection=None):
    """Send one pending outbox email. Marked sent only after the mail server accepted it.
    Returns True when sent (or already sent)."""
    with transaction.atomic():
        email = (OutboundEmail.objects.select_for_update(skip_locked=True)
                 .filter(pk=email_id, sent_at__isnull=True).first())
        if email is None:
            return True  # already sent, or another worker holds it right now
        try:
            build_message(email, connection or get_connection()).send()
        except Exception as exc:
            email.attempts += 1
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            email.next_attempt_at = timezone.now() + backoff(email.attempts)
            email.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            return False
        email.sent_at = timezone.now()
        email.attempts += 1
        email.save(update_fields=["sent_at", "attempts"])
        return True


def backoff(attempts):
    """1, 2, 4, … minutes, capped at one hour (below the broker's visibility timeout)."""
    return datetime.timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))

