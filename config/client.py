"""The client's address, the one every throttle, lockout and rate limit keys on.

    from config.client import client_ip
    client_ip(request)  # "203.0.113.7"

Which address that is depends on what stands in front of the site, from the environment:

- nothing (the default, ``TRUSTED_PROXY_COUNT=0`` and no ``TRUSTED_PROXIES``): ``REMOTE_ADDR``,
  the address of the connection. ``X-Forwarded-For`` is never read: a client writes it, so it
  would let every request pick its own bucket;
- ``TRUSTED_PROXY_COUNT=N``: N reverse proxies (a load balancer is 1) that each append the
  address they received the connection from to ``X-Forwarded-For``. The client is the Nth
  address from the right of ``X-Forwarded-For`` followed by ``REMOTE_ADDR``; whatever a client
  wrote to the left of that is ignored;
- ``TRUSTED_PROXIES=10.0.0.0/8,…``: the proxies' addresses (an address, a CIDR network or a
  prefix), one entry per hop, outermost first. ``X-Forwarded-For`` is read only when the request
  really came through them (``REMOTE_ADDR`` matches the last entry, and so on leftwards).

A request that does not fit the setting (no ``X-Forwarded-For`` although a proxy is configured:
it reached the site directly) is keyed on ``REMOTE_ADDR``, never on a header.

django-ipware does the parsing (ports, IPv6 brackets, RFC 7239 ``for=``, garbage entries
skipped); this module only tells it where the trusted part of the chain ends.
"""
from types import SimpleNamespace

from django.conf import settings
from ipware import get_client_ip

FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"


def _remote_addr(request):
    address, _routable = get_client_ip(request, request_header_order=["REMOTE_ADDR"])
    return address or ""


def client_ip(request):
    """The client's address as a string ("" when the request carries none)."""
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    proxies = list(getattr(settings, "TRUSTED_PROXIES", []) or [])
    forwarded = request.META.get(FORWARDED_FOR, "")
    if not (count or proxies) or not forwarded:
        return _remote_addr(request)
    # The last proxy's own address is REMOTE_ADDR, not in the header: put it back at the end so
    # that "N proxies" and "these proxies" both count from the right of one chain.
    chain = f"{forwarded}, {request.META.get('REMOTE_ADDR', '')}"
    address, _routable = get_client_ip(
        SimpleNamespace(META={FORWARDED_FOR: chain}),
        proxy_count=count or None, proxy_trusted_ips=proxies or None,
        request_header_order=[FORWARDED_FOR],
        # Strict would demand exactly N hops: one address a client prepended would then send
        # the request to REMOTE_ADDR (the load balancer's, shared by everyone).
        strict=False)
    return address or _remote_addr(request)
