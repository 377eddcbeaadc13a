"""One circuit breaker for Redis, shared by the cache and the Celery broker (both REDIS_URL).

django-redis (IGNORE_EXCEPTIONS) and the outbox already survive Redis being down: a cache call
misses, a publish is left to the outbox sweep. What neither does is remember it. A Redis that
hangs instead of refusing (connections accepted, never answered) costs a socket timeout per
call, and a page makes several (the rep dashboard's chart, the rate limits and the publish of
the wizard step that emails a code). So after one failure this process skips Redis for SECONDS:
the cache answers as an empty one at once, publishes are left to the outbox sweep
(docs/RELIABILITY.md, item 6, has what it was measured to save).
"""
import logging
import threading
import time

import redis

log = logging.getLogger(__name__)

SECONDS = 10.0


class Breaker:
    def __init__(self, name):
        self.name = name
        self._open_until = 0.0
        self._lock = threading.Lock()

    def is_open(self):
        return time.monotonic() < self._open_until

    def trip(self, exc):
        with self._lock:
            was_closed = not self.is_open()
            self._open_until = time.monotonic() + SECONDS
        if was_closed:
            log.warning("%s unreachable (%s); skipped for %ss", self.name, type(exc).__name__, SECONDS)

    def reset(self):
        with self._lock:
            self._open_until = 0.0


redis_breaker = Breaker("Redis")


class BreakerRedis(redis.Redis):
    """django-redis's REDIS_CLIENT_CLASS: every command goes through the breaker. The errors it
    raises are the ones django-redis ignores, so a skipped call is a cache miss."""

    def execute_command(self, *args, **options):
        if redis_breaker.is_open():
            raise redis.ConnectionError("Redis failed a moment ago; skipped (config/breaker.py)")
        try:
            return super().execute_command(*args, **options)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            redis_breaker.trip(exc)
            raise
