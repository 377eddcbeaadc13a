"""Rate limits, every one keyed through the client-address helper and rated in one place
(settings.RATE_LIMITS). django-ratelimit counts; this module only names the buckets.

Use in a view, for instance the wizard's email steps (a verification code sent to an address):

    from config.ratelimits import is_limited

    if is_limited(request, "wizard-email-address") or \\
            is_limited(request, "wizard-email-recipient", email):
        ...  # answer exactly as if the code had been sent, and send nothing

- ``group`` names a rate in settings.RATE_LIMITS ("10/h", "20/10m": django-ratelimit's form);
  add a new one there rather than passing a rate, so every rate is in one place.
- ``key`` is what is counted: omitted, the client's address (config.client.client_ip, which
  honours the trusted-proxy setting); else any string, e.g. an email (compared ignoring case and
  spaces) or an API key's id. Only a hash of it reaches the cache.
- Each call counts one attempt (``increment=False`` only looks). It answers True once the
  group's rate is exceeded within its window.
- The counters live in the cache; when Redis is down every call answers False (fail open): a
  limit never takes the site down with it.

``check()`` also tells how long until the window ends, for a Retry-After header.
"""
from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import get_usage

from config.client import client_ip


@dataclass(frozen=True)
class Limit:
    limited: bool
    retry_after: int  # seconds until the current window ends (0 when unknown)


def _normalise(key):
    return " ".join(str(key).split()).casefold()


def check(request, group, key=None, *, increment=True):
    """Count one attempt of `group` for `key` (default: the client's address); see the module."""
    value = client_ip(request) if key is None else _normalise(key)
    usage = get_usage(request, group=group, key=lambda _group, _request: value,
                      rate=settings.RATE_LIMITS[group], increment=increment)
    if usage is None:  # RATELIMIT_ENABLE off
        return Limit(False, 0)
    return Limit(usage["should_limit"], max(usage["time_left"], 0))


def is_limited(request, group, key=None, *, increment=True):
    """True when `request` is over `group`'s rate for `key`; see the module's docstring."""
    return check(request, group, key, increment=increment).limited
