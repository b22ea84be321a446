from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle


class TokenApi(ObtainAuthToken):
    """`{"username", "password"}` → `{"token"}`. Throttled per client address, so passwords
    cannot be guessed at speed (429 with Retry-After)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"
