from datetime import datetime, time, timedelta, timezone as dt_timezone

import pytest
from django.utils import timezone

from accounts.services import user_set_timezone
from scheduling.models import QueueSlot, ScheduledPost
from scheduling.queue import queue_next_slot, queue_slots_replace, queued_post_create, slot_instants

UTC = dt_timezone.utc


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def slots(alice, *pairs):
    QueueSlot.objects.bulk_create([QueueSlot(user=alice, weekday=day, time=at) for day, at in pairs])


def test_it_keeps_the_local_time_of_a_slot_across_the_spring_change():
    # Europe/Paris springs forward on Sunday 2025-03-30: 09:00 is 08:00Z before, 07:00Z after.
    found = slot_instants(slots=[(6, time(9))], zone_name="Europe/Paris", after=utc(2025, 3, 22, 12))
    assert [next(found), next(found), next(found)] == [utc(2025, 3, 23, 8), utc(2025, 3, 30, 7), utc(2025, 4, 6, 7)]


def test_it_keeps_the_local_time_of_a_slot_across_the_autumn_change_in_new_york():
    # America/New_York falls back on Sunday 2025-11-02: 09:00 is 13:00Z before, 14:00Z after.
    found = slot_instants(slots=[(0, time(9))], zone_name="America/New_York", after=utc(2025, 10, 27, 14))
    assert [next(found), next(found)] == [utc(2025, 11, 3, 14), utc(2025, 11, 10, 14)]


def test_it_moves_a_slot_in_a_dst_gap_forward_and_takes_the_first_of_a_fold():
    gap = slot_instants(slots=[(6, time(2, 30))], zone_name="Europe/Paris", after=utc(2025, 3, 29))
    assert next(gap) == utc(2025, 3, 30, 1, 30)  # 03:30 CEST: moved forward by the hour skipped
    fold = slot_instants(slots=[(6, time(2, 30))], zone_name="Europe/Paris", after=utc(2025, 10, 25))
    assert next(fold) == utc(2025, 10, 26, 0, 30)  # 02:30 CEST, the first of the two


def test_it_finds_the_next_free_slot_across_a_week_boundary_and_a_dst_change(alice):
    user_set_timezone(user=alice, timezone_name="Europe/Paris")
    slots(alice, (6, time(9)))  # Sundays 09:00
    now = utc(2025, 3, 22, 12)  # Saturday
    ScheduledPost.objects.create(
        author=alice, text="taken", publish_at=utc(2025, 3, 23, 8), due_at=utc(2025, 3, 23, 8), timezone="UTC"
    )
    # Sunday the 21st is held: the next is a week later, after the change, still 09:00 local.
    assert queue_next_slot(user=alice, now=now) == utc(2025, 3, 30, 7)


def test_it_ignores_cancelled_posts_when_looking_for_a_free_slot(alice):
    slots(alice, (6, time(9)))
    now = utc(2025, 3, 22, 12)
    ScheduledPost.objects.create(
        author=alice, text="gone", publish_at=utc(2025, 3, 23, 9), due_at=utc(2025, 3, 23, 9), status="cancelled"
    )
    assert queue_next_slot(user=alice, now=now) == utc(2025, 3, 23, 9)


