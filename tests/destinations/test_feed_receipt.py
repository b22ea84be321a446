"""The feed shows a post's deliveries under its receipt, to its author only."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from destinations.models import Delivery
from feed.models import Post
from scheduling.models import ScheduledPost


@pytest.fixture
def delivered_post(alice, webhook):
    """alice's published post with a failed delivery to her webhook named with markup."""
    hook, _ = webhook(alice, name="<b>hook</b>")
    scheduled = ScheduledPost.objects.create(author=alice, text="x", status="published")
    post = Post.objects.create(author=alice, text="x", scheduled_post=scheduled)
    delivery = Delivery.objects.create(
        post=post, scheduled_post=scheduled, destination=hook, key="msg_feed", state="failed", attempts=8,
        last_status=500, error="The receiver answered <script>500</script>.",
    )
    return delivery


def test_it_shows_the_author_the_deliveries(client, alice, delivered_post):
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert f'id="delivery-{delivered_post.pk}"' in page
    assert "failed" in page and "after 8 attempts" in page and "(last answer 500)" in page
    assert "The receiver answered &lt;script&gt;500&lt;/script&gt;." in page
    assert "&lt;b&gt;hook&lt;/b&gt;" in page and "<b>hook</b>" not in page and "<script>500" not in page


def test_it_shows_them_in_the_live_feed(client, alice, delivered_post):
    client.force_login(alice)
    page = client.get("/feed/new/?after=0").content.decode()
    assert f'id="delivery-{delivered_post.pk}"' in page


def test_it_hides_them_from_others(client, bob, delivered_post):
    assert f"post-{delivered_post.post_id}" in client.get("/").content.decode()
    assert "delivery-" not in client.get("/").content.decode()
    client.force_login(bob)
    page = client.get("/").content.decode()
    assert f"post-{delivered_post.post_id}" in page and "delivery-" not in page


def test_it_reads_the_deliveries_in_one_query(client, alice, delivered_post):
    client.force_login(alice)
    client.get("/")  # caches warmed
    with CaptureQueriesContext(connection) as one:
        client.get("/")
    for _ in range(5):
        scheduled = ScheduledPost.objects.create(author=alice, text="y", status="published")
        Post.objects.create(author=alice, text="y", scheduled_post=scheduled)
    with CaptureQueriesContext(connection) as six:
        client.get("/")
    assert len(six) == len(one)
