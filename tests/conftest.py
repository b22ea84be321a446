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
    # The embedded test database is a file in var/ (see psched/settings/database.py).
    from django.conf import settings

    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)


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
def fresh_throttles():
    """Throttle counts live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
