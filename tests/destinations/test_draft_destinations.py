"""A draft keeps the destinations it was saved with (the compose form's ticks, the API's
`destinations`, else the default set as it was then): its edit page shows them ticked, and
scheduling or queueing it later sends it there, unless that asks for others."""
from importlib import import_module
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from destinations.models import Delivery, Destination, Selection
from scheduling.models import ScheduledPost
from scheduling.queue import queue_slots_replace
from scheduling.services import draft_create
from tests.dates import NEXT_YEAR


def chosen(post) -> list[int]:
    return sorted(Selection.objects.filter(scheduled_post=post).values_list("destination_id", flat=True))


def every_day(user) -> None:
    queue_slots_replace(user=user, slots=[{"weekday": day, "time": "09:00"} for day in range(7)])


def save_draft(client, text="someday", **fields):
    return client.post("/scheduled/draft/", {"text": text, "publish_at": "", "timezone": "UTC", "action": "draft", **fields})


@pytest.fixture
def hooks(alice, webhook):
    """alice's "blog" (in her default set) and "mirror" (not)."""
    blog, _ = webhook(alice, name="blog", is_default=True)
    mirror, _ = webhook(alice, name="mirror")
    return blog, mirror


def test_save_draft_keeps_the_destinations_ticked(client, alice, hooks):
    blog, mirror = hooks
    client.force_login(alice)
    response = save_draft(client, destinations_shown="1", destinations=[str(mirror.pk)])
    assert response.status_code == 302, response.content.decode()[:2000]
    draft = ScheduledPost.objects.get(author=alice, status="draft")
    assert chosen(draft) == [mirror.pk]
    page = client.get(f"/scheduled/{draft.pk}/edit/").content.decode()
    assert f'value="{mirror.pk}" checked> mirror' in page and f'value="{blog.pk}"> blog' in page
    # The draft's page is a draft's: Schedule, Save draft, Add to queue.
    assert "Edit draft" in page and 'value="draft"' in page and 'value="queue"' in page


def test_a_draft_with_none_ticked_stays_with_the_feed_only(client, alice, hooks, in_seconds, api):
    client.force_login(alice)
    save_draft(client, destinations_shown="1")
    draft = ScheduledPost.objects.get(author=alice, status="draft")
    assert chosen(draft) == []
    assert f'value="{hooks[0].pk}"> blog' in client.get(f"/scheduled/{draft.pk}/edit/").content.decode()
    response = api(alice).patch(f"/api/scheduled-posts/{draft.pk}/", {"publish_at": in_seconds(3600)}, format="json")
    assert response.status_code == 200 and response.json()["destinations"] == [] and chosen(draft) == []


def test_a_form_without_the_picker_keeps_the_default_set(client, alice, hooks):
    client.force_login(alice)
    save_draft(client)
    assert chosen(ScheduledPost.objects.get(author=alice, status="draft")) == [hooks[0].pk]


def test_a_draft_is_scheduled_with_its_choice_not_the_default_set(client, alice, hooks, api, in_seconds):
    blog, mirror = hooks
    client.force_login(alice)
    save_draft(client, destinations_shown="1", destinations=[str(mirror.pk)])
    draft = ScheduledPost.objects.get(author=alice, status="draft")
    # Schedule from its edit page, as it shows the choice (ticked: mirror).
    response = client.post(f"/scheduled/{draft.pk}/edit/", {
        "text": "someday", "publish_at": in_seconds(3600)[:19], "timezone": "UTC", "action": "save",
        "destinations_shown": "1", "destinations": [str(mirror.pk)],
    })
    assert response.status_code == 302
    assert ScheduledPost.objects.get(pk=draft.pk).status == "pending" and chosen(draft) == [mirror.pk]


@pytest.mark.parametrize("how", ["patch", "queue patch", "drafts list"])
def test_scheduling_a_draft_without_naming_destinations_uses_its_choice(client, alice, hooks, api, in_seconds, how):
    blog, mirror = hooks
    every_day(alice)
    draft = draft_create(author=alice, text="someday", extras={"destinations": [mirror.pk]})
    if how == "patch":
        response = api(alice).patch(f"/api/scheduled-posts/{draft.pk}/", {"publish_at": in_seconds(3600)}, format="json")
        assert response.status_code == 200 and response.json()["destinations"] == [mirror.pk]
    elif how == "queue patch":
        response = api(alice).patch(f"/api/scheduled-posts/{draft.pk}/", {"queue": True}, format="json")
        assert response.status_code == 200 and response.json()["destinations"] == [mirror.pk]
    else:  # /scheduled/'s Drafts list: its Add to queue has no picker
        client.force_login(alice)
        response = client.post(f"/scheduled/{draft.pk}/edit/", {"text": "someday", "timezone": "UTC", "action": "queue"})
        assert response.status_code == 302
    assert ScheduledPost.objects.get(pk=draft.pk).status == "pending"
    assert chosen(draft) == [mirror.pk]


