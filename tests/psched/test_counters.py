"""The throttles' counters (psched/lib/counters.py) on real Redis, where each count is one
Lua script, and on the portable path (locmem here; the database cache takes it too)."""
import os
import threading
import uuid

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection

from psched.lib import counters
from psched.lib.counters import counter_add, counter_take

REDIS_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(params=["redis", "locmem"])
def cache(request, settings):
    if request.param == "redis":
        if not REDIS_URL.startswith("redis://"):
            pytest.fail(f"these tests need Redis: CELERY_BROKER_URL is {REDIS_URL!r}")
        backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    else:
        backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    # A prefix of its own: the Redis is shared with other test processes.
    settings.CACHES = {"default": {**backend, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    counters._shares.clear()
    yield caches["default"]
    counters._shares.clear()


pytestmark = pytest.mark.integration


def test_an_add_counts_exactly_and_stops_at_the_limit(cache):
    assert [counter_add("k", 1, seconds=60, limit=3) for _ in range(4)] == [True, True, True, False]
    assert cache.get("k") == 3
    # An add that does not fit is not made, even in part; a smaller one still fits.
    cache.delete("k")
    assert counter_add("k", 2, seconds=60, limit=3)
    assert not counter_add("k", 2, seconds=60, limit=3)
    assert counter_add("k", 1, seconds=60, limit=3)
    assert cache.get("k") == 3


def test_a_counter_expires_with_its_window(cache):
    counter_add("k", 1, seconds=60)
    counter_add("k", 5, seconds=60)
    assert cache.get("k") == 6
    if hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):  # Redis: the TTL itself
        ttl = cache._cache.get_client().ttl(cache.make_and_validate_key("k"))
        assert 0 < ttl <= 60


def test_a_take_spends_a_share_taken_ahead(cache):
    # A limit of 10,000: a share is 10. The first post takes a share; nine more spend it.
    assert counter_take("k", 1, seconds=60, limit=10_000)
    expected = 10 if "redis" in type(cache).__name__.lower() else 1  # the portable path takes what it needs
    assert cache.get("k") == expected
    for _ in range(9):
        assert counter_take("k", 1, seconds=60, limit=10_000)
    assert cache.get("k") == 10
    assert counter_take("k", 1, seconds=60, limit=10_000)
    assert cache.get("k") == expected + 10


def test_takes_never_pass_the_limit_and_refuse_only_at_it(cache):
    # Shares of 50 spent 7 at a time: what is left of one share is spent with the next.
    granted = sum(counter_take("k", 7, seconds=60, limit=50_000) for _ in range(8000))
    assert granted == 50_000 // 7  # every post that fits, and none more
    assert cache.get("k") <= 50_000
    # Another process (no shares of its own, the same counter) is refused too.
    counters._shares.clear()
    assert not counter_take("k", 7, seconds=60, limit=50_000)


def test_a_take_larger_than_a_share_is_counted_whole(cache):
    assert counter_take("k", 1000, seconds=60, limit=1500)
    assert not counter_take("k", 1000, seconds=60, limit=1500)  # refused whole, counts nothing
    assert cache.get("k") == 1000
    assert counter_take("k", 500, seconds=60, limit=1500)
    assert cache.get("k") == 1500


@pytest.fixture
def database_cache(transactional_db, settings):
    """The database cache (PSCHED_CACHE_URL=db) in a table of the test's own."""
    table = f"test_cache_{uuid.uuid4().hex[:8]}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": table}}
    call_command("createcachetable", verbosity=0)
    yield caches["default"]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {connection.ops.quote_name(table)}")


def test_adds_at_once_on_the_database_cache_stop_exactly_at_the_limit(database_cache):
    """Its incr reads, then writes: twenty adds at once all passed a limit of 3. The row is
    locked while the count is read, checked and written."""
    counter_add("k", 0, seconds=60)  # the row exists; the adds below race on it
    barrier = threading.Barrier(20)
    granted = []

    def add():
        barrier.wait()
        try:
            granted.append(counter_add("k", 1, seconds=60, limit=3))
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert granted.count(True) == 3 and len(granted) == 20
    assert database_cache.get("k") == 3
