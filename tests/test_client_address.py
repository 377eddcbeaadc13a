"""The client's address behind the trusted-proxy setting (config/client.py), and the buckets
every limit keys on: a forged X-Forwarded-For never picks a bucket, and behind the load
balancer two people never share one."""
import datetime

import pytest
from django.test import Client, RequestFactory

from config.client import client_ip

LOAD_BALANCER = "10.0.0.2"
UNKNOWN_LINK = "/setup/" + "u" * 40 + "{:03d}/"


def address(settings, remote, forwarded=None, count=0, proxies=()):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = count, list(proxies)
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


@pytest.mark.parametrize("remote, forwarded, count, proxies, expected", [
    # No proxy configured: the connection's address, whatever the header says.
    ("198.51.100.66", "203.0.113.7", 0, (), "198.51.100.66"),
    ("198.51.100.66", None, 0, (), "198.51.100.66"),
    # One load balancer: the address it appended, not what the client wrote before it.
    (LOAD_BALANCER, "203.0.113.7", 1, (), "203.0.113.7"),
    (LOAD_BALANCER, "192.0.2.1, 192.0.2.2, 203.0.113.7", 1, (), "203.0.113.7"),
    (LOAD_BALANCER, "not-an-address, 203.0.113.7", 1, (), "203.0.113.7"),
    (LOAD_BALANCER, "[2001:db8::7]:443", 1, (), "2001:db8::7"),
    # A request that reached the site directly although a proxy is configured.
    ("198.51.100.66", None, 1, (), "198.51.100.66"),
    # A CDN in front of the load balancer.
    (LOAD_BALANCER, "192.0.2.1, 203.0.113.7, 172.16.5.5", 2, (), "203.0.113.7"),
    # Named proxies: the header is read only when the request came through them.
    (LOAD_BALANCER, "192.0.2.1, 203.0.113.7", 0, ("10.0.0.0/8",), "203.0.113.7"),
    ("198.51.100.66", "203.0.113.7", 0, ("10.0.0.0/8",), "198.51.100.66"),
])
def test_the_client_address_follows_the_trusted_proxy_setting(settings, remote, forwarded, count,
                                                             proxies, expected):
    assert address(settings, remote, forwarded, count, proxies) == expected


@pytest.fixture
def frozen(time_machine):
    """The limiters count in fixed windows: none may end in the middle of a test."""
    time_machine.move_to(datetime.datetime(2026, 11, 20, 10, 0, tzinfo=datetime.timezone.utc),
                         tick=False)


@pytest.mark.django_db
def test_behind_one_proxy_two_clients_get_different_buckets(settings, frozen):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker, neighbour = Client(), Client()
    statuses = [attacker.get(UNKNOWN_LINK.format(n), REMOTE_ADDR=LOAD_BALANCER,
                             HTTP_X_FORWARDED_FOR="198.51.100.66").status_code for n in range(21)]
    assert statuses == [404] * 20 + [429]
    # Same load balancer, another client behind it: its own bucket.
    assert neighbour.get(UNKNOWN_LINK.format(0), REMOTE_ADDR=LOAD_BALANCER,
                         HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 404


@pytest.mark.django_db
def test_without_a_trusted_proxy_a_forged_forwarded_for_is_ignored(settings, frozen):
    settings.TRUSTED_PROXY_COUNT = 0
    attacker = Client()
    statuses = [attacker.get(UNKNOWN_LINK.format(n), REMOTE_ADDR="198.51.100.66",
                             HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code for n in range(21)]
    assert statuses == [404] * 20 + [429]
