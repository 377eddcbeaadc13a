"""Sessions in the Redis cache (shared by every web process), failing soft like the cache.

Django's cache session store refuses to save a session it cannot find any more (UpdateError,
a 400 "session interrupted"), and while Redis is down every session looks missing. This store
drops the write instead, as the cache drops every write while Redis is down (config/cache.py):
the person gets an answer, and their session starts afresh once Redis is back. Nothing of value
is lost: the wizard saves nothing before Confirm, and Confirm writes to PostgreSQL."""
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore


class SessionStore(CacheSessionStore):
    def _cache_unavailable(self):
        check = getattr(self._cache, "is_unavailable", None)
        return bool(check and check())

    def save(self, must_create=False):
        try:
            super().save(must_create=must_create)
        except UpdateError:
            if not self._cache_unavailable():
                raise
