from rest_framework.authtoken.views import ObtainAuthToken

from .throttling import LoginFailuresThrottle, LoginThrottle


class TokenApi(ObtainAuthToken):
    """`{"username", "password"}` → `{"token"}`. Throttled per client address and per username
    that failed too often, so passwords cannot be guessed at speed (429 with Retry-After)."""

    throttle_classes = [LoginThrottle, LoginFailuresThrottle]
