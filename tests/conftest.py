import uuid
from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dispatchers.services import node_credential_issue, node_register
from feed.models import Post
from psched.lib.db import db_now, db_now_cached_forget
from scheduling.models import ScheduledPost
from scheduling.rules import schedule_input_clean
from scheduling.services import scheduled_post_create, scheduled_posts_create
from stack.pds import LocalPds


def pytest_configure(config):
    # Tests render pages without collectstatic; whitenoise warns that STATIC_ROOT is missing.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")
    # The embedded test database is a file in var/ (see psched/settings/database.py).
    from django.conf import settings

    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)


# The longest scenarios, longest first (from `pytest --durations` on this 2-core machine): run
# first, they spread over the xdist workers instead of one of them starting last and holding
# up the end of `make test`. Other integration tests follow, then the browser tests, then the
# units, which fill the gaps.
LONGEST_FIRST = (
    "tests/integration/test_soak.py",
    "tests/integration/test_bluesky_deliveries.py",
    "tests/integration/test_hosts.py",
    "tests/security/test_schema_fuzz.py",
    "tests/integration/test_faults.py",
    "tests/integration/test_pipeline.py",
    "tests/integration/test_planning.py",
    "tests/integration/test_deliveries.py",
    "tests/integration/test_liveness.py",
    "tests/security/test_password_guessing.py",
)


def pytest_collection_modifyitems(config, items):
    """Longest first, each scenario followed by a unit. xdist (run with --maxschedchunk 1, as
    `make test` does) gives a worker the test it runs and the one after it, which it holds
    until the first ends: a unit there, not the next scenario, so that every scenario goes to
    the first worker that is free. (Without the limit, xdist hands out the first quarter of
    the list in one chunk: every scenario on one worker, one after another.)"""
    def rank(item):
        path = item.nodeid.split("::", 1)[0]
        if path in LONGEST_FIRST:
            return LONGEST_FIRST.index(path)
        if item.get_closest_marker("integration"):
            return len(LONGEST_FIRST)
        return len(LONGEST_FIRST) + (1 if item.get_closest_marker("browser") else 2)

    items.sort(key=rank)  # stable: each group keeps its files' order
    units = len(LONGEST_FIRST) + 2
    slow = [item for item in items if rank(item) < units]
    quick = [item for item in items if rank(item) == units]
    ordered = []
    for item in slow:
        ordered.append(item)
        if quick:
            ordered.append(quick.pop(0))
    items[:] = ordered + quick


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", password="bob-password-1")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("staff", password="staff-password-1", is_staff=True)


def api_client_for(user=None):
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api():
    return api_client_for


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("root", password="root-password-1")


@pytest.fixture
def node(db):
    node, _ = node_register(name="n1")
    node.secret = node_credential_issue(node=node)
    return node


@pytest.fixture
def node_client(node):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Node {node.name}:{node.secret}")
    return client


@pytest.fixture
def in_seconds():
    """in_seconds(seconds): an ISO 8601 time that many seconds from now."""

    def make(seconds: float) -> str:
        return (timezone.now() + timedelta(seconds=seconds)).isoformat()

    return make


@pytest.fixture
def scheduled_post_factory():
    """make(author, text, after=, zone=): one post scheduled through the service, as the form
    does it: a local time (to the second) `after` from now in `zone`."""

    def make(author, text="later", *, after=timedelta(hours=1), zone="UTC"):
        local = (timezone.now() + after).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S")
        return scheduled_post_create(author=author, text=text, publish_at=local, timezone_name=zone)

    return make


@pytest.fixture
def scheduled_posts_factory():
    """make(author, count, seconds=): count posts ("post 0", ...) due in `seconds`, created in
    bulk and routed to the active nodes, as the API does it."""

    def make(author, count, *, seconds=60):
        publish_at = (timezone.now() + timedelta(seconds=seconds)).isoformat()
        now = db_now()
        inputs = [schedule_input_clean(text=f"post {i}", publish_at=publish_at, now=now) for i in range(count)]
        return scheduled_posts_create(author=author, inputs=inputs)

    return make


@pytest.fixture
def published(node):
    """make(author, text, late_ms): a scheduled post as node n1 published it, with its Post."""

    def make(author, text="dispatched", late_ms=250):
        published_at = timezone.now()
        publish_at = published_at - timedelta(milliseconds=late_ms)
        row = ScheduledPost.objects.create(
            author=author, text=text, publish_at=publish_at, due_at=publish_at, timezone="Europe/Paris",
            status=ScheduledPost.Status.PUBLISHED, dispatcher=node, attempts=1,
            published_at=published_at, lateness_ms=late_ms,
        )
        Post.objects.create(
            author=author, text=text, published_at=published_at, scheduled_post=row, scheduled_for=publish_at, dispatcher=node
        )
        return row

    return make


@pytest.fixture
def host_clock_ahead(db):
    """host_clock_ahead(seconds): this process's clock (the web host's, for the views and
    services under test) runs that far ahead of the database's until the test ends. time-machine
    moves Python's clocks; the database keeps its own (SQLite computes 'now' in C, MariaDB on the
    server), so whatever asks the host's clock to decide is off by the skew."""
    travels = []

    def move(seconds: float) -> None:
        db_now_cached_forget()  # the process's copy of the database clock is read again, under the skew
        travel = time_machine.travel(datetime.now(dt_timezone.utc) + timedelta(seconds=seconds), tick=True)
        travel.start()
        travels.append(travel)
        assert timezone.now() - db_now() > timedelta(seconds=seconds - 5), "the host's clock did not move"

    yield move
    for travel in reversed(travels):
        travel.stop()
    db_now_cached_forget()


@pytest.fixture(autouse=True)
def fresh_clash_facts():
    """The clash check's per-process copy of each author's series and slots: none from a test
    before (its rows are gone, and SQLite gives their ids again)."""
    from scheduling.selectors import clash_facts_forget

    clash_facts_forget()
    yield
    clash_facts_forget()


@pytest.fixture(autouse=True)
def fresh_throttles(settings):
    """Throttle counts live in the cache: each test gets an empty one of its own (never a shared
    Redis, whose clear() would also empty other test processes' counters)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}}


@pytest.fixture
def low_rates(monkeypatch):
    """Throttle rates low enough to reach in a test. DRF reads the rates into the class when it
    is imported; lower them there."""
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {
        "login": "3/min", "login_failures": "5/hour", "scheduling": "2/min", "posting": "2/min",
    })


@pytest.fixture(scope="module")
def pds(tmp_path_factory):
    """A real AT Protocol PDS with its PLC directory (stack.pds, installed by `make pds`), one
    per test module: it takes a few seconds to start."""
    server = LocalPds(tmp_path_factory.mktemp("pds") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def cpu_budget():
    """with cpu_budget(seconds): fails when the block uses more CPU than that in this process
    (time.process_time: CPU, not wall time, so a loaded machine does not make it fail). The
    tests of bounded work use it."""
    import contextlib
    import time

    @contextlib.contextmanager
    def budget(seconds: float):
        before = time.process_time()
        yield
        used = time.process_time() - before
        assert used < seconds, f"used {used:.2f} s of CPU; the budget is {seconds} s"

    return budget
