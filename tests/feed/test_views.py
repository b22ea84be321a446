from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services import user_set_timezone
from feed.models import Post
from feed.services import post_create
def test_it_shows_the_feed_newest_first(client, alice):
    post_create(author=alice, text="first")
    post_create(author=alice, text="second")
    page = client.get("/").content.decode()
    assert page.index("second") < page.index("first")


def test_it_escapes_post_text(client, alice):
    post_create(author=alice, text="<script>alert(1)</script>")
    page = client.get("/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_it_posts_now_and_redirects(client, alice):
    client.force_login(alice)
    response = client.post("/", {"text": "  hello  ", "action": "now"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert Post.objects.get().text == "hello"
    assert "Posted." in client.get("/").content.decode()


def test_it_shows_a_text_error_inline(client, alice):
    client.force_login(alice)
    response = client.post("/", {"text": "   ", "action": "now"})
    assert response.status_code == 200
    assert response.context["form"].errors["text"] == ["Write something: the text is empty."]
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Post.objects.exists()


def test_it_refuses_text_over_the_limit(client, alice, settings):
    client.force_login(alice)
    response = client.post("/", {"text": "x" * 501, "action": "now"})
    assert "the limit is 500" in response.context["form"].errors["text"][0]



def test_it_prefills_the_zone_from_the_profile(client, alice):
    user_set_timezone(user=alice, timezone_name="America/New_York")
    client.force_login(alice)
    assert 'value="America/New_York"' in client.get("/").content.decode()


def test_it_sends_anonymous_posts_to_the_login_page(client, db):
    response = client.post("/", {"text": "hi", "action": "now"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Post.objects.exists()


def test_it_requires_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/", {"text": "hi", "action": "now"}).status_code == 403


def test_it_pages_older_posts_by_cursor(client, alice):
    posts = [post_create(author=alice, text=f"post number {n}") for n in range(25)]
    first = client.get("/")
    assert first.context["older"] == posts[5].id
    assert f'href="?before={posts[5].id}"' in first.content.decode()
    older = client.get(f"/?before={posts[5].id}").content.decode()
    assert "post number 4" in older and "post number 5" not in older


def test_it_filters_by_author(client, alice, bob):
    post_create(author=alice, text="from alice")
    post_create(author=bob, text="from bob")
    page = client.get("/?author=bob").content.decode()
    assert "from bob" in page and "from alice" not in page
    assert "Posts by bob" in page


def test_it_shows_a_receipt_for_a_dispatched_post(client, alice, published):
    published(alice, text="on time", late_ms=1250)
    page = client.get("/").content.decode()
    assert "Scheduled for" in page and "1.2 s late" in page and "node n1" in page


def test_it_shows_times_in_the_viewers_zone(client, alice):
    post = post_create(author=alice, text="hi")
    user_set_timezone(user=alice, timezone_name="Asia/Tokyo")
    client.force_login(alice)
    local = post.published_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{local:%Y-%m-%d %H:%M:%S} JST" in client.get("/").content.decode()


@pytest.mark.parametrize("before", ["abc", "0", "-3"])
def test_it_ignores_a_bad_cursor(client, alice, before):
    post_create(author=alice, text="still here")
    assert "still here" in client.get(f"/?before={before}").content.decode()
