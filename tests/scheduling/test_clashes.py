"""Clash warnings: scheduling succeeds and says what lands within PSCHED_CLASH_MINUTES."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

PARIS = ZoneInfo("Europe/Paris")


def local_in(days, hour=9, minute=0):
    local = (timezone.now().astimezone(PARIS) + timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return local.replace(tzinfo=None).isoformat()


def schedule(client, at, text="a post"):
    response = client.post("/api/scheduled-posts/", {"text": text, "publish_at": at, "timezone": "Europe/Paris"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_it_warns_of_a_pending_post_minutes_away(api, alice, bob, node):
    client = api(alice)
    first = schedule(client, local_in(2, minute=0))
    assert first["warnings"] == []
    schedule(api(bob), local_in(2, minute=1))  # someone else's: no clash
    second = schedule(client, local_in(2, minute=3))
    [warning] = second["warnings"]
    assert warning["code"] == "clash" and warning["kind"] == "post" and warning["scheduled_post"] == first["id"]
    assert "3 minutes" in warning["message"]
    assert schedule(client, local_in(2, minute=20))["warnings"] == []


def test_an_edit_onto_another_post_warns(api, alice, node):
    client = api(alice)
    first = schedule(client, local_in(3))
    second = schedule(client, local_in(3, hour=12))
    response = client.patch(f"/api/scheduled-posts/{second['id']}/", {"publish_at": local_in(3, minute=4), "timezone": "Europe/Paris"},
                            format="json")
    assert response.status_code == 200
    assert [w["scheduled_post"] for w in response.json()["warnings"]] == [first["id"]]


def test_the_window_is_a_setting(api, alice, node, settings):
    settings.PSCHED_CLASH_MINUTES = 0
    client = api(alice)
    schedule(client, local_in(2))
    assert schedule(client, local_in(2, minute=1))["warnings"] == []


def test_series_occurrences_count_made_or_not(api, alice, node):
    client = api(alice)
    body = {"text": "daily", "start": local_in(1), "timezone": "Europe/Paris", "rrule": "FREQ=DAILY;COUNT=30"}
    series = client.post("/api/series/", body, format="json").json()
    near = schedule(client, local_in(2, minute=2))  # occurrence 2 is a post already
    assert [(w["kind"], w["series"], w["series_index"]) for w in near["warnings"]] == [("post", series["id"], 2)]
    far = schedule(client, local_in(20, minute=2))  # occurrence 20: not a post yet
    assert [(w["kind"], w["series"]) for w in far["warnings"]] == [("occurrence", series["id"])]


def test_a_new_series_warns_of_its_clashing_occurrences(api, alice, node):
    client = api(alice)
    post = schedule(client, local_in(1, minute=2))
    body = {"text": "daily", "start": local_in(1), "timezone": "Europe/Paris", "rrule": "FREQ=DAILY;COUNT=3"}
    response = client.post("/api/series/", body, format="json")
    assert response.status_code == 201
    [warning] = response.json()["warnings"]
    assert warning["scheduled_post"] == post["id"] and warning["occurrence"] == 1
    assert warning["message"].startswith("Occurrence 1: ")


def test_free_queue_slots_count(api, alice, node):
    client = api(alice)  # no zone on the profile: the slots are read in UTC
    slot = (timezone.now() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    client.put("/api/queue/slots/", [{"weekday": slot.weekday(), "time": "09:00"}], format="json")
    at = (slot + timedelta(minutes=2)).isoformat()
    post = client.post("/api/scheduled-posts/", {"text": "near a slot", "publish_at": at}, format="json").json()
    assert [w["kind"] for w in post["warnings"]] == ["slot"]
    # Once a queued post holds the slot, it is that post that clashes.
    queued = client.post("/api/scheduled-posts/", {"text": "queued", "queue": True}, format="json").json()
    assert datetime.fromisoformat(queued["publish_at"].replace("Z", "+00:00")) == slot
    assert [(w["kind"], w["scheduled_post"]) for w in queued["warnings"]] == [("post", post["id"])]


def test_the_calendar_marks_both_posts_of_a_clash(client, alice, node):
    from scheduling.services import scheduled_post_create

    first = scheduled_post_create(author=alice, text="one", publish_at=local_in(2), timezone_name="Europe/Paris")
    second = scheduled_post_create(author=alice, text="two", publish_at=local_in(2, minute=4), timezone_name="Europe/Paris")
    alone = scheduled_post_create(author=alice, text="three", publish_at=local_in(2, hour=15), timezone_name="Europe/Paris")
    client.force_login(alice)
    page = client.get(f"/calendar/?view=week&date={local_in(2)[:10]}&tz=Europe/Paris").content.decode()

    def chip(pk):
        at = page.index(f'id="cal-post-{pk}"')
        return page[page.rindex("<li", 0, at):page.index("</li>", at)]

    assert "clash" in chip(first.pk) and "clash" in chip(second.pk)
    assert "clash" not in chip(alone.pk)


def test_the_form_notes_a_clash(client, alice, node):
    client.force_login(alice)
    client.post("/scheduled/new/", {"text": "one", "publish_at": local_in(2), "timezone": "Europe/Paris"})
    response = client.post("/scheduled/new/", {"text": "two", "publish_at": local_in(2, minute=2), "timezone": "Europe/Paris"},
                           follow=True)
    assert "Clash: This post publishes 2 minutes from your scheduled post #" in response.content.decode()


def test_a_crowded_window_answers_the_nearest_and_reads_no_more_of_it(api, alice, node):
    """Thousands of posts at one time (an import) made each new post's answer read 2,000 rows
    of them; one post's answer now reads its nearest few, before and after."""
    from scheduling.clashes import MAX_WARNINGS, clashes_find

    client = api(alice)
    at = local_in(4, hour=10)
    response = client.post("/api/scheduled-posts/", [{"text": f"crowd {i}", "publish_at": at, "timezone": "Europe/Paris"}
                                                     for i in range(3 * MAX_WARNINGS)], format="json")
    assert response.status_code == 201
    before = schedule(client, local_in(4, hour=9, minute=58))
    after = schedule(client, local_in(4, hour=10, minute=1))
    new = schedule(client, local_in(4, hour=10, minute=0))
    found = new["warnings"]
    assert len(found) == MAX_WARNINGS
    assert all("at the same time as" in warning["message"] for warning in found)
    assert {before["id"], after["id"]}.isdisjoint(warning["scheduled_post"] for warning in found)
    # A minute later: the crowd is nearer than the post two minutes before it.
    instant = datetime.fromisoformat(local_in(4, hour=10, minute=1)).replace(tzinfo=PARIS)
    crowd = datetime.fromisoformat(at).replace(tzinfo=PARIS)
    nearest = clashes_find(author=alice, instant=instant, exclude_post_ids=[after["id"]])
    assert len(nearest) == MAX_WARNINGS and {clash.publish_at for clash in nearest} == {crowd}


