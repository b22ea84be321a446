"""The cache: throttle counters, which every web worker and server must share."""
from django.core.exceptions import ImproperlyConfigured

from psched.lib.env import env_str

from .celery import CELERY_BROKER_URL


def cache_config(url: str) -> dict:
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": "psched"}
    if url in ("db", "database"):  # a table that migrate creates (accounts.apps)
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "psched_cache"}
    if url == "locmem":  # one process only: not for a server with several workers
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    raise ImproperlyConfigured(f"PSCHED_CACHE_URL must be redis://…, db or locmem, not {url!r}")


# Redis (PSCHED_CACHE_URL, or the broker's Redis), else a table in the database.
PSCHED_CACHE_URL = env_str("PSCHED_CACHE_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "db")
CACHES = {"default": cache_config(PSCHED_CACHE_URL)}
