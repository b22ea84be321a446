"""Counters in the shared cache (settings.CACHES), for the throttles: every web worker and
server sees the same counts.

- counter_add counts exactly: on Redis one round trip (a Lua script adds, sets the expiry
  and undoes an add over the limit, atomically; Django's RedisCache would take three, and
  build a client object for each); the database table locks the counter's row while it adds;
  locmem takes the portable add/incr path.
- counter_take is for a rate that is large and checked on every request (posts scheduled
  per user): a process takes a share of the limit ahead (1/1000 of it) and spends it
  locally, so most requests cost no round trip. The price: each process may hold up to
  that share unspent when the window closes, so a user can be refused up to
  processes × share posts early (0.4 % of the limit with four web workers), never late.
"""
import threading

import redis
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router, transaction

# KEYS[1] the counter; ARGV: amount wanted, amount needed at least, limit (-1: none), seconds
# to live. Grants as much of the wanted amount as the limit leaves, if that covers the needed
# amount. Returns {granted, total}.
_TAKE = """
local limit = tonumber(ARGV[3])
local grant = tonumber(ARGV[1])
if limit >= 0 then
  local used = tonumber(redis.call('GET', KEYS[1]) or '0')
  grant = math.min(grant, limit - used)
  if grant < tonumber(ARGV[2]) then return {0, used} end
end
local total = redis.call('INCRBY', KEYS[1], grant)
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return {grant, total}
"""

_scripts: dict[str, object] = {}
_lock = threading.Lock()
# counter_take's shares: key -> what this process took and has not spent yet.
_shares: dict[str, int] = {}
_SHARES_KEPT = 10_000


def _redis_take(url: str):
    # One client per process and server: redis-py's client is thread-safe, with a pool.
    script = _scripts.get(url)
    if script is None:
        with _lock:
            script = _scripts.get(url) or redis.Redis.from_url(url).register_script(_TAKE)
            _scripts[url] = script
    return script


def _take(key: str, wanted: int, needed: int, *, seconds: int, limit: int | None) -> int:
    """Adds up to `wanted` (at least `needed`, else nothing) to the shared counter; returns
    how much was added."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        granted, _ = _redis_take(cache._servers[0])(  # the first server takes the writes
            keys=[cache.make_and_validate_key(key)], args=[wanted, needed, -1 if limit is None else limit, seconds]
        )
        return int(granted)
    if isinstance(cache, DatabaseCache):
        return _database_take(cache, key, needed, seconds=seconds, limit=limit)
    # The portable path takes exactly what is needed: an atomic incr (locmem holds a lock), then
    # the check, and a refused add is taken back.
    cache.add(key, 0, seconds)
    try:
        total = cache.incr(key, needed)
    except ValueError:  # the key expired between add and incr
        cache.set(key, needed, seconds)
        total = needed
    if limit is not None and total > limit:
        cache.decr(key, needed)
        return 0
    return needed


def _database_take(cache, key: str, needed: int, *, seconds: int, limit: int | None) -> int:
    """The database cache's incr reads and writes the row in two statements: two requests at
    once read the same count and both pass the limit. Here the row is locked while the count is
    read, checked and written (SQLite: its IMMEDIATE transactions already run one at a time)."""
    cache.add(key, 0, seconds)  # the row to lock (an INSERT; one of two at once wins)
    database = router.db_for_write(cache.cache_model_class)
    connection = connections[database]
    with transaction.atomic(using=database):
        if connection.features.has_select_for_update:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT cache_key FROM {connection.ops.quote_name(cache._table)} WHERE cache_key = %s FOR UPDATE",
                    [cache.make_and_validate_key(key)],
                )
        total = (cache.get(key) or 0) + needed  # 0: it expired meanwhile
        if limit is not None and total > limit:
            return 0
        cache.set(key, total, seconds)  # the keys name one window each: a new expiry is harmless
    return needed


def counter_add(key: str, amount: int, *, seconds: int, limit: int | None = None) -> bool:
    """Adds `amount` to the counter `key`, which lives `seconds` from its first add. With
    `limit`, an add that would take the counter over it is not made. Returns whether it was
    made. The value reads back with cache.get(key)."""
    return _take(key, amount, amount, seconds=seconds, limit=limit) == amount


def counter_take(key: str, amount: int, *, seconds: int, limit: int) -> bool:
    """counter_add for large limits checked often: spends from this process's share of the
    limit, taking a new share (1/1000 of the limit, and at least `amount`) when it runs out.
    `key` names one window of the count: a new window, a new key."""
    with _lock:
        share = _shares.get(key, 0)
        if share >= amount:
            _shares[key] = share - amount
            return True
    ahead = max(amount, limit // 1000)
    granted = _take(key, ahead, amount, seconds=seconds, limit=limit)
    if not granted:
        return False
    with _lock:
        if len(_shares) >= _SHARES_KEPT:  # past windows' keys
            _shares.clear()
        _shares[key] = _shares.get(key, 0) + granted - amount
    return True
