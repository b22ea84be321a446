import pytest

from destinations.models import Delivery, Destination
from feed.models import Post
from scheduling.models import ScheduledPost


@pytest.fixture
def logged_in(client, alice):
    client.force_login(alice)
    return client


def test_it_adds_a_webhook_and_shows_the_secret_once(logged_in, allow_private):
    page = logged_in.post("/destinations/new/", {"name": "blog", "url": "http://127.0.0.1:9/x"})
    assert page.status_code == 200
    secret = page.context["secret"]
    assert secret.startswith("whsec_") and secret in page.content.decode()
    again = logged_in.get("/destinations/").content.decode()
    assert "blog" in again and secret not in again


def test_it_explains_a_refused_url(logged_in, settings):
    settings.PSCHED_WEBHOOK_ALLOW_PRIVATE = False
    page = logged_in.post("/destinations/new/", {"name": "blog", "url": "https://127.0.0.1/x"})
    assert page.status_code == 400
    assert "loopback" in page.content.decode()
    assert not Destination.objects.exists()


def test_it_pauses_resumes_rotates_and_removes(logged_in, alice, webhook):
    hook, secret = webhook(alice)
    logged_in.post(f"/destinations/{hook.pk}/pause/")
    assert Destination.objects.get().state == "paused"
    logged_in.post(f"/destinations/{hook.pk}/resume/")
    assert Destination.objects.get().state == "active"
    page = logged_in.post(f"/destinations/{hook.pk}/rotate/")
    assert page.context["secret"] != secret
    logged_in.post(f"/destinations/{hook.pk}/remove/")
    assert not Destination.objects.exists()


def test_it_keeps_others_destinations_out_of_reach(client, bob, alice, webhook):
    hook, _ = webhook(alice)
    client.force_login(bob)
    client.post(f"/destinations/{hook.pk}/remove/")
    assert Destination.objects.exists()
    assert f"destination-{hook.pk}" not in client.get("/destinations/").content.decode()


def test_scheduled_shows_deliveries_and_the_nav_a_notice(logged_in, alice, webhook):
    hook, _ = webhook(alice)
    scheduled = ScheduledPost.objects.create(author=alice, text="x", status="published")
    post = Post.objects.create(author=alice, text="x", scheduled_post=scheduled)
    delivery = Delivery.objects.create(post=post, scheduled_post=scheduled, destination=hook, key="msg_p", state="failed",
                                       attempts=8, error="The receiver answered 500.")
    page = logged_in.get("/scheduled/").content.decode()
    assert f'id="delivery-{delivery.pk}"' in page and "The receiver answered 500." in page
    assert "1 failed" in page
    logged_in.post(f"/deliveries/{delivery.pk}/retry/")
    assert Delivery.objects.get().state == "pending"


def test_the_compose_form_sends_to_the_destinations_ticked(logged_in, alice, webhook):
    from datetime import timedelta

    from django.utils import timezone

    from destinations.models import Selection

    hook, _ = webhook(alice, is_default=True)
    other, _ = webhook(alice, name="other")
    page = logged_in.get("/").content.decode()
    assert f'name="destinations" value="{hook.pk}" checked' in page and f'value="{other.pk}">' in page
    when = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    answer = logged_in.post("/scheduled/new/", {
        "text": "hello", "publish_at": when, "timezone": "UTC", "action": "schedule",
        "destinations_shown": "1", "destinations": [str(other.pk)],
    })
    assert answer.status_code == 302
    assert list(Selection.objects.values_list("destination_id", flat=True)) == [other.pk]