def test_series_and_slots_count_at_once_though_this_process_keeps_them(api, alice, node, monkeypatch):
    """The clash check keeps each author's series and slots for a second (scheduling.selectors):
    a change made in this process counts for the next post all the same, the copy warm or not."""
    import scheduling.selectors

    monkeypatch.setattr(scheduling.selectors, "CLASH_FACTS_SECONDS", 3600)
    client = api(alice)
    assert schedule(client, local_in(25, hour=6))["warnings"] == []  # the copy: no series, no slots
    body = {"text": "daily", "start": local_in(1), "timezone": "Europe/Paris", "rrule": "FREQ=DAILY;COUNT=30"}
    series = client.post("/api/series/", body, format="json").json()
    far = schedule(client, local_in(20, minute=2))
    assert [(w["kind"], w["series"]) for w in far["warnings"]] == [("occurrence", series["id"])]
    assert client.delete(f"/api/series/{series['id']}/").status_code == 204  # stopped
    assert schedule(client, local_in(21, minute=2))["warnings"] == []
    slot = (timezone.now() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    client.put("/api/queue/slots/", [{"weekday": slot.weekday(), "time": "09:00"}], format="json")
    near_slot = client.post("/api/scheduled-posts/", {"text": "near a slot", "publish_at": (slot + timedelta(minutes=2)).isoformat()},
                            format="json").json()
    assert [w["kind"] for w in near_slot["warnings"]] == ["slot"]
    client.put("/api/queue/slots/", [], format="json")
    gone = client.post("/api/scheduled-posts/", {"text": "no slot", "publish_at": (slot + timedelta(days=7, minutes=3)).isoformat()},
                       format="json").json()
    assert gone["warnings"] == []
