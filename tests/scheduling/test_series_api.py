from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from scheduling.models import ScheduledPost, Series
from scheduling.series import series_materialize_due
from tests.dates import JULY_FIRST


def tomorrow_at(hour=9, zone="Europe/Paris"):
    local = (timezone.now().astimezone(ZoneInfo(zone)) + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return local.replace(tzinfo=None).isoformat()


def create(api, user, **fields):
    body = {"text": "weekly note", "start": tomorrow_at(), "timezone": "Europe/Paris", "rrule": "FREQ=DAILY;COUNT=10"}
    body.update(fields)
    return api(user).post("/api/series/", body, format="json")


def test_it_creates_a_series_and_shows_the_next_occurrences(api, alice, node):
    response = create(api, alice, rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=10")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] and body["active"] is True and body["total"] == 10
    assert len(body["next"]) == 5
    for occurrence in body["next"]:
        assert occurrence["local"].endswith("T09:00:00")
        instant = datetime.fromisoformat(occurrence["publish_at"]).astimezone(ZoneInfo("Europe/Paris"))
        assert instant.strftime("%H:%M") == "09:00" and instant.weekday() < 5


def test_it_materializes_the_coming_occurrences_as_routed_posts(api, alice, node):
    pk = create(api, alice).json()["id"]
    posts = ScheduledPost.objects.filter(series_id=pk).order_by("publish_at")
    # Ten daily occurrences from tomorrow: those within the next seven days exist already.
    assert 6 <= posts.count() <= 7
    assert [post.series_index for post in posts] == list(range(1, posts.count() + 1))
    assert all(post.status == "pending" and post.dispatcher_id == node.pk for post in posts)
    listed = api(alice).get("/api/scheduled-posts/").json()["results"]
    assert listed[0]["series"] == pk and listed[0]["series_index"] == 1


def test_it_materializes_later_occurrences_from_the_periodic_job(api, alice):
    pk = create(api, alice).json()["id"]
    assert series_materialize_due(now=timezone.now() + timedelta(days=5)) >= 3
    assert ScheduledPost.objects.filter(series_id=pk).count() == 10
    assert series_materialize_due(now=timezone.now() + timedelta(days=5)) == 0  # idempotent
    assert Series.objects.get(pk=pk).materialized_until > timezone.now() + timedelta(days=365)  # ended: not looked at


def test_it_refuses_bad_rules_naming_rrule(api, alice):
    for rule in ("FREQ=NEVER", "FREQ=HOURLY;BYMINUTE=0,15", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31"):
        response = create(api, alice, rrule=rule)
        assert response.status_code == 400, rule
        assert "rrule" in response.json()
    assert Series.objects.count() == 0


def test_it_refuses_an_offset_in_start_and_an_unknown_zone(api, alice):
    response = create(api, alice, start=f"{JULY_FIRST}+02:00", timezone="Mars/Olympus")
    assert response.status_code == 400
    assert set(response.json()) >= {"timezone"}
    response = create(api, alice, start=f"{JULY_FIRST}+02:00")
    assert "start" in response.json()


def test_it_applies_a_new_text_to_occurrences_not_yet_published(api, alice, published):
    pk = create(api, alice).json()["id"]
    first = ScheduledPost.objects.filter(series_id=pk).order_by("publish_at").first()
    ScheduledPost.objects.filter(pk=first.pk).update(status="published")
    response = api(alice).patch(f"/api/series/{pk}/", {"text": "new text"}, format="json")
    assert response.status_code == 200, response.content
    texts = dict(ScheduledPost.objects.filter(series_id=pk).values_list("pk", "text"))
    assert texts.pop(first.pk) == "weekly note"
    assert set(texts.values()) == {"new text"}


def test_it_replaces_pending_occurrences_when_the_rule_changes(api, alice):
    pk = create(api, alice).json()["id"]
    response = api(alice).patch(f"/api/series/{pk}/", {"rrule": "FREQ=DAILY;INTERVAL=2;COUNT=3"}, format="json")
    assert response.status_code == 200, response.content
    pending = ScheduledPost.objects.filter(series_id=pk, status="pending").order_by("publish_at")
    assert [post.series_index for post in pending] == [1, 2, 3]
    assert pending[1].publish_at - pending[0].publish_at == timedelta(days=2)
    assert ScheduledPost.objects.filter(series_id=pk, status="cancelled").count() >= 6
    assert api(alice).patch(f"/api/series/{pk}/", {"rrule": "FREQ=BAD"}, format="json").status_code == 400


def test_it_stops_a_series_and_cancels_its_pending_occurrences(api, alice):
    pk = create(api, alice).json()["id"]
    assert api(alice).delete(f"/api/series/{pk}/").status_code == 204
    assert not ScheduledPost.objects.filter(series_id=pk).exclude(status="cancelled").exists()
    body = api(alice).get(f"/api/series/{pk}/").json()
    assert body["active"] is False and body["next"] == []
    assert api(alice).patch(f"/api/series/{pk}/", {"text": "x"}, format="json").status_code == 409


def test_it_edits_or_cancels_one_occurrence_on_its_own(api, alice):
    pk = create(api, alice).json()["id"]
    one, two = ScheduledPost.objects.filter(series_id=pk).order_by("publish_at")[:2]
    assert api(alice).patch(f"/api/scheduled-posts/{one.pk}/", {"text": "just this"}, format="json").status_code == 200
    assert api(alice).delete(f"/api/scheduled-posts/{two.pk}/").status_code == 204
    statuses = dict(ScheduledPost.objects.filter(series_id=pk).values_list("series_index", "status"))
    assert statuses[1] == "pending" and statuses[2] == "cancelled" and statuses[3] == "pending"
    assert ScheduledPost.objects.get(pk=one.pk).text == "just this"


def test_it_keeps_series_to_their_author(api, alice, bob):
    pk = create(api, alice).json()["id"]
    assert api(bob).get(f"/api/series/{pk}/").status_code == 404
    assert api(bob).delete(f"/api/series/{pk}/").status_code == 404
    assert api(bob).get("/api/series/").json() == []
    assert [item["id"] for item in api(alice).get("/api/series/").json()] == [pk]


def test_it_keeps_the_series_output_and_the_declared_fields_in_step(api, alice):
    from scheduling.output import OccurrenceSerializer, SeriesOutputSerializer, SeriesWrittenSerializer

    body = create(api, alice).json()
    assert list(body) == list(SeriesWrittenSerializer().fields)  # a write also answers its clash warnings
    assert list(api(alice).get(f"/api/series/{body['id']}/").json()) == list(SeriesOutputSerializer().fields)
    assert list(body["next"][0]) == list(OccurrenceSerializer().fields)
