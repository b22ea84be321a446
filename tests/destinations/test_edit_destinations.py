"""The edit page carries the post's destinations ("Also send to") while it is not published."""
from destinations.models import Destination, Selection
from scheduling.models import ScheduledPost
from scheduling.queue import queue_slots_replace
from scheduling.services import draft_create


def chosen(post) -> list[int]:
    return sorted(Selection.objects.filter(scheduled_post=post).values_list("destination_id", flat=True))


def form_of(post, **fields) -> dict:
    local = post.publish_at.strftime("%Y-%m-%dT%H:%M:%S")
    return {"text": post.text, "publish_at": local, "timezone": "UTC", "destinations_shown": "1", **fields}


def test_it_shows_the_choice_ticked(client, alice, webhook, scheduled_post_factory):
    blog, _ = webhook(alice, name="<b>blog</b>")
    mirror, _ = webhook(alice, name="mirror")
    post = scheduled_post_factory(alice)
    Selection.objects.create(scheduled_post=post, destination=blog)
    client.force_login(alice)
    page = client.get(f"/scheduled/{post.pk}/edit/").content.decode()
    assert f'value="{blog.pk}" checked> &lt;b&gt;blog&lt;/b&gt;' in page
    assert f'value="{mirror.pk}"> mirror' in page


def test_it_replaces_the_choice(client, alice, webhook, scheduled_post_factory):
    blog, _ = webhook(alice, name="blog")
    mirror, _ = webhook(alice, name="mirror")
    post = scheduled_post_factory(alice)
    Selection.objects.create(scheduled_post=post, destination=blog)
    client.force_login(alice)
    response = client.post(f"/scheduled/{post.pk}/edit/", form_of(post, destinations=[str(mirror.pk)]))
    assert response.status_code == 302
    assert chosen(post) == [mirror.pk]
    client.post(f"/scheduled/{post.pk}/edit/", form_of(post))  # none ticked: just the feed
    assert chosen(post) == []


def test_it_keeps_the_choice_when_the_form_did_not_show_it(client, alice, webhook, scheduled_post_factory):
    blog, _ = webhook(alice, name="blog")
    post = scheduled_post_factory(alice)
    Selection.objects.create(scheduled_post=post, destination=blog)
    client.force_login(alice)
    fields = form_of(post, text="changed")
    del fields["destinations_shown"]
    assert client.post(f"/scheduled/{post.pk}/edit/", fields).status_code == 302
    assert chosen(post) == [blog.pk]


def test_it_refuses_someone_elses_destination(client, alice, bob, webhook, scheduled_post_factory):
    theirs, _ = webhook(bob, name="theirs")
    post = scheduled_post_factory(alice)
    client.force_login(alice)
    response = client.post(f"/scheduled/{post.pk}/edit/", form_of(post, text="changed", destinations=[str(theirs.pk)]))
    assert response.status_code == 200 and "No destination of yours" in response.content.decode()
    post.refresh_from_db()
    assert post.text == "later" and chosen(post) == []


def test_it_saves_a_drafts_choice(client, alice, webhook):
    blog, _ = webhook(alice, name="blog")
    draft = draft_create(author=alice, text="someday")
    client.force_login(alice)
    response = client.post(f"/scheduled/{draft.pk}/edit/", {
        "text": "someday", "publish_at": "", "timezone": "UTC", "action": "draft",
        "destinations_shown": "1", "destinations": [str(blog.pk)],
    })
    assert response.status_code == 302
    assert chosen(draft) == [blog.pk] and ScheduledPost.objects.get(pk=draft.pk).status == "draft"


def test_it_saves_the_choice_of_a_post_added_to_the_queue(client, alice, webhook):
    blog, _ = webhook(alice, name="blog")
    queue_slots_replace(user=alice, slots=[{"weekday": day, "time": "09:00"} for day in range(7)])
    draft = draft_create(author=alice, text="someday")
    client.force_login(alice)
    response = client.post(f"/scheduled/{draft.pk}/edit/", {
        "text": "someday", "publish_at": "", "timezone": "UTC", "action": "queue",
        "destinations_shown": "1", "destinations": [str(blog.pk)],
    })
    assert response.status_code == 302
    queued = ScheduledPost.objects.get(pk=draft.pk)
    assert queued.queued and queued.status == "pending" and chosen(draft) == [blog.pk]


def test_scheduling_a_draft_keeps_the_choice_not_the_default_set(client, alice, webhook, in_seconds):
    blog, _ = webhook(alice, name="blog", is_default=True)
    draft = draft_create(author=alice, text="someday")
    client.force_login(alice)
    response = client.post(f"/scheduled/{draft.pk}/edit/", {
        "text": "someday", "publish_at": in_seconds(3600)[:19], "timezone": "UTC", "action": "save", "destinations_shown": "1",
    })
    assert response.status_code == 302
    assert ScheduledPost.objects.get(pk=draft.pk).status == "pending" and chosen(draft) == []


def test_the_apis_queue_patch_takes_destinations(api, alice, webhook):
    blog, _ = webhook(alice, name="blog")
    queue_slots_replace(user=alice, slots=[{"weekday": day, "time": "09:00"} for day in range(7)])
    draft = draft_create(author=alice, text="someday")
    response = api(alice).patch(f"/api/scheduled-posts/{draft.pk}/", {"queue": True, "destinations": [blog.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["destinations"] == [blog.pk] and chosen(draft) == [blog.pk]


def test_it_refuses_a_queued_text_too_long_for_a_chosen_destination(client, alice, scheduled_post_factory):
    sky = Destination.objects.create(owner=alice, name="sky", kind="bluesky", config={"handle": "alice.test"})
    queue_slots_replace(user=alice, slots=[{"weekday": day, "time": "09:00"} for day in range(7)])
    post = scheduled_post_factory(alice, "word " * 100)
    client.force_login(alice)
    response = client.post(f"/scheduled/{post.pk}/edit/", form_of(post, action="queue", destinations=[str(sky.pk)]))
    assert response.status_code == 200 and "Bluesky takes at most" in response.content.decode()
    post.refresh_from_db()
    assert not post.queued and chosen(post) == []
