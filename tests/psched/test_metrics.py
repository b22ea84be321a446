import time
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from dispatchers.models import DispatcherNode
from dispatchers.services import node_register
from scheduling.models import ScheduledPost


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_it_exposes_counts_lateness_pending_and_tick_duration(client, alice, node, scheduled_posts_factory):
    posts = scheduled_posts_factory(alice, 6)
    now = timezone.now()
    for post, lateness in zip(posts[:4], (30, 80, 700, 4000)):
        ScheduledPost.objects.filter(pk=post.pk).update(status="published", published_at=now, lateness_ms=lateness)
    # Published two hours ago: counted as published, outside the lateness window.
    ScheduledPost.objects.filter(pk=posts[4].pk).update(
        status="published", published_at=now - timedelta(hours=2), lateness_ms=99999
    )
    ScheduledPost.objects.filter(pk=posts[5].pk).update(status="failed")
    scheduled_posts_factory(alice, 2)
    DispatcherNode.objects.filter(pk=node.pk).update(last_tick_ms=37, last_seen=now, clock_offset_ms=-30125)
    node_register(name="n2")

    samples = scrape(client)
    assert samples[("psched_posts_published_total", ())] == 5
    assert samples[("psched_posts_failed", ())] == 1
    assert samples[("psched_scheduled_posts", (("status", "pending"),))] == 2
    bucket = "psched_publish_lateness_milliseconds_bucket"
    assert samples[(bucket, (("le", "50.0"),))] == 1
    assert samples[(bucket, (("le", "100.0"),))] == 2
    assert samples[(bucket, (("le", "1000.0"),))] == 3
    assert samples[(bucket, (("le", "5000.0"),))] == 4
    assert samples[(bucket, (("le", "+Inf"),))] == 4
    assert samples[("psched_publish_lateness_milliseconds_count", ())] == 4
    assert samples[("psched_publish_lateness_milliseconds_sum", ())] == 30 + 80 + 700 + 4000
    assert samples[("psched_node_pending", (("node", "n1"),))] == 2
    assert samples[("psched_node_pending", (("node", "n2"),))] == 0
    assert samples[("psched_node_tick_duration_milliseconds", (("node", "n1"),))] == 37
    assert samples[("psched_node_last_tick_timestamp_seconds", (("node", "n1"),))] == now.timestamp()
    assert samples[("psched_node_active", (("node", "n1"), ("state", "active")))] == 1
    assert samples[("psched_node_clock_offset_seconds", (("node", "n1"),))] == -30.125
    assert ("psched_node_clock_offset_seconds", (("node", "n2"),)) not in samples  # never ticked


def test_it_works_with_an_empty_database(client, db):
    samples = scrape(client)
    assert samples[("psched_posts_published_total", ())] == 0
    assert samples[("psched_publish_lateness_milliseconds_count", ())] == 0


def test_it_serves_counts_from_the_cache_between_refreshes(client, alice, node, settings, scheduled_posts_factory):
    settings.PSCHED_FIGURES_SECONDS = 60
    scheduled_posts_factory(alice, 3)
    scrape(client)
    with CaptureQueriesContext(connection) as queries:
        samples = scrape(client)
    assert samples[("psched_node_pending", (("node", "n1"),))] == 3
    # Every public scrape once counted the whole schedule; now only the nodes' rows are read.
    assert not [query["sql"] for query in queries if "scheduling_scheduledpost" in query["sql"]]


def test_it_refreshes_stale_counts_behind_the_scrape(client, alice, node, settings, transactional_db, scheduled_posts_factory):
    settings.PSCHED_FIGURES_SECONDS = 0.2
    scheduled_posts_factory(alice, 1)
    assert scrape(client)[("psched_node_pending", (("node", "n1"),))] == 1
    scheduled_posts_factory(alice, 2)
    deadline = time.monotonic() + 30
    while scrape(client)[("psched_node_pending", (("node", "n1"),))] != 3:
        assert time.monotonic() < deadline, "the stale count was never refreshed"
        time.sleep(0.05)
