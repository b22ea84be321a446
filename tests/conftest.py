import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dispatchers.services import node_credential_issue, node_register
from feed.models import Post
from scheduling.models import ScheduledPost


def pytest_configure(config):
    # Tests render pages without collectstatic; whitenoise warns that STATIC_ROOT is missing.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


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


def in_seconds(seconds: float) -> str:
    return (timezone.now() + timedelta(seconds=seconds)).isoformat()


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
