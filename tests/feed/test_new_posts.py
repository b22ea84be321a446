"""The live feed's poll, /feed/new/: posts rendered with feed/_post.html, and a cursor that
cannot skip a post committed after newer ids were shown."""
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from accounts.services import user_set_timezone
from feed.models import Post
from feed.selectors import LIVE_FEED_OVERLAP
from feed.services import post_create


def cursor_of(html: str) -> int:
    return int(re.search(r'data-cursor="(\d+)"', html).group(1))


def test_it_renders_new_posts_with_the_feeds_markup(client, alice, published):
    published(alice, text="<b>dispatched</b>", late_ms=1250)
    html = client.get("/feed/new/?after=0").content.decode()
    assert 'class="post"' in html and "&lt;b&gt;dispatched&lt;/b&gt;" in html
    assert "Scheduled for" in html and "1.2 s late" in html and "node n1" in html


def test_it_renders_times_in_the_viewers_zone(client, alice):
    # The page's zone, whichever way it was chosen (accounts.middleware), applies to the poll too.
    user_set_timezone(user=alice, timezone_name="Asia/Tokyo")
    client.force_login(alice)
    post = post_create(author=alice, text="hi")
    local = post.published_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{local:%Y-%m-%d %H:%M:%S} JST" in client.get("/feed/new/?after=0").content.decode()


def test_it_sends_a_post_committed_after_a_newer_one_was_shown(client, alice):
    # Two callbacks: the one holding the lower id commits last. The page, drawn in between,
    # shows the higher id; the next poll must still bring the lower one.
    older = post_create(author=alice, text="settled")
    Post.objects.filter(pk=older.pk).update(published_at=timezone.now() - LIVE_FEED_OVERLAP * 2)
    late_id = older.pk + 1
    shown = Post.objects.create(pk=older.pk + 2, author=alice, text="committed first")
    page = client.get("/").content.decode()
    assert "committed first" in page
    cursor = int(re.search(r'id="posts"[^>]*data-cursor="(\d+)"', page).group(1))
    assert older.pk <= cursor < late_id

    Post.objects.create(pk=late_id, author=alice, text="committed last")
    html = client.get(f"/feed/new/?after={cursor}").content.decode()
    assert "committed last" in html and f'id="post-{shown.pk}"' in html
    assert "settled" not in html
    assert cursor_of(html) < late_id  # asked about again until it has settled


def test_it_moves_the_cursor_past_settled_posts_only(client, alice):
    settled = post_create(author=alice, text="old")
    Post.objects.filter(pk=settled.pk).update(published_at=timezone.now() - LIVE_FEED_OVERLAP - timedelta(seconds=5))
    fresh = post_create(author=alice, text="new")
    html = client.get("/feed/new/?after=0").content.decode()
    assert cursor_of(html) == settled.pk
    assert "new" in html and fresh.pk > settled.pk


def test_it_filters_by_author(client, alice, bob):
    post_create(author=alice, text="from alice")
    post_create(author=bob, text="from bob")
    html = client.get("/feed/new/?after=0&author=bob").content.decode()
    assert "from bob" in html and "from alice" not in html


def test_it_refuses_a_bad_cursor(client, db):
    response = client.get("/feed/new/?after=abc")
    assert response.status_code == 400 and b"after" in response.content


def test_it_settles_posts_by_the_database_clock_not_the_web_hosts(client, alice, host_clock_ahead):
    # published_at is the database's clock: a web host running ahead by more than the overlap
    # must not take a post published just now for settled (a lower id committed later would be skipped).
    host_clock_ahead(LIVE_FEED_OVERLAP.total_seconds() + 30)
    post_create(author=alice, text="just now")
    assert cursor_of(client.get("/feed/new/?after=0").content.decode()) == 0
    page = client.get("/").content.decode()
    assert int(re.search(r'id="posts"[^>]*data-cursor="(\d+)"', page).group(1)) == 0
