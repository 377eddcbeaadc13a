"""The email provider's tracking webhook: anymail's signed view, mounted at
/webhooks/mailgun/tracking/ (config/urls.py); the events it reads go to provisioning/delivery.py.

Nobody signs in here: the request is believed only once anymail has checked Mailgun's
signature (an HMAC-SHA256 of its timestamp and token under MAILGUN_WEBHOOK_SIGNING_KEY) and,
when ANYMAIL_WEBHOOK_SECRET is set, the basic auth in the URL; a forged or unsigned post is
answered 400 before any event is read, and changes nothing."""
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from provisioning.delivery import NotYetKnown

_mailgun_tracking = MailgunTrackingWebhookView.as_view()


@csrf_exempt
def mailgun_tracking(request):
    """404 when no Mailgun signing key is configured (no provider: nothing may post here; an
    empty key would let anyone sign). 409 for a recent event about a message whose sending is
    not recorded yet: Mailgun posts it again later."""
    if not (getattr(settings, "ANYMAIL", None) or {}).get("MAILGUN_WEBHOOK_SIGNING_KEY"):
        raise Http404
    try:
        return _mailgun_tracking(request)
    except NotYetKnown:
        return HttpResponse("Message not known yet: post it again later.\n", status=409,
                            content_type="text/plain; charset=utf-8")
