"""Sessions in PostgreSQL (django_session), read through the Redis cache: Django's cached_db
store, kept correct across a Redis outage.

Every save and delete goes to the database first, and a read that misses the cache falls back
to the database. The cache fails soft (config/cache.py), so while Redis is down sessions are
simply read from and written to PostgreSQL: a signed-in person stays signed in, the wizard keeps
its answers, a Deploy goes through.

What an outage does leave behind is a stale copy in Redis: a save or delete that could not reach
it leaves the copy from before the outage, which Redis would serve once it is back (a wizard
step lost, a sign-out undone). So this process remembers the keys whose cache write it dropped
and deletes them from Redis before it next reads a session there."""
import threading

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

_stale_keys = set()
_stale_lock = threading.Lock()


def stale_keys():
    with _stale_lock:
        return set(_stale_keys)


class SessionStore(CachedDBStore):
    def _cache_unavailable(self):
        check = getattr(self._cache, "is_unavailable", None)
        return bool(check and check())

    def _remember_if_dropped(self, cache_key):
        # Unavailable right after the call means the call was skipped or failed. (A failure in
        # another thread at the same moment only costs one needless delete later.)
        if self._cache_unavailable():
            with _stale_lock:
                _stale_keys.add(cache_key)

    def _delete_stale_copies(self):
        if not _stale_keys or self._cache_unavailable():
            return
        keys = stale_keys()
        self._cache.delete_many(keys)
        if not self._cache_unavailable():
            with _stale_lock:
                _stale_keys.difference_update(keys)

    def load(self):
        self._delete_stale_copies()
        return super().load()

    def save(self, must_create=False):
        super().save(must_create=must_create)
        self._remember_if_dropped(self.cache_key)

    def delete(self, session_key=None):
        key = session_key or self.session_key
        super().delete(session_key)
        if key:
            self._remember_if_dropped(self.cache_key_prefix + key)
