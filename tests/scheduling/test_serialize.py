from datetime import timedelta

from django.utils import timezone

from scheduling.output import ScheduledPostOutputSerializer, scheduled_post_serialize
from scheduling.services import scheduled_post_create


def test_it_gives_the_declared_fields_of_a_pending_post(alice, node):
    post = scheduled_post_create(author=alice, text="later", publish_at=timezone.now() + timedelta(hours=1))
    post.refresh_from_db()
    assert scheduled_post_serialize(post) == ScheduledPostOutputSerializer(post).data
    assert scheduled_post_serialize(post)["post"] is None


def test_it_gives_the_declared_fields_of_a_published_post(alice, published):
    post = published(alice)
    assert scheduled_post_serialize(post) == ScheduledPostOutputSerializer(post).data
    assert scheduled_post_serialize(post)["post"] == post.post.pk
