"""Password guessing. Every login path (POST /api/auth/token/, /accounts/login/, /admin/login/)
is throttled per client address, and failed logins are counted per username from any address.
The counters live in the shared cache (settings.CACHES), so every web worker and server sees
the same counts; DRF's throttles take the client address from REMOTE_ADDR, or from
X-Forwarded-For only behind PSCHED_NUM_PROXIES proxies."""
import hashlib
import math
import unicodedata
from functools import wraps

from django.contrib.auth import get_user_model
from django.shortcuts import render
from rest_framework.throttling import ScopedRateThrottle

from psched.lib.counters import counter_add


class LoginThrottle(ScopedRateThrottle):
    """Login attempts per client address: one counter for every login path (scope `login`), in
    fixed windows. The attempt is added and checked in one atomic step (counter_add): DRF's
    history was read, then written, so 20 attempts at once all passed a limit of 3."""

    scope = "login"

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        window = int(self.timer() // self.duration)
        key = f"throttle_login_{self.get_ident(request)}_{window}"
        allowed = counter_add(key, 1, seconds=self.duration + 1, limit=self.num_requests)
        # DRF asks every throttle even after one refused: a refused address spends no try of
        # the account's.
        getattr(request, "_request", request).login_address_refused = not allowed
        return allowed

    def wait(self):
        return self.duration - self.timer() % self.duration


class LoginFailuresThrottle(ScopedRateThrottle):
    """Refuses logins to an account that failed too often in the current window (scope
    `login_failures`), whatever the address: guessing one password from many addresses.

    Each attempt is counted before the password is checked, in one atomic step with the check
    (20 attempts at once cannot all pass), and given back when the login succeeds
    (login_attempt_succeeded), so only failures stay counted. The counter is that of the
    account the database finds for the name typed (its collation matches `ÁLICE` and `alicé`
    to `alice`), or for a name that is no account, of the name normalised as that collation
    compares it."""

    scope = "login_failures"

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        username = _username_tried(request)
        if not username or getattr(getattr(request, "_request", request), "login_address_refused", False):
            return True
        key = _failures_key(username, self.duration, self.timer())
        if not counter_add(key, 1, seconds=self.duration + 1, limit=self.num_requests):
            return False
        getattr(request, "_request", request).login_attempt_key = (key, self.duration)  # given back on success
        return True

    def wait(self):
        return self.duration - self.timer() % self.duration


def _username_tried(request) -> str:
    data = getattr(request, "data", None)  # DRF's parsed JSON; a page's form otherwise
    data = data if isinstance(data, dict) else request.POST
    username = data.get("username")
    return username.strip() if isinstance(username, str) else ""


def username_normalised(username: str) -> str:
    """What MariaDB's default collation (utf8mb4 *_ci) compares: compatibility forms folded
    (ＡＬＩＣＥ is ALICE), case folded and accents dropped (é is e)."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", username).casefold())
    return "".join(char for char in folded if not unicodedata.combining(char)).strip()


def _failures_key(username: str, duration: int, now: float) -> str:
    User = get_user_model()
    # The account authenticate() would check: the same lookup, with the database's collation.
    # Its own name, normalised, is the key: every spelling the database takes for it counts
    # there, and so does a spelling it does not (SQLite compares exactly) that would pass on
    # MariaDB.
    account = User._default_manager.filter(**{User.USERNAME_FIELD: username}).order_by("pk").values_list(
        User.USERNAME_FIELD, flat=True).first()
    digest = hashlib.sha256(username_normalised(account or username).encode()).hexdigest()[:32]
    return f"throttle_login_failures_{digest}_{int(now // duration)}"


def login_attempt_succeeded(request) -> None:
    """Gives back the attempt LoginFailuresThrottle counted: only failed logins lock an account."""
    counted = getattr(getattr(request, "_request", request), "login_attempt_key", None)
    if counted:
        key, duration = counted
        counter_add(key, -1, seconds=duration + 1)
        getattr(request, "_request", request).login_attempt_key = None


def user_logged_in_record(sender, request=None, **kwargs):
    """user_logged_in (the login pages): the attempt succeeded."""
    if request is not None:
        login_attempt_succeeded(request)


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
