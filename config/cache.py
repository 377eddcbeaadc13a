"""A Redis cache that fails soft: Redis down must cost a page at most a second, never a 500.

Redis holds nothing here that the product cannot lose: the cache, a copy of the sessions (which
live in PostgreSQL: config/sessions.py) and the Celery broker, whose work is also written to
PostgreSQL first (the email outbox, the orders' provisioning timestamps). So when Redis does not
answer, every cache call returns what an empty cache would and the page carries on:

- reads miss (`get` -> default, `has_key` -> False): a session is read from the database, a
  throttle counts 0;
- writes are dropped, and `add` pretends it stored the value (so a cache `add` is never a lock:
  locks live in PostgreSQL);
- a circuit breaker, per process, skips Redis for BREAK_SECONDS after a failure, so a Redis that
  hangs instead of refusing costs one socket timeout (OPTIONS socket_timeout) per process per
  BREAK_SECONDS, not one per cache call.
"""
import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

log = logging.getLogger(__name__)

BREAK_SECONDS = 5.0


class _Breaker:
    def __init__(self):
        self.open_until = 0.0
        self.lock = threading.Lock()

    def is_open(self):
        return time.monotonic() < self.open_until

    def trip(self, exc):
        with self.lock:
            was_closed = not self.is_open()
            self.open_until = time.monotonic() + BREAK_SECONDS
        if was_closed:
            log.warning("Redis cache unreachable (%s); serving without cache for %ss",
                        type(exc).__name__, BREAK_SECONDS)


def _fail_soft(method, fallback):
    def wrapper(self, *args, **kwargs):
        if self._breaker.is_open():
            return fallback(*args)
        try:
            return method(self, *args, **kwargs)
        except (self._lib.exceptions.ConnectionError, self._lib.exceptions.TimeoutError) as exc:
            self._breaker.trip(exc)
            return fallback(*args)

    wrapper.__name__ = method.__name__
    return wrapper


class FailSoftRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._breaker = _Breaker()

    add = _fail_soft(RedisCacheClient.add, lambda key, value, timeout: True)
    get = _fail_soft(RedisCacheClient.get, lambda key, default: default)
    set = _fail_soft(RedisCacheClient.set, lambda key, value, timeout: None)
    touch = _fail_soft(RedisCacheClient.touch, lambda key, timeout: False)
    delete = _fail_soft(RedisCacheClient.delete, lambda key: False)
    get_many = _fail_soft(RedisCacheClient.get_many, lambda keys: {})
    has_key = _fail_soft(RedisCacheClient.has_key, lambda key: False)
    # A counter that cannot be read starts again from `delta`: throttles fail open.
    incr = _fail_soft(RedisCacheClient.incr, lambda key, delta: delta)
    set_many = _fail_soft(RedisCacheClient.set_many, lambda data, timeout: None)
    delete_many = _fail_soft(RedisCacheClient.delete_many, lambda keys: None)
    clear = _fail_soft(RedisCacheClient.clear, lambda: False)


class FailSoftRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = FailSoftRedisCacheClient

    def is_unavailable(self):
        """True while the breaker is open: Redis failed in the last BREAK_SECONDS."""
        return self._cache._breaker.is_open()
