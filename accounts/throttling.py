"""Password guessing. Every login path (POST /api/auth/token/, /accounts/login/, /admin/login/)
is throttled per client address, and failed logins are counted per username from any address.
The counters live in the shared cache (settings.CACHES), so every web worker and server sees
the same counts; DRF's throttles take the client address from REMOTE_ADDR, or from
X-Forwarded-For only behind PSCHED_NUM_PROXIES proxies."""
import hashlib
import math
from functools import wraps

from django.core.cache import cache
from django.shortcuts import render
from rest_framework.throttling import ScopedRateThrottle

from psched.lib.counters import counter_add


class LoginThrottle(ScopedRateThrottle):
    """Login attempts per client address: one counter for every login path (scope `login`)."""

    scope = "login"

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super(ScopedRateThrottle, self).allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginFailuresThrottle(ScopedRateThrottle):
    """Refuses logins to an account that failed too often in the current window (scope
    `login_failures`), whatever the address: guessing one password from many addresses.
    Successful logins do not count; login_failure_record counts the failures."""

    scope = "login_failures"

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        username = _username_tried(request)
        if not username:
            return True
        return cache.get(_failures_key(username, self.duration, self.timer()), 0) < self.num_requests

    def wait(self):
        return self.duration - self.timer() % self.duration


def _username_tried(request) -> str:
    data = getattr(request, "data", None)  # DRF's parsed JSON; a page's form otherwise
    data = data if isinstance(data, dict) else request.POST
    username = data.get("username")
    return username.strip().lower() if isinstance(username, str) else ""


def _failures_key(username: str, duration: int, now: float) -> str:
    digest = hashlib.sha256(username.encode()).hexdigest()[:32]
    return f"throttle_login_failures_{digest}_{int(now // duration)}"


def login_failure_record(sender, credentials, request=None, **kwargs):
    """user_login_failed: counts one failure against the username tried."""
    username = credentials.get("username")
    if not isinstance(username, str) or not username.strip():
        return
    throttle = LoginFailuresThrottle()
    _, duration = throttle.parse_rate(throttle.get_rate())
    key = _failures_key(username.strip().lower(), duration, throttle.timer())
    counter_add(key, 1, seconds=duration + 1)


def login_throttled(view):
    """Wraps a login page: a POST over either throttle gets a 429 page with Retry-After."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST":
            for throttle in (LoginThrottle(), LoginFailuresThrottle()):
                if not throttle.allow_request(request, None):
                    wait = max(1, math.ceil(throttle.wait() or 1))
                    response = render(request, "registration/throttled.html", {"wait": wait}, status=429)
                    response["Retry-After"] = str(wait)
                    return response
        return view(request, *args, **kwargs)

    return wrapped
