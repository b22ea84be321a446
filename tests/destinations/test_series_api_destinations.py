"""The series API takes `destinations` on create and update, as the series forms do: checked to
be the caller's own (not disabled), answered in the series' output, and every occurrence the
series publishes is delivered there."""
from datetime import timedelta

import pytest
from django.utils import timezone

from destinations.models import Delivery, Destination, Selection
from destinations.services import destination_set_state
from psched.lib.db import db_now
from scheduling.models import ScheduledPost, Series
from scheduling.output import SeriesOutputSerializer, series_serialize
from scheduling.recurrence import series_next
from scheduling.selectors import series_visible
from scheduling.series import series_create


def chosen(post) -> list[int]:
    return sorted(Selection.objects.filter(scheduled_post=post).values_list("destination_id", flat=True))


def body(**fields) -> dict:
    start = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT08:00")
    return {"text": "daily", "start": start, "timezone": "UTC", "rrule": "FREQ=DAILY;COUNT=3", **fields}


def test_it_creates_a_series_with_destinations_and_answers_them(api, alice, node, webhook):
    webhook(alice, name="blog", is_default=True)
    mirror, _ = webhook(alice, name="mirror")
    response = api(alice).post("/api/series/", body(destinations=[mirror.pk]), format="json")
    assert response.status_code == 201, response.content
    series = response.json()
    assert series["destinations"] == [mirror.pk]
    posts = ScheduledPost.objects.filter(series_id=series["id"])
    assert posts.count() == 3 and all(chosen(post) == [mirror.pk] for post in posts)
    assert api(alice).get(f"/api/series/{series['id']}/").json()["destinations"] == [mirror.pk]
    assert [item["destinations"] for item in api(alice).get("/api/series/").json()] == [[mirror.pk]]


