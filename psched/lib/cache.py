"""Figures that are costly to compute (counts over the whole schedule) and read often
(every /metrics scrape, every dashboard load): served from the cache, refreshed behind the
reader's back once they are older than PSCHED_FIGURES_SECONDS."""
import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger("psched")


def figures_cached(key: str, compute):
    """compute()'s value, at most PSCHED_FIGURES_SECONDS old plus one computation. Only the
    first reader waits for it; later readers of a stale value get it at once while one
    thread (one per cache, across processes when the cache is shared) computes the next.
    PSCHED_FIGURES_SECONDS=0 computes on every call."""
    fresh_for = settings.PSCHED_FIGURES_SECONDS
    if fresh_for <= 0:
        return compute()
    entry = cache.get(key)
    if entry is None:
        value = compute()
        cache.set(key, (time.time(), value), fresh_for * 30)
        return value
    computed_at, value = entry
    if time.time() - computed_at > fresh_for and cache.add(f"{key}:refreshing", True, fresh_for * 10):
        threading.Thread(target=_refresh, args=(key, compute, fresh_for), daemon=True).start()
    return value


def _refresh(key: str, compute, fresh_for: float) -> None:
    try:
        cache.set(key, (time.time(), compute()), fresh_for * 30)
    except Exception:  # the old value stays; the next stale read tries again
        logger.exception("refreshing %s failed", key)
    finally:
        cache.delete(f"{key}:refreshing")
        connection.close()  # this thread's own connection
