from datetime import timedelta

from django.utils import timezone

from scheduling.models import ScheduledPost
from tests.dates import NEXT_YEAR, dst_fold, dst_gap

GAP = f"{dst_gap():%Y-%m-%dT%H:%M:%S}"


def test_it_schedules_one(api, alice, node, in_seconds):
    response = api(alice).post("/api/scheduled-posts/", {"text": "later", "publish_at": in_seconds(60)}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["dispatcher"] == "n1"
    assert body["author"] == "alice"
    assert body["timezone"] == "UTC"


def test_it_schedules_a_list_all_or_nothing(api, alice, node, in_seconds):
    good = [{"text": f"p{i}", "publish_at": in_seconds(60 + i)} for i in range(3)]
    assert api(alice).post("/api/scheduled-posts/", good, format="json").status_code == 201
    assert ScheduledPost.objects.count() == 3
    bad = good + [{"text": "", "publish_at": in_seconds(60)}]
    response = api(alice).post("/api/scheduled-posts/", bad, format="json")
    assert response.status_code == 400
    assert response.json()[3]["text"]
    assert ScheduledPost.objects.count() == 3


def test_it_refuses_more_than_1000(api, alice, in_seconds):
    items = [{"text": "x", "publish_at": in_seconds(60)}] * 1001
    response = api(alice).post("/api/scheduled-posts/", items, format="json")
    assert response.status_code == 400
    assert "1000" in str(response.json())
    assert not ScheduledPost.objects.exists()


def test_it_takes_a_naive_time_with_a_zone(api, alice):
    response = api(alice).post(
        "/api/scheduled-posts/", {"text": "z", "publish_at": f"{NEXT_YEAR}-07-01T09:00:00", "timezone": "Europe/Paris"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["publish_at"] == f"{NEXT_YEAR}-07-01T07:00:00Z"
    assert response.json()["timezone"] == "Europe/Paris"


def test_it_explains_bad_times(api, alice):
    cases = [
        ({"publish_at": f"{NEXT_YEAR}-01-01T10:00:00"}, "publish_at", "no offset"),
        ({"publish_at": "next tuesday"}, "publish_at", "ISO 8601"),
        ({"publish_at": (timezone.now() - timedelta(minutes=1)).isoformat()}, "publish_at", "in the past"),
        ({"publish_at": f"{NEXT_YEAR}-01-01T10:00:00", "timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
        ({"publish_at": GAP, "timezone": "Europe/Paris"}, "publish_at", "does not exist"),
        ({"publish_at": "2999-01-01T00:00:00Z"}, "publish_at", "five years"),
    ]
    for fields, field, words in cases:
        response = api(alice).post("/api/scheduled-posts/", {"text": "t", **fields}, format="json")
        assert response.status_code == 400, fields
        assert words in " ".join(response.json()[field]), response.json()
    assert not ScheduledPost.objects.exists()


def test_it_lists_own_posts_by_publish_at(api, alice, bob, staff, in_seconds):
    for user, seconds in [(alice, 300), (alice, 100), (bob, 200)]:
        api(user).post("/api/scheduled-posts/", {"text": "x", "publish_at": in_seconds(seconds)}, format="json")
    mine = api(alice).get("/api/scheduled-posts/").json()["results"]
    assert [p["author"] for p in mine] == ["alice", "alice"]
    assert mine[0]["publish_at"] < mine[1]["publish_at"]
    assert len(api(staff).get("/api/scheduled-posts/").json()["results"]) == 3
    assert len(api(staff).get("/api/scheduled-posts/?author=bob").json()["results"]) == 1
    assert api(alice).get("/api/scheduled-posts/?status=bogus").status_code == 400


def test_it_edits_and_cancels_only_own(api, alice, bob, in_seconds):
    created = api(alice).post("/api/scheduled-posts/", {"text": "x", "publish_at": in_seconds(60)}, format="json").json()
    url = f"/api/scheduled-posts/{created['id']}/"
    assert api(bob).get(url).status_code == 404
    assert api(bob).patch(url, {"text": "hijack"}, format="json").status_code == 404
    assert api(bob).delete(url).status_code == 404
    edited = api(alice).patch(url, {"text": "edited"}, format="json")
    assert edited.status_code == 200 and edited.json()["text"] == "edited"
    assert api(alice).patch(url, {"text": ""}, format="json").status_code == 400
    assert api(alice).delete(url).status_code == 204
    assert api(alice).get(url).json()["status"] == "cancelled"
    assert api(alice).patch(url, {"text": "again"}, format="json").status_code == 409


def test_it_refuses_anonymous(api, db, in_seconds):
    assert api().get("/api/scheduled-posts/").status_code == 401
    assert api().post("/api/scheduled-posts/", {"text": "x", "publish_at": in_seconds(60)}, format="json").status_code == 401


def test_it_names_missing_and_mistyped_fields(api, alice, in_seconds):
    items = [{"publish_at": in_seconds(60)}, {"text": "x"}, {"text": 5, "publish_at": in_seconds(60)}, "not an object"]
    response = api(alice).post("/api/scheduled-posts/", items, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "required" in errors[0]["text"][0]
    assert "required" in errors[1]["publish_at"][0]
    assert "string" in errors[2]["text"][0]
    assert errors[3]["non_field_errors"]
    assert not ScheduledPost.objects.exists()


def test_it_inserts_one_post_routed_in_one_query(api, alice, node, in_seconds, django_assert_max_num_queries):
    client = api(alice)
    client.get("/api/scheduled-posts/")  # the token is looked up once per request either way
    # The token, the database clock (the time is checked by it), the active nodes, the INSERT:
    # no routing UPDATE, no transaction around it. Then the clash check: whether the author has
    # series or slots that could reach, and their pending posts around that time.
    with django_assert_max_num_queries(6):
        response = client.post("/api/scheduled-posts/", {"text": "hi", "publish_at": in_seconds(60)}, format="json")
    assert response.status_code == 201
    assert response.json()["dispatcher"] == "n1"
    assert ScheduledPost.objects.get(pk=response.json()["id"]).dispatcher_id == node.pk


def test_it_answers_ids_and_routes_where_bulk_inserts_return_no_ids(api, alice, node, in_seconds, monkeypatch):
    # MySQL 8: Django gets no primary keys back from a multi-row INSERT (MariaDB, SQLite do).
    from django.db import connection

    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    client = api(alice)
    many = client.post("/api/scheduled-posts/", [
        {"text": f"list {i}", "publish_at": in_seconds(60)} for i in range(3)
    ], format="json")
    one = client.post("/api/scheduled-posts/", {"text": "one", "publish_at": in_seconds(60)}, format="json")
    assert many.status_code == one.status_code == 201
    answers = many.json() + [one.json()]
    assert all(answer["id"] and answer["dispatcher"] == "n1" for answer in answers)
    stored = dict(ScheduledPost.objects.values_list("pk", "text"))
    assert {answer["id"]: answer["text"] for answer in answers} == stored
    assert set(ScheduledPost.objects.values_list("dispatcher_id", flat=True)) == {node.pk}


def test_it_shows_authors_a_plain_reason_and_staff_the_detail(api, alice, staff, node, in_seconds):
    created = api(alice).post("/api/scheduled-posts/", {"text": "later", "publish_at": in_seconds(60)}, format="json")
    pk = created.json()["id"]
    internal = "POST http://10.0.3.7:8000/api/posts/ answered 502: <html><title>Bad Gateway</title>"
    ScheduledPost.objects.filter(pk=pk).update(status="failed", attempts=12, last_error=internal)
    for body in (
        api(alice).get(f"/api/scheduled-posts/{pk}/").json(),
        api(alice).get("/api/scheduled-posts/").json()["results"][0],
    ):
        assert body["last_error"].startswith("the feed could not be reached")
        assert "10.0.3.7" not in body["last_error"]
    assert api(staff).get(f"/api/scheduled-posts/{pk}/").json()["last_error"] == internal
    assert api(staff).get("/api/scheduled-posts/").json()["results"][0]["last_error"] == internal


def test_it_refuses_an_offset_in_the_zones_dst_gap(api, alice, node):
    gap = dst_gap("Europe/Paris")
    response = api(alice).post("/api/scheduled-posts/", {
        "text": "x", "publish_at": f"{gap:%Y-%m-%dT%H:%M:%S}+01:00", "timezone": "Europe/Paris",
    }, format="json")
    assert response.status_code == 400
    assert "does not exist in Europe/Paris" in response.json()["publish_at"][0]
    assert not ScheduledPost.objects.exists()


def test_it_refuses_an_offset_that_contradicts_the_zone(api, alice, node):
    response = api(alice).post("/api/scheduled-posts/", {
        "text": "x", "publish_at": f"{NEXT_YEAR}-07-01T09:00:00+09:00", "timezone": "Europe/Paris",
    }, format="json")
    assert response.status_code == 400
    message = response.json()["publish_at"][0]
    assert "offset +09:00 is not a time in Europe/Paris" in message and "UTC+02:00" in message
    assert not ScheduledPost.objects.exists()


def test_it_takes_the_zones_own_offset_and_either_occurrence_of_a_fold(api, alice, node):
    fold, first_utc = dst_fold("Europe/Paris")
    for offset, hours in (("+02:00", 0), ("+01:00", 1)):
        response = api(alice).post("/api/scheduled-posts/", {
            "text": "x", "publish_at": f"{fold:%Y-%m-%dT%H:%M:%S}{offset}", "timezone": "Europe/Paris",
        }, format="json")
        assert response.status_code == 201, response.json()
        post = ScheduledPost.objects.get(pk=response.json()["id"])
        assert (post.publish_at.replace(tzinfo=None), post.timezone) == (first_utc + timedelta(hours=hours), "Europe/Paris")


def test_a_patch_with_an_offset_and_no_zone_keeps_the_posts_zone(api, alice, node):
    created = api(alice).post("/api/scheduled-posts/", {
        "text": "x", "publish_at": f"{NEXT_YEAR}-07-01T09:00:00", "timezone": "Asia/Tokyo",
    }, format="json").json()
    response = api(alice).patch(f"/api/scheduled-posts/{created['id']}/", {"publish_at": f"{NEXT_YEAR}-07-01T01:00:00Z"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["timezone"] == "Asia/Tokyo"
    assert response.json()["publish_at"] == f"{NEXT_YEAR}-07-01T01:00:00Z"
