from rest_framework.authtoken.views import ObtainAuthToken

from .throttling import LoginFailuresThrottle, LoginThrottle, login_attempt_succeeded


class TokenApi(ObtainAuthToken):
    """`{"username", "password"}` → `{"token"}`. Throttled per client address and per username
    that failed too often, so passwords cannot be guessed at speed (429 with Retry-After)."""

    throttle_classes = [LoginThrottle, LoginFailuresThrottle]

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)  # a wrong password raises: a 400
        login_attempt_succeeded(request)
        return response
