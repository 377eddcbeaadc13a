"""Password reset emails are sent by a Celery worker, never inside the request.

The request only validates the address and hands it to a worker, the same work whether or not an
account uses it: neither the answer nor its timing tells (an SMTP exchange made only for known
addresses would). The worker finds the accounts (onboarding.forms.MemberPasswordResetForm) and
makes the reset token as it sends, so no token exists before the email does: the task's message
in the broker carries the address and a language, nothing to open an account with.

While the broker is unreachable the email is sent in the request, as before this module: a reset
that works during an outage is worth more than hiding, meanwhile, what its timing shows.
"""
import logging
from urllib.parse import urlsplit

from celery import shared_task
from django.conf import settings
from django.utils import translation

log = logging.getLogger(__name__)


def enqueue_password_reset(email, language):
    """Have the reset email of `email` (if any account uses it) sent in `language`."""
    from config.breaker import redis_breaker

    if not redis_breaker.is_open():
        try:
            send_password_reset.apply_async((email, language), retry=False)
            return
        except Exception as exc:
            redis_breaker.trip(exc)
    log.warning("broker unreachable; a password reset email is sent from the request")
    send_password_reset(email, language)


@shared_task(acks_late=True)
def send_password_reset(email, language):
    """Send the reset email to each account `email` reaches; returns how many were sent for."""
    from onboarding.forms import MemberPasswordResetForm

    form = MemberPasswordResetForm({"email": email})
    if not form.is_valid():
        return 0
    users = list(form.get_users(form.cleaned_data["email"]))
    if users:
        site = urlsplit(settings.SITE_URL)
        with translation.override(language):
            # Links come from SITE_URL (the email template's {% site_url %}), never a request.
            form.save(domain_override=site.netloc, use_https=site.scheme == "https")
    return len(users)
