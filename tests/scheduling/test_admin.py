from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from feed.models import Post
from scheduling.models import ScheduledPost
from scheduling.series import series_create
from scheduling.services import scheduled_post_create


def test_it_filters_and_searches(client, admin_user, alice, bob, node, scheduled_post_factory):
    scheduled_post_factory(alice, text="alpha plan")
    scheduled_post_factory(bob, text="beta plan")
    client.force_login(admin_user)
    page = client.get("/admin/scheduling/scheduledpost/", {"status__exact": "pending", "q": "beta"}).content.decode()
    results = page.split('id="result_list"')[1].split("</table>")[0]
    assert "beta plan" in results and "alpha plan" not in results
    assert ">bob<" in results and "alice" not in results
    filters = " ".join(client.get("/admin/scheduling/scheduledpost/").content.decode().split())
    assert "By status" in filters and "By dispatcher" in filters and "By author" in filters


def test_it_cancels_the_selected_posts(client, admin_user, alice, node, published, scheduled_post_factory):
    pending = scheduled_post_factory(alice)
    done = published(alice)
    client.force_login(admin_user)
    page = client.post(
        "/admin/scheduling/scheduledpost/", {"action": "cancel", "_selected_action": [pending.id, done.id]}, follow=True
    ).content.decode()
    assert "1 scheduled post cancelled." in page
    assert "already published; it can no longer be cancelled" in page
    assert ScheduledPost.objects.get(pk=pending.pk).status == "cancelled"
    assert ScheduledPost.objects.get(pk=done.pk).status == "published"


def test_it_retries_the_selected_failed_posts(client, admin_user, alice, node, scheduled_post_factory):
    post = scheduled_post_factory(alice)
    ScheduledPost.objects.filter(pk=post.pk).update(status="failed", attempts=12)
    client.force_login(admin_user)
    page = client.post(
        "/admin/scheduling/scheduledpost/", {"action": "retry", "_selected_action": [post.id]}, follow=True
    ).content.decode()
    assert "1 scheduled post queued again." in page
    assert ScheduledPost.objects.get(pk=post.pk).status == "pending"


def change_form_data(post, **changes) -> dict:
    """What the change form of old sent back: every field, the state machine's included."""
    data = {
        "author": post.author_id, "text": post.text, "timezone": post.timezone,
        "publish_at_0": f"{post.publish_at:%Y-%m-%d}", "publish_at_1": f"{post.publish_at:%H:%M:%S}",
        "status": post.status, "dispatcher": post.dispatcher_id or "", "version": post.version,
        "due_at_0": f"{post.due_at:%Y-%m-%d}", "due_at_1": f"{post.due_at:%H:%M:%S}",
        "attempts": post.attempts, "last_error": post.last_error,
    }
    return {**data, **changes}


def test_it_shows_the_state_fields_read_only(client, admin_user, alice, node, scheduled_post_factory):
    post = scheduled_post_factory(alice)
    client.force_login(admin_user)
    page = client.get(f"/admin/scheduling/scheduledpost/{post.pk}/change/").content.decode()
    for field in ("status", "due_at", "version", "dispatcher", "attempts", "claim_token", "lease_until", "last_error"):
        assert f'name="{field}' not in page, field
    assert 'name="text"' in page and 'name="publish_at_0"' in page and "Publish at (UTC)" in page


def test_saving_a_post_published_meanwhile_does_not_bring_it_back(client, admin_user, alice, node, scheduled_post_factory):
    post = scheduled_post_factory(alice, "before")
    client.force_login(admin_user)
    client.get(f"/admin/scheduling/scheduledpost/{post.pk}/change/")
    # Published while the form was open.
    ScheduledPost.objects.filter(pk=post.pk).update(status="published", published_at=timezone.now())
    Post.objects.create(author=alice, text="before", scheduled_post=post, scheduled_for=post.publish_at, dispatcher=node)
    response = client.post(f"/admin/scheduling/scheduledpost/{post.pk}/change/", change_form_data(post, text="after"))
    assert "This post is published; it can no longer be changed." in response.content.decode()
    post.refresh_from_db()
    assert (post.status, post.text) == ("published", "before")


