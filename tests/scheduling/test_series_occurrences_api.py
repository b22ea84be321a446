"""PATCH/DELETE /api/series/{id}/occurrences/{index}/ and .../restore/."""
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from scheduling.models import ScheduledPost, Series


def tomorrow_at(hour=9, zone="Europe/Paris"):
    local = (timezone.now().astimezone(ZoneInfo(zone)) + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return local.replace(tzinfo=None).isoformat()


def create(api, user, rrule="FREQ=DAILY;COUNT=10"):
    body = {"text": "daily note", "start": tomorrow_at(), "timezone": "Europe/Paris", "rrule": rrule}
    response = api(user).post("/api/series/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def url(pk, index, tail=""):
    return f"/api/series/{pk}/occurrences/{index}/{tail}"


def occurrence_post(pk, index):
    return ScheduledPost.objects.exclude(status="cancelled").get(series_id=pk, series_index=index)


def test_it_edits_only_this_occurrence(api, alice, node):
    pk = create(api, alice)
    response = api(alice).patch(url(pk, 2), {"text": "only this one", "publish_at": tomorrow_at(hour=11)}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["text"] == "only this one" and body["series"] == pk and body["series_index"] == 2
    post = occurrence_post(pk, 2)
    assert post.series_detached and post.publish_at.astimezone(ZoneInfo("Europe/Paris")).hour == 11
    # The series' text no longer reaches it.
    api(alice).patch(f"/api/series/{pk}/", {"text": "new text"}, format="json")
    assert occurrence_post(pk, 2).text == "only this one"
    assert occurrence_post(pk, 3).text == "new text"
    assert api(alice).get(f"/api/series/{pk}/").json()["detached"] == [2]


def test_it_makes_an_occurrence_not_made_yet_a_post_of_its_own(api, alice, node):
    pk = create(api, alice)
    assert not ScheduledPost.objects.filter(series_id=pk, series_index=9).exists()  # beyond the window
    response = api(alice).patch(url(pk, 9), {"text": "later one"}, format="json")
    assert response.status_code == 200, response.content
    assert occurrence_post(pk, 9).series_detached


def test_it_edits_this_and_the_following_occurrences(api, alice, node):
    pk = create(api, alice)
    response = api(alice).patch(url(pk, 4), {"text": "from here", "publish_at": tomorrow_at(hour=10), "scope": "following"},
                                format="json")
    assert response.status_code == 200, response.content
    new = response.json()
    assert new["continues"] == pk and new["rrule"] == "FREQ=DAILY;COUNT=7" and new["text"] == "from here"
    assert new["next"][0]["local"].endswith("T10:00:00")
    old = Series.objects.get(pk=pk)
    assert old.rrule == "FREQ=DAILY;COUNT=3" and old.active
    assert sorted(ScheduledPost.objects.filter(series_id=pk).exclude(status="cancelled")
                  .values_list("series_index", flat=True)) == [1, 2, 3]


def test_it_skips_and_restores_an_occurrence(api, alice, node):
    pk = create(api, alice)
    post = occurrence_post(pk, 3)
    assert api(alice).delete(url(pk, 3)).status_code == 204
    post.refresh_from_db()
    assert post.status == "cancelled"
    assert api(alice).get(f"/api/series/{pk}/").json()["skipped"] == [3]
    response = api(alice).post(url(pk, 3, "restore/"))
    assert response.status_code == 200, response.content
    assert response.json()["skipped"] == []
    assert occurrence_post(pk, 3).status == "pending"


def test_it_answers_clear_400s(api, alice, node):
    pk = create(api, alice)
    client = api(alice)
    for index in (0, 11, 99999):
        for response in (client.patch(url(pk, index), {"text": "x"}, format="json"), client.delete(url(pk, index))):
            assert response.status_code == 400 and "index" in response.json(), response.content
    client.delete(url(pk, 2))
    assert client.delete(url(pk, 2)).status_code == 400  # already skipped
    assert "index" in client.patch(url(pk, 2), {"text": "x"}, format="json").json()  # skipped
    assert client.post(url(pk, 5, "restore/")).status_code == 400  # not skipped
    ScheduledPost.objects.filter(series_id=pk, series_index=1).update(status="published")
    for response in (client.patch(url(pk, 1), {"text": "x"}, format="json"), client.delete(url(pk, 1))):
        assert response.status_code == 400 and "published" in response.json()["index"][0]
    assert "scope" in client.patch(url(pk, 4), {"text": "x", "scope": "all"}, format="json").json()
    assert "non_field_errors" in client.patch(url(pk, 4), {}, format="json").json()
    assert "publish_at" in client.patch(url(pk, 4), {"publish_at": "2001-01-01T09:00"}, format="json").json()
    assert client.patch(url(pk, 4), ["x"], format="json").status_code == 400


def test_it_validates_ownership(api, alice, bob, node):
    pk = create(api, alice)
    assert api(bob).patch(url(pk, 2), {"text": "x"}, format="json").status_code == 404
    assert api(bob).delete(url(pk, 2)).status_code == 404
    assert api().delete(url(pk, 2)).status_code in (401, 403)


def test_a_post_edited_on_its_own_is_detached(api, alice, node):
    pk = create(api, alice)
    post = occurrence_post(pk, 2)
    response = api(alice).patch(f"/api/scheduled-posts/{post.pk}/", {"text": "mine"}, format="json")
    assert response.status_code == 200
    assert api(alice).get(f"/api/series/{pk}/").json()["detached"] == [2]
    cancelled = occurrence_post(pk, 3)
    api(alice).delete(f"/api/scheduled-posts/{cancelled.pk}/")
    assert api(alice).get(f"/api/series/{pk}/").json()["skipped"] == [3]


def test_an_index_far_along_an_endless_rule_is_a_quick_400(api, alice, node, cpu_budget):
    pk = create(api, alice, rrule="FREQ=HOURLY;BYHOUR=9,15")
    with cpu_budget(1.5):  # one bounded walk, five years of an hourly rule at most
        response = api(alice).delete(url(pk, 10**12))
    assert response.status_code == 400 and "no occurrence" in response.json()["index"][0]
