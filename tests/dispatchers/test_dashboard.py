from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatchers.models import DispatcherNode
from dispatchers.selectors import lateness_histogram, published_per_minute
from scheduling.services import scheduled_post_create


def test_it_is_for_staff_only(client, alice):
    assert client.get("/dispatchers/")["Location"].startswith("/accounts/login/")
    client.force_login(alice)
    response = client.get("/dispatchers/")
    # The site's own 403 page, not the admin's login form.
    assert response.status_code == 403
    page = response.content.decode()
    assert "This page is not for you" in page and "The dispatcher pages are for staff." in page
    assert 'class="brand"' in page


def test_it_shows_each_node_with_its_figures(client, staff, node, published):
    published(staff, late_ms=120)
    published(staff, late_ms=3000)
    client.force_login(staff)
    page = client.get("/dispatchers/").content.decode()
    row = page[page.index('id="node-n1"'):]
    row = row[: row.index("</tr>")]
    assert "state-active" in row and "never" in row
    assert '<td data-label="Published (1 h)">2</td>' in row
    assert "120 ms / 3.0 s" in row
    assert 'href="/dispatchers/n1/state/?state=draining"' in row and 'class="button danger"' in row


def test_it_lists_the_next_due_posts_per_node(client, staff, node):
    when = (timezone.now() + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
    post = scheduled_post_create(author=staff, text="<b>next</b>", publish_at=when, timezone_name="UTC")
    client.force_login(staff)
    page = client.get("/dispatchers/").content.decode()
    section = page[page.index('id="next-due-n1"'):]
    assert f"#{post.id} by staff" in section and "&lt;b&gt;next&lt;/b&gt;" in section


def test_it_draws_the_charts_inline(client, staff, node, published):
    published(staff, late_ms=120)
    client.force_login(staff)
    page = client.get("/dispatchers/").content.decode()
    assert '<svg viewBox="0 0 640 170"' in page and 'id="lateness-histogram"' in page and 'id="published-per-minute"' in page
    assert "<title>100–250 ms late: 1</title>" in page
    assert "http" not in page[page.index("<svg"):page.rindex("</svg>")]


def test_it_shows_that_there_are_no_nodes(client, staff):
    client.force_login(staff)
    assert "No nodes yet." in client.get("/dispatchers/").content.decode()


def test_it_buckets_lateness(node, alice, published):
    for late in (5, 99, 100, 60_000, 61_000):
        published(alice, late_ms=late)
    counts = {bucket["range"]: bucket["count"] for bucket in lateness_histogram()}
    assert counts["<100 ms"] == 2 and counts["100–250 ms"] == 1 and counts["≥1 min"] == 2
    assert sum(counts.values()) == 5


def test_it_counts_published_posts_per_minute(node, alice, published):
    published(alice)
    published(alice)
    minutes = published_per_minute(minutes=60)
    assert len(minutes) == 60
    assert minutes[-1][1] == 2 and sum(count for _, count in minutes) == 2
    assert minutes[-1][0] == timezone.now().replace(second=0, microsecond=0)


def test_it_counts_the_schedule_once_per_refresh(client, staff, node, published, settings):
    settings.PSCHED_FIGURES_SECONDS = 60
    published(staff, late_ms=120)
    client.force_login(staff)
    client.get("/dispatchers/")
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/dispatchers/").content.decode()
    assert 'id="node-n1"' in page and "<title>100–250 ms late: 1</title>" in page
    assert not [query["sql"] for query in queries if "COUNT(" in query["sql"].upper()]


def test_it_shows_each_nodes_clock_offset_and_warns_when_it_is_large(client, staff, node, settings):
    settings.PSCHED_CLOCK_WARN_SECONDS = 2
    DispatcherNode.objects.filter(pk=node.pk).update(last_seen=timezone.now(), clock_offset_ms=-30_000)
    client.force_login(staff)
    page = client.get("/dispatchers/").content.decode()
    row = page[page.index('id="node-n1"'):]
    row = row[: row.index("</tr>")]
    assert "-30.0 s" in row and "30.0 s behind the database" in row
