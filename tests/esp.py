"""The email provider in tests: django-anymail's test backend (messages land in mail.outbox,
with `anymail_status`) giving message ids in Mailgun's form, and Mailgun's tracking webhook as
Mailgun posts it: payloads shaped like Mailgun's documented events (the same shapes anymail's
own test-suite feeds its Mailgun view), signed as Mailgun signs them (HMAC-SHA256 of timestamp
and token under the webhook signing key), checked by anymail's real view."""
import hashlib
import hmac
import json
import secrets
import time

from anymail.backends.test import EmailBackend as AnymailTestBackend

SIGNING_KEY = "key-test-mailgun-webhook-signing"  # tests/conftest.py configures it
BACKEND = "tests.esp.EmailBackend"
WEBHOOK = "/webhooks/mailgun/tracking/"
SENDER_DOMAIN = "mg.onboarding.example"


class EmailBackend(AnymailTestBackend):
    """anymail's test backend, whose message ids are unique and look like Mailgun's
    ("<20261210090001.1.8F3A…@mg.onboarding.example>") rather than positions in mail.outbox."""

    def get_esp_message_id(self, message):
        return f"<{time.strftime('%Y%m%d%H%M%S')}.1.{secrets.token_hex(8).upper()}@{SENDER_DOMAIN}>"


def signature(timestamp, token, key=SIGNING_KEY):
    return hmac.new(key.encode("ascii"), f"{timestamp}{token}".encode("ascii"),
                    hashlib.sha256).hexdigest()


def signed(payload, key=SIGNING_KEY, token=None):
    """Mailgun's signature block added to a new-style (JSON) event."""
    stamp = str(int(payload["event-data"].get("timestamp", time.time())))
    token = token or secrets.token_hex(25)  # Mailgun's tokens: 50 characters
    payload["signature"] = {"timestamp": stamp, "token": token,
                            "signature": signature(stamp, token, key)}
    return payload


def _headers(message_id, recipient):
    return {"to": recipient, "message-id": message_id.strip("<>"),
            "from": f"Webex onboarding <no-reply@{SENDER_DOMAIN}>", "subject": "Webex order"}


def delivered(message_id, recipient, at=None):
    return {"event-data": {
        "event": "delivered", "timestamp": at or time.time(), "id": secrets.token_urlsafe(16),
        "recipient": recipient, "recipient-domain": recipient.partition("@")[2], "tags": [],
        "user-variables": {}, "log-level": "info",
        "envelope": {"sender": f"no-reply@{SENDER_DOMAIN}", "transport": "smtp",
                     "targets": recipient},
        "message": {"headers": _headers(message_id, recipient), "attachments": [], "size": 4211},
        "delivery-status": {"tls": True, "mx-host": "mx.partner.example", "attempt-no": 1,
                            "description": "", "code": 250, "message": "OK",
                            "certificate-verified": True}}}


BOUNCE_TEXT = ("5.1.1 The email account that you tried to reach does not exist. Please try\n"
               "5.1.1 double-checking the recipient's email address for typos")


def bounced(message_id, recipient, at=None):
    """Mailgun's "failed" event, severity permanent: a hard bounce."""
    return {"event-data": {
        "event": "failed", "severity": "permanent", "reason": "bounce", "timestamp": at or time.time(),
        "recipient": recipient, "log-level": "error",
        "message": {"headers": _headers(message_id, recipient)},
        "delivery-status": {"tls": True, "mx-host": "mx.partner.example", "attempt-no": 1,
                            "description": "", "code": 550, "message": BOUNCE_TEXT,
                            "certificate-verified": True}}}


def deferred(message_id, recipient, at=None):
    """Mailgun's "failed" event, severity temporary: it tries again (anymail: deferred)."""
    return {"event-data": {
        "event": "failed", "severity": "temporary", "reason": "generic", "timestamp": at or time.time(),
        "recipient": recipient, "log-level": "warn",
        "message": {"headers": _headers(message_id, recipient)},
        "delivery-status": {"attempt-no": 1, "description": "No MX for partner.example",
                            "retry-seconds": 1800, "code": 498,
                            "message": "No MX for partner.example"}}}


def rejected(message_id, recipient, at=None):
    """Mailgun refused to send (no recipient field in this event: anymail reads the To header)."""
    return {"event-data": {
        "event": "rejected", "timestamp": at or time.time(), "log-level": "warn",
        "reject": {"reason": "Not delivering to previously bounced address", "description": ""},
        "message": {"headers": {**_headers(message_id, recipient),
                                "to": f"Deployment contact <{recipient}>"}}}}


def complained(message_id, recipient, at=None):
    return {"event-data": {
        "event": "complained", "id": secrets.token_urlsafe(16), "timestamp": at or time.time(),
        "log-level": "warn", "recipient": recipient,
        "message": {"headers": _headers(message_id, recipient)}}}


def dropped_legacy(message_id, recipient, at=None, key=SIGNING_KEY):
    """Mailgun's legacy (form-encoded) "dropped" webhook, signature fields among the others."""
    stamp, token = str(int(at or time.time())), secrets.token_hex(25)
    return {"event": "dropped", "code": "605", "reason": "hardfail",
            "description": "Not delivering to previously bounced address",
            "recipient": recipient, "Message-Id": message_id, "domain": SENDER_DOMAIN,
            "message-headers": json.dumps([["Message-Id", message_id], ["To", recipient]]),
            "timestamp": stamp, "token": token, "signature": signature(stamp, token, key)}


def post(client, payload, **extra):
    """POST a Mailgun event to our webhook as Mailgun does (JSON; the legacy kind as a form)."""
    if "event-data" in payload:
        return client.post(WEBHOOK, json.dumps(payload), content_type="application/json", **extra)
    return client.post(WEBHOOK, payload, **extra)
