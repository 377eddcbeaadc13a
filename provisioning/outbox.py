"""Every email goes through the outbox: a row written in the caller's transaction, delivered by
a task enqueued on commit, or by the send_pending_emails sweep if the broker was unreachable.
Nothing is lost when Redis or SMTP is down; nothing is sent for a rolled-back transaction.
The deployment-email job writes its batches here too, leased to itself, and sends each batch
over one connection (`send_leased`); what follows a kind's sending (the order's deployment email
recorded sent, its link issued) is that kind's owner's, registered with `after_send`.

An email that carries a secret (a setup link, an invitation, a code) is stored with a
placeholder where the secret goes; the secret is derived when the email is sent
(provisioning/tokens.py), so the outbox never holds a live token."""
import datetime
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Value, When
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import mark_safe

from config.db import retry_on_disconnect, returning_rows, skip_locked, sql_datetime
from provisioning.models import BouncedAddress, OutboundEmail

log = logging.getLogger(__name__)


def render_email(template_prefix, context, language):
    """(subject, text, html) from emails/<prefix>-subject.txt, -body.txt, -body.html."""
    with translation.override(language):
        subject = " ".join(render_to_string(f"emails/{template_prefix}-subject.txt", context).split())
        text = render_to_string(f"emails/{template_prefix}-body.txt", context)
        html = render_to_string(f"emails/{template_prefix}-body.html", context)
    return subject, text, html


# A frame: an email's three parts rendered once per process and language with a marker where each
# per-email value goes (render_framed). Private-use characters: in no template, and no whitespace
# (the subject's whitespace is collapsed).
MARKER = "\ue000{}\ue001"
MARKERS = re.compile("\ue000(\\w+)\ue001")
_frames = {}


def render_framed(template_prefix, values, language, html_safe=()):
    """What render_email gives for templates whose context is only `values` (strings): from a
    frame of the three templates rendered once per process and language, the values put in per
    email, escaped in the HTML part (except those in `html_safe`, escaped by the caller). The
    translated sentences, the layout and the template engine's work are paid once, not per
    email: the deployment job sends thousands."""
    key = (template_prefix, language, frozenset(values))
    frame = _frames.get(key)
    if frame is None:
        frame = _frames[key] = render_email(
            template_prefix, {name: mark_safe(MARKER.format(name)) for name in values}, language)
    subject, text, html = frame
    in_html = {name: value if name in html_safe else escape(value) for name, value in values.items()}
    return (" ".join(MARKERS.sub(lambda m: values[m[1]], subject).split()),
            MARKERS.sub(lambda m: values[m[1]], text),
            MARKERS.sub(lambda m: in_html[m[1]], html))


SECRET_RESOLVERS = {}  # name → function(ref) returning the secret, registered by its owner


def register_secret(name):
    """Decorator: `function(ref)` gives the secret an email asked for with {"x": (name, ref)}."""
    def register(function):
        SECRET_RESOLVERS[name] = function
        return function
    return register


def placeholder(name):
    return f"[[{name}: added when sent]]"


AFTER_SEND = {}  # kind → function(sent, failed, now), registered by the kind's owner


def after_send(kind):
    """Decorator: `function(sent, failed, now)` runs in the transaction that records emails of
    `kind` sent ([Sent]) or refused ([(email, exception)])."""
    def register(function):
        AFTER_SEND[kind] = function
        return function
    return register


@dataclass(frozen=True)
class Sent:
    email: OutboundEmail
    secrets: dict        # {context name: the value sent}
    message_id: str


def build(kind, to, template_prefix, context, language="en", order=None, secrets=None,
          next_attempt_at=None, framed=False, html_safe=()):
    """An unsaved outbox email (enqueue saves one; the deployment job bulk-creates its batch).
    `framed`: the context is only strings, rendered through render_framed."""
    secrets = {name: [resolver, ref] for name, (resolver, ref) in (secrets or {}).items()}
    context = {**context, **{name: placeholder(name) for name in secrets}}
    subject, text, html = (render_framed(template_prefix, context, language, html_safe) if framed
                           else render_email(template_prefix, context, language))
    return OutboundEmail(kind=kind, to=to, subject=subject, body_text=text, body_html=html,
                         order=order, secrets=secrets,
                         next_attempt_at=next_attempt_at or timezone.now())


def enqueue(kind, to, template_prefix, context, language="en", order=None, secrets=None):
    """Write one email to the outbox and deliver it after commit. Call inside the transaction
    that makes the email true. `secrets` maps a context name to (resolver name, reference):
    the stored email keeps a placeholder there, and the secret is derived at send time."""
    email = build(kind, to, template_prefix, context, language, order, secrets)
    email.save()
    deliver_after_commit(email.pk)
    return email


