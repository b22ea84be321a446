"""Destinations: how secrets are encrypted and how webhooks are sent and retried."""
from django.core.exceptions import ImproperlyConfigured

from psched.lib.env import env_bool, env_float, env_int, env_list, env_str

from .security import DEBUG

# Fernet keys (comma-separated, newest first: it encrypts, every key decrypts, so keys rotate).
# Empty: a key derived from SECRET_KEY (development); set it in a deployment.
PSCHED_SECRETS_KEYS = env_list("PSCHED_SECRETS_KEYS", [])
# Webhooks to private, loopback and link-local addresses (and plain http): tests and make run only.
PSCHED_WEBHOOK_ALLOW_PRIVATE = env_bool("PSCHED_WEBHOOK_ALLOW_PRIVATE", False)


def _seconds_list(name: str, default: list[float]) -> list[float]:
    try:
        values = [float(item) for item in env_list(name, [str(value) for value in default])]
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be seconds separated by commas, e.g. 0,5,300") from None
    if not values or any(value < 0 for value in values):
        raise ImproperlyConfigured(f"{name} must list at least one delay of 0 seconds or more")
    return values


# Standard Webhooks' schedule: the delay before each try (immediately, 5 s, 5 min, 30 min, 2 h,
# 5 h, 10 h, 10 h). After the last one fails the delivery is failed.
PSCHED_WEBHOOK_RETRY_SCHEDULE = _seconds_list(
    "PSCHED_WEBHOOK_RETRY_SCHEDULE", [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
)
# Each delay is drawn from ±this fraction of itself, so deliveries that failed together spread out.
PSCHED_WEBHOOK_RETRY_JITTER = env_float("PSCHED_WEBHOOK_RETRY_JITTER", 0.2, minimum=0.0)
# The longest Retry-After psched honours (a receiver asking for a week gets a day).
PSCHED_WEBHOOK_RETRY_AFTER_MAX = env_float("PSCHED_WEBHOOK_RETRY_AFTER_MAX", 86400.0, minimum=0.0)
PSCHED_WEBHOOK_CONNECT_TIMEOUT = env_float("PSCHED_WEBHOOK_CONNECT_TIMEOUT", 5.0, minimum=0.1)
PSCHED_WEBHOOK_TOTAL_TIMEOUT = env_float("PSCHED_WEBHOOK_TOTAL_TIMEOUT", 15.0, minimum=0.1)
# After a rotation the old secret also signs, for this long (two signatures per request).
PSCHED_WEBHOOK_ROTATION_GRACE_SECONDS = env_int("PSCHED_WEBHOOK_ROTATION_GRACE_SECONDS", 86400, minimum=0)
# A claimed delivery's lease: how long a node that stopped mid-send holds its deliveries before
# another node reads them back and resends them. A live node renews it while it sends, every
# quarter of it (dispatchers/deliveries.py), so a claim may take longer than this to send.
PSCHED_DELIVERY_LEASE_SECONDS = env_float("PSCHED_DELIVERY_LEASE_SECONDS", 150.0, minimum=1.0)
# A claim is sent within its lease: at most four rounds of the threads, each at most one send
# (PSCHED_WEBHOOK_TOTAL_TIMEOUT) long.
PSCHED_DELIVERY_CLAIM_LIMIT = env_int("PSCHED_DELIVERY_CLAIM_LIMIT", 64, minimum=1)
# Deliveries sent side by side by one node's delivery task.
PSCHED_DELIVERY_THREADS = env_int("PSCHED_DELIVERY_THREADS", 16, minimum=1, maximum=64)
# A Bluesky session's tokens are refreshed once the access token is this old: a revoked app
# password is noticed within this time (the PDS checks an access token's signature only).
PSCHED_BLUESKY_TOKEN_SECONDS = env_float("PSCHED_BLUESKY_TOKEN_SECONDS", 600.0, minimum=0.0)

# Mail to authors (a delivery failed for good, a destination was disabled). With DEBUG (make
# run) it is printed by the node's process instead of sent.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "psched <psched@localhost>")