def test_a_series_without_destinations_answers_the_default_set(api, alice, node, webhook):
    blog, _ = webhook(alice, name="blog", is_default=True)
    response = api(alice).post("/api/series/", body(), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["destinations"] == [blog.pk]
    assert all(chosen(post) == [blog.pk] for post in ScheduledPost.objects.filter(series_id=response.json()["id"]))


def test_an_empty_list_sends_to_the_feed_only(api, alice, node, webhook):
    webhook(alice, name="blog", is_default=True)
    response = api(alice).post("/api/series/", body(destinations=[]), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["destinations"] == []
    assert not Selection.objects.exists()


@pytest.mark.parametrize("whose", ["bob's", "unknown", "disabled"])
def test_it_refuses_a_destination_that_is_not_the_callers_own_or_active(api, alice, bob, node, webhook, whose):
    theirs, _ = webhook(bob, name="theirs")
    mine, _ = webhook(alice, name="mine")
    if whose == "disabled":
        Destination.objects.filter(pk=mine.pk).update(state=Destination.State.DISABLED)
    pk = {"bob's": theirs.pk, "unknown": theirs.pk + 1000, "disabled": mine.pk}[whose]
    response = api(alice).post("/api/series/", body(destinations=[pk]), format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {"destinations": [
        f"No destination of yours with id {pk} (or it is disabled); GET /api/destinations/ lists yours."
    ]}
    assert not Series.objects.exists() and not ScheduledPost.objects.exists()


@pytest.mark.parametrize("value", ["1", None, {"id": 1}, ["a"], [True], [[1]], [1.5], [2 ** 70], [-1]])
def test_it_answers_a_malformed_list_with_a_400_naming_destinations(api, alice, node, value):
    response = api(alice).post("/api/series/", body(destinations=value), format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["destinations"]
    assert not Series.objects.exists()


def test_it_refuses_a_text_too_long_for_a_chosen_bluesky_destination(api, alice, node):
    sky = Destination.objects.create(owner=alice, name="sky", kind="bluesky", config={"handle": "alice.test"})
    response = api(alice).post("/api/series/", body(text="word " * 100, destinations=[sky.pk]), format="json")
    assert response.status_code == 400 and "text" in response.json()
    assert not Series.objects.exists()


@pytest.mark.parametrize("how", ["chosen", "default set"])
def test_a_patch_of_the_text_alone_is_checked_against_the_series_bluesky_destination(api, alice, node, how):
    sky = Destination.objects.create(owner=alice, name="sky", kind="bluesky", config={"handle": "alice.test"},
                                     is_default=how == "default set")
    fields = {"destinations": [sky.pk]} if how == "chosen" else {}
    response = api(alice).post("/api/series/", body(**fields), format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    response = api(alice).patch(f"/api/series/{pk}/", {"text": "word " * 100}, format="json")
    assert response.status_code == 400 and "text" in response.json(), response.content
    assert Series.objects.get(pk=pk).text == "daily"
    assert set(ScheduledPost.objects.filter(series_id=pk).values_list("text", flat=True)) == {"daily"}
    response = api(alice).patch(f"/api/series/{pk}/", {"text": "word " * 50}, format="json")
    assert response.status_code == 200, response.content


def test_a_patch_replaces_the_choice_of_the_occurrences_it_governs(api, alice, node, webhook):
    blog, _ = webhook(alice, name="blog", is_default=True)
    mirror, _ = webhook(alice, name="mirror")
    pk = api(alice).post("/api/series/", body(), format="json").json()["id"]
    own = ScheduledPost.objects.filter(series_id=pk).order_by("series_index").first()
    ScheduledPost.objects.filter(pk=own.pk).update(series_detached=True)  # a post of its own: left alone
    versions = dict(ScheduledPost.objects.filter(series_id=pk).values_list("pk", "version"))
    response = api(alice).patch(f"/api/series/{pk}/", {"destinations": [mirror.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["destinations"] == [mirror.pk]
    governed = ScheduledPost.objects.filter(series_id=pk, series_detached=False)
    assert governed.count() == 2 and all(chosen(post) == [mirror.pk] for post in governed)
    assert chosen(own) == [blog.pk]
    # The choice alone changed: the posts keep their times, versions and claims.
    assert dict(ScheduledPost.objects.filter(series_id=pk).values_list("pk", "version")) == versions
    response = api(alice).patch(f"/api/series/{pk}/", {"text": "changed", "destinations": []}, format="json")
    assert response.status_code == 200 and response.json()["destinations"] == []
    governed = ScheduledPost.objects.filter(series_id=pk, series_detached=False)
    assert all(post.text == "changed" and chosen(post) == [] for post in governed)


def test_a_patch_with_a_foreign_destination_changes_nothing(api, alice, bob, node, webhook):
    mirror, _ = webhook(alice, name="mirror")
    theirs, _ = webhook(bob, name="theirs")
    pk = api(alice).post("/api/series/", body(destinations=[mirror.pk]), format="json").json()["id"]
    response = api(alice).patch(f"/api/series/{pk}/", {"text": "changed", "destinations": [theirs.pk]}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["destinations"]
    assert Series.objects.get(pk=pk).text == "daily"
    assert all(chosen(post) == [mirror.pk] for post in ScheduledPost.objects.filter(series_id=pk))
    assert api(alice).patch(f"/api/series/{pk}/", {"destinations": "all"}, format="json").status_code == 400


def test_a_paused_destination_may_be_chosen_and_its_deliveries_wait(api, alice, node, webhook):
    mirror, _ = webhook(alice, name="mirror")
    destination_set_state(destination_id=mirror.pk, owner=alice, state="paused")
    response = api(alice).post("/api/series/", body(destinations=[mirror.pk]), format="json")
    assert response.status_code == 201 and response.json()["destinations"] == [mirror.pk]


def test_the_occurrences_it_publishes_are_delivered_to_the_series_choice(api, alice, node, node_client, webhook,
                                                                          publish_due):
    webhook(alice, name="blog", is_default=True)
    mirror, _ = webhook(alice, name="mirror")
    pk = api(alice).post("/api/series/", body(destinations=[mirror.pk]), format="json").json()["id"]
    assert publish_due(node, node_client).status_code == 201
    published = ScheduledPost.objects.filter(series_id=pk, status="published")
    assert published.count() == 3
    deliveries = Delivery.objects.filter(scheduled_post__in=published)
    assert sorted(deliveries.values_list("destination_id", flat=True)) == [mirror.pk] * 3
    answer = api(alice).get(f"/api/scheduled-posts/{published.first().pk}/").json()
    assert answer["destinations"] == [mirror.pk] and [item["destination"] for item in answer["deliveries"]] == [mirror.pk]


def test_the_output_function_and_the_declared_fields_agree_on_destinations(alice, node, webhook):
    mirror, _ = webhook(alice, name="mirror")
    start = (timezone.now() + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0, tzinfo=None)
    made = series_create(author=alice, text="daily", start=start, timezone_name="UTC", rrule_text="FREQ=DAILY;COUNT=3",
                         extras={"destinations": [mirror.pk]})
    now = db_now()
    series = series_visible(user=alice).get(pk=made.pk)
    output = series_serialize(series, now=now)
    series.next = series_next(series=series, now=now)
    assert output["destinations"] == [mirror.pk] and output == SeriesOutputSerializer(series).data
