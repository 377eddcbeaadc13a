"""Proof that the person in this browser controls an email address, before that address becomes a
member or an administrator of anything (docs/SECURITY.md).

An address is proven for an order's wizard when it is the recipient of the setup link this browser
opened, the signed-in user's own, or when a short-lived, single-use code sent to it was typed in
this browser. The code is derived from a nonce kept in this browser's session (provisioning/tokens.py):
neither the session nor the outbox holds the code itself.
"""
import time

from django.conf import settings
from django.utils import timezone

from config.ratelimits import is_limited
from orgs.models import normalise_email
from provisioning import outbox, tokens
from provisioning.models import OutboundEmail

SESSION_KEY = "email_proofs"  # {order number: {"proven": [emails], "pending": {...}}}
CODE_PURPOSE = "verify-email"


@outbox.register_secret("email_code")
def _code(nonce):
    return tokens.derive_code(CODE_PURPOSE, nonce)


class Outcome:
    PROVEN = "proven"          # nothing to do
    SENT = "sent"              # a code went to the address: ask for it
    WRONG = "wrong"            # the code typed is not the one sent, or it expired
    TOO_MANY = "too_many"      # too many codes asked for, or too many wrong tries: wait
    NEEDED = "needed"          # not proven, and this request may not send a code


class EmailProof:
    """The proofs of one browser for one order's wizard. `may_send` is true only while the step
    that asks for the address is being submitted: a reload, Back or a later step sends nothing."""

    def __init__(self, request, order, link, may_send=False):
        self.request, self.order, self.link, self.may_send = request, order, link, may_send

    @property
    def _state(self):
        return self.request.session.get(SESSION_KEY, {}).get(self.order.number, {})

    def _save(self, state):
        proofs = dict(self.request.session.get(SESSION_KEY, {}))
        proofs[self.order.number] = state
        self.request.session[SESSION_KEY] = proofs

    def is_proven(self, email):
        email = normalise_email(email)
        user = self.request.user
        return (email == normalise_email(self.link.recipient_email)
                or (user.is_authenticated and email == normalise_email(user.email))
                or email in self._state.get("proven", []))

    def has_pending(self):
        pending = self._state.get("pending")
        return bool(pending) and time.time() - pending["sent_at"] <= settings.EMAIL_CODE_TTL

    def pending_for(self, email):
        pending = self._state.get("pending")
        if not pending or pending["email"] != normalise_email(email):
            return None
        if time.time() - pending["sent_at"] > settings.EMAIL_CODE_TTL:
            return None
        return pending

    def prove(self, email, code):
        """Checks `code` for `email`, sending one when needed. Returns an Outcome."""
        email = normalise_email(email)
        if self.is_proven(email):
            return Outcome.PROVEN
        pending = self.pending_for(email)
        if pending is not None and code:
            if pending["tries"] >= settings.EMAIL_CODE_TRIES:
                return Outcome.TOO_MANY
            if tokens.same(tokens.derive_code(CODE_PURPOSE, pending["nonce"]), code.strip()):
                state = dict(self._state)
                state["proven"] = [*state.get("proven", []), email]
                state.pop("pending", None)
                self._save(state)
                return Outcome.PROVEN
            self._save({**self._state, "pending": {**pending, "tries": pending["tries"] + 1}})
            return Outcome.WRONG
        if pending is not None:
            return Outcome.SENT
        if not self.may_send:
            return Outcome.NEEDED
        return self._send(email)

    def _send(self, email):
        # Per client address and per recipient, so that neither a tab nor a crowd can flood a
        # mailbox; both counted on every send.
        by_client = is_limited(self.request, "wizard-email-address")
        by_recipient = is_limited(self.request, "wizard-email-recipient", email)
        if by_client or by_recipient:
            return Outcome.TOO_MANY
        nonce = tokens.new_nonce()
        self._save({**self._state, "pending": {"email": email, "nonce": nonce,
                                               "sent_at": int(time.time()), "tries": 0}})
        outbox.enqueue(OutboundEmail.Kind.VERIFICATION, email, "verification-code",
                       {"order": self.order, "minutes": settings.EMAIL_CODE_TTL // 60,
                        "sent_at": timezone.now()},
                       self.order.language, self.order, secrets={"code": ("email_code", nonce)})
        return Outcome.SENT