def test_it_queues_a_post_and_says_which_slot(api, alice, node):
    user_set_timezone(user=alice, timezone_name="Europe/Paris")
    api(alice).put("/api/queue/slots/", [{"weekday": d, "time": "09:00"} for d in range(7)], format="json")
    response = api(alice).post("/api/scheduled-posts/", {"text": "q1", "queue": True}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["queued"] is True and body["status"] == "pending" and body["timezone"] == "Europe/Paris"
    assert body["dispatcher"] == node.name
    local = datetime.fromisoformat(body["publish_at"]).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (9, 0)
    second = api(alice).post("/api/scheduled-posts/", {"text": "q2", "queue": True}, format="json").json()
    assert second["publish_at"] > body["publish_at"]
    assert [item["text"] for item in api(alice).get("/api/queue/").json()] == ["q1", "q2"]


def test_it_refuses_to_queue_without_slots(api, alice):
    response = api(alice).post("/api/scheduled-posts/", {"text": "q1", "queue": True}, format="json")
    assert response.status_code == 400
    assert "queue" in response.json()


def test_it_queues_a_draft(api, alice, node):
    api(alice).put("/api/queue/slots/", [{"weekday": 2, "time": "10:15"}], format="json")
    pk = api(alice).post("/api/scheduled-posts/", {"text": "d", "draft": True}, format="json").json()["id"]
    response = api(alice).patch(f"/api/scheduled-posts/{pk}/", {"queue": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending" and response.json()["queued"] is True
    assert ScheduledPost.objects.get(pk=pk).dispatcher_id == node.pk  # routed as it became pending
    assert datetime.fromisoformat(response.json()["publish_at"]).weekday() in (1, 2)  # Wednesday 10:15 UTC


def test_it_validates_slots_naming_the_field(api, alice):
    response = api(alice).put(
        "/api/queue/slots/", [{"weekday": 7, "time": "09:00"}, {"weekday": 1, "time": "25:00"}, {"weekday": 1, "time": "08:00"}],
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert "weekday" in errors[0] and "time" in errors[1] and errors[2] == {}
    assert api(alice).put("/api/queue/slots/", {"weekday": 1}, format="json").status_code == 400


def test_it_accepts_seconds_in_a_slot_time(api, alice):
    response = api(alice).put("/api/queue/slots/", [{"weekday": 1, "time": "08:00:30"}], format="json")
    assert response.status_code == 200
    assert response.json()["slots"] == [{"weekday": 1, "time": "08:00:30"}]


def test_it_replaces_queued_posts_when_the_slots_change(alice):
    queue_slots_replace(user=alice, slots=[{"weekday": 0, "time": "09:00"}, {"weekday": 1, "time": "09:00"}])
    first = queued_post_create(author=alice, text="first")
    second = queued_post_create(author=alice, text="second")
    queue_slots_replace(user=alice, slots=[{"weekday": 2, "time": "10:00"}])
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.publish_at.weekday() == 2 and first.publish_at.hour == 10
    assert second.publish_at - first.publish_at == timedelta(days=7)
    assert first.due_at == first.publish_at and first.version == 2


def test_it_leaves_claimed_queued_posts_where_they_are(alice):
    queue_slots_replace(user=alice, slots=[{"weekday": 0, "time": "09:00"}])
    post = queued_post_create(author=alice, text="claimed")
    ScheduledPost.objects.filter(pk=post.pk).update(status="publishing")
    queue_slots_replace(user=alice, slots=[{"weekday": 3, "time": "11:00"}])
    assert ScheduledPost.objects.get(pk=post.pk).publish_at == post.publish_at


def test_it_moves_a_queued_post_up_and_shares_one_now(api, alice):
    api(alice).put("/api/queue/slots/", [{"weekday": d, "time": "09:00"} for d in range(7)], format="json")
    ids = [api(alice).post("/api/scheduled-posts/", {"text": t, "queue": True}, format="json").json()["id"] for t in "abc"]
    assert api(alice).post(f"/api/queue/{ids[2]}/move/", {"direction": "up"}, format="json").status_code == 200
    assert [item["text"] for item in api(alice).get("/api/queue/").json()] == ["a", "c", "b"]
    assert api(alice).post(f"/api/queue/{ids[0]}/move/", {"direction": "sideways"}, format="json").status_code == 400
    shared = api(alice).post(f"/api/queue/{ids[0]}/share-now/").json()
    assert shared["queued"] is False
    assert datetime.fromisoformat(shared["publish_at"]) <= timezone.now()
    assert [item["text"] for item in api(alice).get("/api/queue/").json()] == ["c", "b"]


def test_it_hides_another_users_queue(api, alice, bob):
    api(alice).put("/api/queue/slots/", [{"weekday": 1, "time": "09:00"}], format="json")
    pk = api(alice).post("/api/scheduled-posts/", {"text": "a", "queue": True}, format="json").json()["id"]
    assert api(bob).post(f"/api/queue/{pk}/share-now/").status_code == 404
    assert api(bob).get("/api/queue/").json() == []


def test_it_counts_the_slots_before_checking_each_one(api, alice, cpu_budget):
    # 87,381 slots took 8.9 s of CPU when each was checked before the limit was.
    body = [{"weekday": n % 7, "time": f"{n % 24:02d}:{n % 60:02d}"} for n in range(87_381)]
    with cpu_budget(1.5):  # mostly parsing the JSON body
        response = api(alice).put("/api/queue/slots/", body, format="json")
    assert response.status_code == 400
    assert "At most 200 slots" in response.json()["slots"][0]
