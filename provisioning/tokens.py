"""The secrets our emails carry (setup links, invitations, verification codes) are derived from
SECRET_KEY and a random nonce that the database keeps, at the moment the email is sent. The
database holds the nonce and the token's SHA-256, never the token: a copy of the database (a
backup, an admin screen, the outbox) opens nothing without the key."""
import base64
import hashlib
import hmac
import secrets

from django.utils.crypto import salted_hmac


def new_nonce():
    return secrets.token_hex(16)


def derive(purpose, nonce):
    """The raw token of `nonce` for `purpose` (a URL-safe string of 43 characters, 256 bits)."""
    digest = salted_hmac(f"onboarding.tokens.{purpose}", nonce, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def derive_code(purpose, nonce, digits=6):
    """A short code of `digits` digits for `nonce`, typed by a person rather than clicked."""
    digest = salted_hmac(f"onboarding.codes.{purpose}", nonce, algorithm="sha256").digest()
    return str(int.from_bytes(digest[:8], "big") % 10 ** digits).zfill(digits)


def hash_token(raw_token):
    return hashlib.sha256(raw_token.encode()).hexdigest()


def same(a, b):
    return hmac.compare_digest(str(a), str(b))