def deliver_after_commit(email_id):
    transaction.on_commit(lambda: hand_to_worker("provisioning.tasks.deliver_email", (email_id,),
                                                 f"email {email_id}"))


def hand_to_worker(task_name, args, what):
    """Hand work to Celery after commit, by the task's name (tasks.py imports this module, not
    the other way round). If the broker is down the work waits in PostgreSQL for the beat job
    that sweeps it (the outbox sweep, the deployment-email job)."""
    from config.breaker import redis_breaker
    from config.celery import app

    if redis_breaker.is_open():  # failed a moment ago: don't pay a timeout per call
        log.warning("broker down; %s left for the beat job", what)
        return
    try:
        # By the registered task where this process imported it (so CELERY_TASK_ALWAYS_EAGER
        # applies), else by name: the worker knows it either way.
        task = app.tasks.get(task_name)
        if task is not None:
            task.apply_async(args, retry=False)
        else:
            app.send_task(task_name, args, retry=False)
    except Exception as exc:  # broker unreachable: the row stays due for the beat job
        redis_breaker.trip(exc)
        log.warning("broker unreachable; %s left for the beat job", what)


def resolve_secrets(email):
    """{context name: secret} of a stored email, derived now."""
    return {name: SECRET_RESOLVERS[resolver](ref)
            for name, (resolver, ref) in (email.secrets or {}).items()}


def with_secrets(email, values=None):
    """(subject, text, html) of a stored email with its secrets (`values`, or derived now) in."""
    parts = [email.subject, email.body_text, email.body_html]
    for name, value in (resolve_secrets(email) if values is None else values).items():
        parts = [part.replace(placeholder(name), value) for part in parts]
    return parts


def message(to, subject, text, html, connection=None):
    """The two-part email every kind is sent as."""
    built = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to],
                                   connection=connection)
    if html:
        built.attach_alternative(html, "text/html")
    return built


def build_message(email, connection=None, values=None):
    return message(email.to, *with_secrets(email, values), connection=connection)


def _send(email, connection, held, bounce=None):
    """Send one stored email, its secrets derived now, unless its address is `held` (by
    `bounce`: provisioning/delivery.py). Returns (the secrets sent, the sent message)."""
    if held:
        raise HeldAddress(bounce)
    values = resolve_secrets(email)
    built = build_message(email, connection, values)
    built.send()
    return values, built


def deliver(email_id, connection=None):
    """Send one pending outbox email. Marked sent only after the mail server accepted it, with
    the provider's message id (for its delivery webhook, provisioning/delivery.py). An email to
    an address whose last email bounced is not sent: it waits as a failing one, checked again
    at each retry, until a rep clears the address. Returns True when sent (or already sent)."""
    with transaction.atomic():
        email = (OutboundEmail.objects.select_for_update(skip_locked=True)
                 .filter(pk=email_id, sent_at__isnull=True)
                 .annotate(held=Exists(BouncedAddress.objects.filter(email=Lower(OuterRef("to")))))
                 .first())
        if email is None:
            return True  # already sent, or another worker holds it right now
        now = timezone.now()
        try:
            bounce = BouncedAddress.objects.filter(email=email.to.lower()).first() \
                if email.held else None
            values, built = _send(email, connection or get_connection(), email.held, bounce)
        except Exception as exc:
            email.attempts += 1
            email.last_error = error_text(exc)
            email.next_attempt_at = now + backoff(email.attempts)
            email.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            _after_send([], [(email, exc)], now)
            return False
        email.sent_at = now
        email.attempts += 1
        email.message_id = message_id_of(built)
        email.save(update_fields=["sent_at", "attempts", "message_id"])
        _after_send([Sent(email, values, email.message_id)], [], now)
        return True


def send_leased(emails, connection):
    """Send `emails` (saved, leased to the caller: their next attempt is after its lease, so no
    sweep takes them meanwhile) over `connection`, left open for the caller's next batch, then
    record them: the accepted ones sent, the others for a retry by the sweep after `backoff`. No
    row lock is held while the mail server talks, and the record survives a database restart
    (config/db.py): an email the server accepted is not sent again unless that record is lost
    for longer than the retry. Returns ([Sent], [(email, exception)])."""
    if not emails:
        return [], []
    bounces = {b.email: b for b in BouncedAddress.objects.filter(
        email__in={email.to.lower() for email in emails})}
    sent, failed = [], []
    try:
        connection.open()
    except Exception as exc:  # mail server unreachable: the whole batch waits for its backoff
        failed = [(email, exc) for email in emails]
    else:
        reopen = False
        for email in emails:
            try:
                if reopen:  # one session for the rest of the batch, not one per email
                    reopen = False
                    connection.open()
                address = email.to.lower()
                values, built = _send(email, connection, address in bounces, bounces.get(address))
            except Exception as exc:
                about = email.order.number if email.order_id else email.to
                log.warning("%s email for %s failed: %s", email.kind, about, exc,
                            extra={"order": about})  # LOG_FORMAT=json
                failed.append((email, exc))
                close_quietly(connection)
                reopen = True
            else:
                sent.append(Sent(email, values, message_id_of(built)))
    retry_on_disconnect(record, sent, failed)
    return sent, failed


