from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from dispatchers.models import DispatcherNode
from scheduling.models import ScheduledPost


def run() -> str:
    out = StringIO()
    call_command("psched_status", stdout=out)
    return out.getvalue()


def test_it_shows_nodes_counts_lateness_and_ticking(alice, node, scheduled_posts_factory):
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now())
    posts = scheduled_posts_factory(alice, 4)
    ScheduledPost.objects.filter(pk=posts[0].pk).update(status="failed")
    ScheduledPost.objects.filter(pk__in=[posts[1].pk, posts[2].pk]).update(
        status="published", published_at=timezone.now(), lateness_ms=120
    )
    screen = run()
    assert "beat:       ticking" in screen
    assert "1 pending, 0 publishing, 1 failed, 2 published" in screen
    assert "2 published, lateness p50 120 ms, p99 120 ms" in screen
    assert "n1" in screen


def test_it_says_beat_is_not_ticking(node):
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now() - timedelta(minutes=5))
    assert "NOT TICKING: no node ticked in the last" in run()
