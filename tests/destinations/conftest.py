from datetime import timedelta

import pytest
from django.utils import timezone

from destinations.services import destination_create
from dispatchers.services import claim_due_posts
from dispatchers.tick import claim_serialize
from scheduling.models import ScheduledPost


@pytest.fixture
def allow_private(settings):
    settings.PSCHED_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def webhook(allow_private):
    """make(owner, name=, url=): a webhook destination and its secret in clear."""

    def make(owner, name="hook", url="http://127.0.0.1:9/hook", **options):
        return destination_create(owner=owner, name=name, kind="webhook", config={"url": url}, **options)

    return make


@pytest.fixture
def publish_due():
    """publish(node, node_client): the node's pending posts made due now, claimed and published
    through the callback (POST /api/posts/), as a tick does; the callback's answer."""

    def publish(node, node_client):
        ScheduledPost.objects.filter(dispatcher=node, status=ScheduledPost.Status.PENDING).update(
            publish_at=timezone.now() - timedelta(seconds=1), due_at=timezone.now() - timedelta(seconds=1)
        )
        claims = claim_due_posts(node=node, now=timezone.now(), horizon=timezone.now() + timedelta(days=1), limit=1000)
        return node_client.post("/api/posts/", [claim_serialize(claim) for claim in claims], format="json")

    return publish
