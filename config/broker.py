"""A per-process breaker for publishing to the Celery broker.

When Redis is down, each publish costs a connection attempt (instant when refused, a socket
timeout when Redis hangs). Work is never lost either way: it is in PostgreSQL first, and the
beat sweeps pick it up. So after one failed publish, this process skips the broker for
BREAK_SECONDS and leaves the work to the sweep, and a page that enqueues several emails while
Redis hangs pays one timeout, not one per email."""
import threading
import time

BREAK_SECONDS = 30.0

_lock = threading.Lock()
_down_until = 0.0


def is_down():
    return time.monotonic() < _down_until


def mark_down():
    global _down_until
    with _lock:
        _down_until = time.monotonic() + BREAK_SECONDS


def reset():
    global _down_until
    with _lock:
        _down_until = 0.0