def test_changing_publish_at_goes_through_the_service(client, admin_user, alice, node, scheduled_post_factory):
    post = scheduled_post_factory(alice)
    later = post.publish_at + timedelta(hours=2)
    client.force_login(admin_user)
    response = client.post(f"/admin/scheduling/scheduledpost/{post.pk}/change/", change_form_data(
        post, publish_at_0=f"{later:%Y-%m-%d}", publish_at_1=f"{later:%H:%M:%S}", status="failed", version=1,
    ))
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.publish_at == post.due_at == later.replace(microsecond=0)
    assert (post.status, post.version) == ("pending", 2)


def test_it_refuses_a_time_in_the_past(client, admin_user, alice, node, scheduled_post_factory):
    post = scheduled_post_factory(alice)
    past = timezone.now() - timedelta(hours=1)
    client.force_login(admin_user)
    response = client.post(f"/admin/scheduling/scheduledpost/{post.pk}/change/", change_form_data(
        post, publish_at_0=f"{past:%Y-%m-%d}", publish_at_1=f"{past:%H:%M:%S}",
    ))
    assert response.status_code == 200 and "is in the past" in response.content.decode()
    assert ScheduledPost.objects.get(pk=post.pk).publish_at == post.publish_at


def test_it_adds_a_post_through_the_service(client, admin_user, alice, node):
    when = timezone.now() + timedelta(hours=3)
    client.force_login(admin_user)
    response = client.post("/admin/scheduling/scheduledpost/add/", {
        "author": alice.pk, "text": "from the admin", "timezone": "Europe/Paris",
        "publish_at_0": f"{when:%Y-%m-%d}", "publish_at_1": f"{when:%H:%M:%S}",
    })
    assert response.status_code == 302
    post = ScheduledPost.objects.get(text="from the admin")
    assert (post.status, post.dispatcher, post.due_at) == ("pending", node, post.publish_at)


def test_the_list_shows_text_utc_and_local_times_under_psched_branding(client, admin_user, alice, node):
    post = scheduled_post_create(author=alice, text="bonjour", publish_at=(timezone.now() + timedelta(hours=1)).astimezone(ZoneInfo("Europe/Paris")).isoformat(),
                                 timezone_name="Europe/Paris")
    client.force_login(admin_user)
    page = client.get("/admin/scheduling/scheduledpost/").content.decode()
    assert "psched administration" in page
    assert "bonjour" in page and "Publish at (UTC)" in page and "Local time in its zone" in page
    local = post.publish_at.astimezone(ZoneInfo("Europe/Paris"))
    assert f"{local:%Y-%m-%d %H:%M:%S %Z}" in page


def test_deleting_goes_through_the_service(client, admin_user, alice, node, scheduled_post_factory):
    post = scheduled_post_factory(alice)
    client.force_login(admin_user)
    response = client.post(f"/admin/scheduling/scheduledpost/{post.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ScheduledPost.objects.filter(pk=post.pk).exists()


def test_deleting_a_series_cancels_its_pending_occurrences(client, admin_user, alice, node):
    start = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT09:00")
    series = series_create(author=alice, text="daily", start=start, timezone_name="UTC", rrule_text="FREQ=DAILY;COUNT=5")
    other = series_create(author=alice, text="kept", start=start, timezone_name="UTC", rrule_text="FREQ=DAILY;COUNT=5")
    occurrences = list(series.occurrences.values_list("pk", flat=True))
    assert occurrences
    client.force_login(admin_user)
    response = client.post(f"/admin/scheduling/series/{series.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert set(ScheduledPost.objects.filter(pk__in=occurrences).values_list("status", flat=True)) == {"cancelled"}
    assert set(other.occurrences.values_list("status", flat=True)) == {"pending"}


def test_deleting_series_from_the_list_cancels_their_pending_occurrences(client, admin_user, alice, node):
    start = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT09:00")
    series = series_create(author=alice, text="daily", start=start, timezone_name="UTC", rrule_text="FREQ=DAILY;COUNT=5")
    occurrences = list(series.occurrences.values_list("pk", flat=True))
    client.force_login(admin_user)
    response = client.post("/admin/scheduling/series/", {
        "action": "delete_selected", "_selected_action": [series.pk], "post": "yes",
    })
    assert response.status_code == 302
    assert set(ScheduledPost.objects.filter(pk__in=occurrences).values_list("status", flat=True)) == {"cancelled"}
