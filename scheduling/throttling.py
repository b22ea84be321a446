"""The scheduling rate (PSCHED_SCHEDULING_THROTTLE), counted in posts: by the API, by every
page that schedules (compose, duplicate, draft, queue, series) and by series, which count
the occurrences they create."""
import math
from types import SimpleNamespace

from rest_framework.exceptions import Throttled
from rest_framework.throttling import ScopedRateThrottle

from psched.lib.counters import counter_take

SCOPE = "scheduling"


class PostCountThrottle(ScopedRateThrottle):
    """The scheduling rate counts posts, not requests: a bulk request of 1000 counts 1000. A
    fixed window per user in the shared cache; a refused request counts nothing. Each process
    takes shares of the rate ahead, so most requests cost no round trip (counter_take)."""

    def allow_request(self, request, view):
        posts = len(request.data) if isinstance(request.data, list) else 1
        return self.allow_posts(request, view, posts)

    def allow_posts(self, request, view, posts: int) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.now = self.timer()
        if posts <= 0:
            return True
        key = f"{self.get_cache_key(request, view)}_{int(self.now // self.duration)}"
        return counter_take(key, posts, seconds=self.duration + 1, limit=self.num_requests)

    def wait(self):
        return self.duration - self.now % self.duration


def scheduling_wait(request, posts: int = 1) -> int | None:
    """Counts `posts` against the user's scheduling rate: None when they fit, else the
    seconds to wait (nothing is counted then)."""
    throttle = PostCountThrottle()
    if throttle.allow_posts(request, SimpleNamespace(throttle_scope=SCOPE), posts):
        return None
    return max(1, math.ceil(throttle.wait() or 1))


def too_fast_text(wait: int) -> str:
    return f"You are scheduling too fast: try again in {wait} second{'s' if wait != 1 else ''}."


def admit_for(request):
    """admit(posts) for the services that create posts as they go (series): raises DRF's
    Throttled, a 429 with Retry-After, inside the service's transaction, so that nothing of a
    refused request stays."""

    def admit(posts: int) -> None:
        wait = scheduling_wait(request, posts)
        if wait is not None:
            raise Throttled(wait=wait, detail=too_fast_text(wait))

    return admit
