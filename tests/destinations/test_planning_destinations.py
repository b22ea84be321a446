"""The queue page and the series forms carry destinations ("Also send to"), as the compose form
and the edit page do: a queued post and each occurrence of a series is scheduled with them."""
from datetime import timedelta

from django.utils import timezone

from destinations.models import Destination, Selection
from scheduling.models import ScheduledPost, Series
from scheduling.occurrences import occurrences_update_following
from scheduling.queue import queue_slots_replace
from scheduling.series import series_materialize


def chosen(post) -> list[int]:
    return sorted(Selection.objects.filter(scheduled_post=post).values_list("destination_id", flat=True))


def every_day(user) -> None:
    queue_slots_replace(user=user, slots=[{"weekday": day, "time": "09:00"} for day in range(7)])


def series_form(**fields) -> dict:
    start = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT08:00")
    return {"text": "daily", "start": start, "timezone": "UTC", "repeat": "daily", "end": "count", "count": "3", **fields}


def test_the_queue_page_shows_the_picker_with_the_default_set_ticked(client, alice, webhook):
    blog, _ = webhook(alice, name="blog", is_default=True)
    mirror, _ = webhook(alice, name="mirror")
    client.force_login(alice)
    page = client.get("/queue/").content.decode()
    assert 'id="queue-compose"' in page
    assert f'value="{blog.pk}" checked> blog' in page and f'value="{mirror.pk}"> mirror' in page


def test_the_queue_pages_form_queues_a_post_with_its_choice(client, alice, webhook):
    webhook(alice, name="blog", is_default=True)
    mirror, _ = webhook(alice, name="mirror")
    every_day(alice)
    client.force_login(alice)
    response = client.post("/queue/new/", {
        "text": "queued", "page": "queue", "action": "queue", "destinations_shown": "1", "destinations": [str(mirror.pk)],
    })
    assert response.status_code == 302 and response["Location"] == "/queue/"
    post = ScheduledPost.objects.get(author=alice, text="queued")
    assert post.queued and post.status == "pending" and chosen(post) == [mirror.pk]


def test_the_compose_forms_add_to_queue_keeps_the_choice(client, alice, webhook):
    webhook(alice, name="blog", is_default=True)
    every_day(alice)
    client.force_login(alice)
    response = client.post("/queue/new/", {"text": "no extras", "action": "queue", "destinations_shown": "1"})
    assert response.status_code == 302
    assert chosen(ScheduledPost.objects.get(text="no extras")) == []  # none ticked: the feed only


def test_the_queue_pages_form_shows_its_errors_on_the_queue_page(client, alice, bob, webhook):
    theirs, _ = webhook(bob, name="theirs")
    every_day(alice)
    client.force_login(alice)
    response = client.post("/queue/new/", {
        "text": "queued", "page": "queue", "destinations_shown": "1", "destinations": [str(theirs.pk)],
    })
    page = response.content.decode()
    assert response.status_code == 200 and "No destination of yours" in page and 'id="queue-compose"' in page
    assert not ScheduledPost.objects.filter(author=alice).exists()


def test_a_series_created_with_destinations_gives_them_to_every_occurrence(client, alice, webhook, settings):
    webhook(alice, name="blog", is_default=True)
    mirror, _ = webhook(alice, name="mirror")
    client.force_login(alice)
    assert f'value="{mirror.pk}"> mirror' in client.get("/scheduled/series/new/").content.decode()
    response = client.post("/scheduled/series/new/", series_form(destinations_shown="1", destinations=[str(mirror.pk)]))
    assert response.status_code == 302, response.content.decode()[:2000]
    posts = ScheduledPost.objects.filter(series__author=alice)
    assert posts.count() == 3 and all(chosen(post) == [mirror.pk] for post in posts)


def test_occurrences_made_later_get_the_series_choice_not_the_default_set(client, alice, webhook, settings):
    settings.PSCHED_SERIES_AHEAD_SECONDS = 2 * 86400  # the third occurrence is made by the job, later
    webhook(alice, name="blog", is_default=True)
    mirror, _ = webhook(alice, name="mirror")
    client.force_login(alice)
    client.post("/scheduled/series/new/", series_form(destinations_shown="1", destinations=[str(mirror.pk)]))
    series = Series.objects.get(author=alice)
    assert ScheduledPost.objects.filter(series=series).count() < 3
    series_materialize(series_id=series.pk, now=timezone.now() + timedelta(days=3))
    posts = ScheduledPost.objects.filter(series=series)
    assert posts.count() == 3 and all(chosen(post) == [mirror.pk] for post in posts)


def test_a_series_without_a_choice_gives_its_occurrences_the_default_set(client, alice, webhook):
    blog, _ = webhook(alice, name="blog", is_default=True)
    client.force_login(alice)
    client.post("/scheduled/series/new/", series_form())
    posts = ScheduledPost.objects.filter(series__author=alice)
    assert posts.count() == 3 and all(chosen(post) == [blog.pk] for post in posts)


def test_editing_a_series_choice_changes_the_occurrences_it_governs(client, alice, webhook):
    blog, _ = webhook(alice, name="blog", is_default=True)
    mirror, _ = webhook(alice, name="mirror")
    client.force_login(alice)
    client.post("/scheduled/series/new/", series_form())
    series = Series.objects.get(author=alice)
    page = client.get(f"/scheduled/series/{series.pk}/edit/").content.decode()
    assert f'value="{blog.pk}" checked> blog' in page and f'value="{mirror.pk}"> mirror' in page
    own = ScheduledPost.objects.filter(series=series).order_by("series_index").first()
    ScheduledPost.objects.filter(pk=own.pk).update(series_detached=True)  # a post of its own: left alone
    response = client.post(f"/scheduled/series/{series.pk}/edit/", {
        "text": "daily", "rrule": series.rrule, "destinations_shown": "1", "destinations": [str(mirror.pk)],
    })
    assert response.status_code == 302
    governed = ScheduledPost.objects.filter(series=series, series_detached=False)
    assert governed.count() == 2 and all(chosen(post) == [mirror.pk] for post in governed)
    assert chosen(own) == [blog.pk]
    page = client.get(f"/scheduled/series/{series.pk}/edit/").content.decode()
    assert f'value="{mirror.pk}" checked> mirror' in page and f'value="{blog.pk}"> blog' in page


def test_a_series_choice_is_checked_like_a_posts(client, alice, bob, webhook):
    theirs, _ = webhook(bob, name="theirs")
    sky = Destination.objects.create(owner=alice, name="sky", kind="bluesky", config={"handle": "alice.test"})
    client.force_login(alice)
    page = client.post("/scheduled/series/new/", series_form(destinations_shown="1", destinations=[str(theirs.pk)])).content.decode()
    assert "No destination of yours" in page and not Series.objects.exists()
    page = client.post("/scheduled/series/new/", series_form(
        text="word " * 100, destinations_shown="1", destinations=[str(sky.pk)])).content.decode()
    assert "Bluesky takes at most" in page and not Series.objects.exists()


def test_a_continuing_series_keeps_the_choice(client, alice, webhook):
    webhook(alice, name="blog", is_default=True)
    mirror, _ = webhook(alice, name="mirror")
    client.force_login(alice)
    client.post("/scheduled/series/new/", series_form(destinations_shown="1", destinations=[str(mirror.pk)]))
    series = Series.objects.get(author=alice)
    continuing = occurrences_update_following(series_id=series.pk, index=2, author=alice, text="changed")
    posts = ScheduledPost.objects.filter(series=continuing)
    assert posts.count() == 2 and all(post.text == "changed" and chosen(post) == [mirror.pk] for post in posts)