def test_a_published_draft_is_delivered_to_its_choice(alice, hooks, api, node, node_client, in_seconds, publish_due):
    blog, mirror = hooks
    created = api(alice).post("/api/scheduled-posts/", {"text": "later", "draft": True, "destinations": [mirror.pk]},
                              format="json")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "draft" and created.json()["destinations"] == [mirror.pk]
    pk = created.json()["id"]
    assert api(alice).get(f"/api/scheduled-posts/{pk}/").json()["destinations"] == [mirror.pk]
    api(alice).patch(f"/api/scheduled-posts/{pk}/", {"publish_at": in_seconds(60)}, format="json")
    assert publish_due(node, node_client).status_code == 201
    assert list(Delivery.objects.values_list("destination_id", flat=True)) == [mirror.pk]


def test_the_draft_api_without_destinations_keeps_the_default_set(alice, hooks, api):
    created = api(alice).post("/api/scheduled-posts/", {"text": "later", "draft": True}, format="json")
    assert created.status_code == 201 and created.json()["destinations"] == [hooks[0].pk]


@pytest.mark.parametrize("value", ["bob's", [99999], "mine", [True], [2 ** 70]])
def test_the_draft_api_refuses_destinations_not_the_callers_own(alice, bob, api, webhook, value):
    theirs, _ = webhook(bob, name="theirs")
    if value == "bob's":
        value = [theirs.pk]
    response = api(alice).post("/api/scheduled-posts/", {"text": "later", "draft": True, "destinations": value}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["destinations"]
    assert not ScheduledPost.objects.exists()


def test_the_draft_api_refuses_a_text_too_long_for_a_chosen_bluesky_destination(alice, api):
    sky = Destination.objects.create(owner=alice, name="sky", kind="bluesky", config={"handle": "alice.test"})
    response = api(alice).post("/api/scheduled-posts/", {"text": "word " * 100, "draft": True, "destinations": [sky.pk]},
                               format="json")
    assert response.status_code == 400 and "text" in response.json()
    assert not ScheduledPost.objects.exists()


def test_the_queue_api_takes_destinations(alice, hooks, api):
    blog, mirror = hooks
    every_day(alice)
    response = api(alice).post("/api/scheduled-posts/", {"text": "queued", "queue": True, "destinations": [mirror.pk]},
                               format="json")
    assert response.status_code == 201, response.content
    assert response.json()["queued"] and response.json()["destinations"] == [mirror.pk]
    assert chosen(ScheduledPost.objects.get(pk=response.json()["id"])) == [mirror.pk]


def test_a_refused_save_draft_keeps_the_ticks_on_the_feed_page(client, alice, hooks):
    blog, mirror = hooks
    client.force_login(alice)
    response = save_draft(client, text="  ", destinations_shown="1", destinations=[str(mirror.pk)])
    page = response.content.decode()
    assert response.status_code == 200 and 'id="compose"' in page
    assert f'value="{mirror.pk}" checked> mirror' in page and f'value="{blog.pk}"> blog' in page


def test_an_imported_draft_gets_the_default_set(alice, hooks, tmp_path, node):
    path = tmp_path / "schedule.csv"
    path.write_text(f"author,text,publish_at,timezone,status\nalice,someday,,,draft\nalice,dated,{NEXT_YEAR}-07-01T09:00:00Z,,\n")
    call_command("import_schedule", str(path), stdout=StringIO(), stderr=StringIO())
    assert chosen(ScheduledPost.objects.get(status="draft")) == [hooks[0].pk]


def test_the_migration_gives_drafts_saved_before_the_default_set(alice, bob, hooks, webhook):
    blog, mirror = hooks
    bobs, _ = webhook(bob, name="bobs", is_default=True)
    old = ScheduledPost.objects.create(author=alice, text="old", status="draft")  # saved before: no choice kept
    kept = draft_create(author=alice, text="kept", extras={"destinations": [mirror.pk]})
    theirs = ScheduledPost.objects.create(author=bob, text="bob's", status="draft")
    migration = import_module("destinations.migrations.0005_drafts_keep_default_set")
    migration.drafts_default_sets(apps, None)
    assert chosen(old) == [blog.pk] and chosen(kept) == [mirror.pk] and chosen(theirs) == [bobs.pk]
