from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from dispatchers.models import DispatcherNode
from dispatchers.selectors import node_overview, schedule_status
from scheduling.models import ScheduledPost


def run() -> str:
    out = StringIO()
    call_command("psched_status", stdout=out)
    return out.getvalue()


def test_it_shows_nodes_counts_lateness_and_ticking(alice, node, scheduled_posts_factory):
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now(), beat_seen=timezone.now())
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


def test_it_says_beat_is_silent_while_the_nodes_tick_by_themselves(node):
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now(), beat_seen=timezone.now() - timedelta(minutes=5))
    assert "SILENT: the nodes tick by themselves" in run()


def test_it_says_beat_is_not_ticking(node):
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now() - timedelta(minutes=5))
    assert "NOT TICKING: no node ticked in the last" in run()


@pytest.mark.skipif(connection.vendor != "mysql", reason="counts the bytes MariaDB sends (Bytes_sent)")
def test_it_aggregates_the_hour_in_the_database(alice, node):
    now = timezone.now()
    ScheduledPost.objects.bulk_create(
        ScheduledPost(author=alice, text="p", publish_at=now, due_at=now, status="published", dispatcher=node,
                      published_at=now, lateness_ms=100 + i)
        for i in range(3000)
    )
    with connection.cursor() as cursor:
        def bytes_sent():
            cursor.execute("SHOW SESSION STATUS LIKE 'Bytes_sent'")
            return int(cursor.fetchone()[1])

        before = bytes_sent()
        status = schedule_status()
        (overview,) = node_overview()
        sent = bytes_sent() - before
    assert status["published_in_window"] == 3000 and status["lateness_p50_ms"] == 100 + 1500
    assert overview["lateness_p99_ms"] == 100 + 2969 and overview["lateness_max_ms"] == 100 + 2999
    # The hour's 3,000 lateness values once came over to Python (twice); now a few rows do.
    assert sent < 6000