def record(sent, failed):
    """After a batch: the accepted emails sent (with the provider's message ids), the refused
    ones due again after their backoff, then each kind's `after_send`, in one transaction."""
    if not sent and not failed:
        return
    now = timezone.now()
    with transaction.atomic():
        if sent:
            message_ids = {item.email.pk: item.message_id for item in sent if item.message_id}
            # Over SMTP no message has a provider's id: no CASE to build.
            OutboundEmail.objects.filter(pk__in=[item.email.pk for item in sent],
                                         sent_at__isnull=True).update(
                sent_at=now, attempts=F("attempts") + 1,
                **({"message_id": Case(*[When(pk=pk, then=Value(mid))
                                         for pk, mid in message_ids.items()], default=Value(""))}
                   if message_ids else {}))
        if failed:
            OutboundEmail.objects.filter(pk__in=[e.pk for e, _ in failed],
                                         sent_at__isnull=True).update(
                attempts=F("attempts") + 1,
                last_error=Case(*[When(pk=e.pk, then=Value(error_text(exc))) for e, exc in failed]),
                next_attempt_at=Case(*[When(pk=e.pk, then=Value(now + backoff(e.attempts + 1)))
                                       for e, _ in failed]))
        _after_send(sent, failed, now)


def _after_send(sent, failed, now):
    for kind, function in AFTER_SEND.items():
        mine = [item for item in sent if item.email.kind == kind]
        refused = [(email, exc) for email, exc in failed if email.kind == kind]
        if mine or refused:
            function(mine, refused, now)


def withdraw(*email_ids):
    """Unsent emails no longer wanted (replaced by a newer one, or their order set up or closed)
    leave the outbox. One being sent right now (locked by a worker) is left to it: its kind's
    `after_send` sees it is no longer current."""
    free = list(OutboundEmail.objects.select_for_update(skip_locked=True)
                .filter(pk__in=[pk for pk in email_ids if pk is not None], sent_at__isnull=True)
                .values_list("pk", flat=True))
    if free:
        OutboundEmail.objects.filter(pk__in=free).delete()


def message_id_of(message):
    """The provider's id of a sent message (django-anymail's `anymail_status.message_id`); ""
    over SMTP, the console or a file (no provider, no delivery webhook)."""
    message_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
    return str(message_id) if isinstance(message_id, (str, int)) else ""


class HeldAddress(Exception):
    """Not sent: the address's last email bounced or was rejected, and no rep has acted since
    (the rule: provisioning/delivery.py)."""

    def __init__(self, bounce):
        if bounce is None:  # cleared a moment ago: the next attempt sends it
            super().__init__("Not sent: the address had bounced; retried now that it is cleared")
            return
        super().__init__(
            f"Not sent: an email to {bounce.email} {bounce.get_delivery_display().lower()} on "
            f"{timezone.localtime(bounce.bounced_at):%Y-%m-%d %H:%M}"
            f"{f' ({bounce.reason})' if bounce.reason else ''}; it goes once a rep resends to "
            "this address or changes the contact")


def claim_pending(now, limit, lease):
    """One statement: lease up to `limit` emails due (never sent, next attempt passed), skipping
    rows another sweep holds right now. Returns their ids."""
    table = OutboundEmail._meta.db_table
    return [row[0] for row in returning_rows(f"""
        WITH claimed AS MATERIALIZED (
            SELECT id FROM {table} WHERE sent_at IS NULL AND next_attempt_at <= %s
            ORDER BY next_attempt_at LIMIT %s{skip_locked()})
        UPDATE {table} SET next_attempt_at = %s
        WHERE id IN (SELECT id FROM claimed)
        RETURNING id""", [sql_datetime(now), limit, sql_datetime(timezone.now() + lease)])]


def error_text(exc):
    """A mail server's refusal as admin and the dashboard show it."""
    if isinstance(exc, HeldAddress):
        return str(exc)[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


def close_quietly(connection):
    """After a failed send the SMTP session may be broken: drop it, the next send reopens it."""
    try:
        connection.close()
    except Exception:  # closing a dead socket may itself fail
        pass


def backoff(attempts):
    """1, 2, 4, … minutes, capped at one hour (below the broker's visibility timeout)."""
    return datetime.timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))

