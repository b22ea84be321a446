"""Who may do what: authors are always the authenticated user, nodes publish only their own
claims, staff-only pages stay staff-only, session writes need CSRF, and brute force is throttled."""
from datetime import datetime

import pytest
from rest_framework.test import APIClient

from feed.models import Post
from scheduling.models import ScheduledPost


# --- authorship ---------------------------------------------------------------------------

def test_a_post_is_always_by_the_authenticated_user(api, alice, bob):
    response = api(alice).post("/api/posts/", {
        "text": "mine", "author": "bob", "author_id": bob.pk, "user": bob.pk, "id": 4242,
    }, format="json")
    assert response.status_code == 201
    assert response.json()["author"] == "alice"
    assert Post.objects.get().author == alice


def test_a_scheduled_post_is_always_by_the_authenticated_user(api, alice, bob, in_seconds):
    client = api(alice)
    one = client.post("/api/scheduled-posts/", {
        "text": "one", "publish_at": in_seconds(300), "author": "bob", "author_id": bob.pk,
    }, format="json")
    many = client.post("/api/scheduled-posts/", [
        {"text": "two", "publish_at": in_seconds(300), "author": "bob"},
        {"text": "three", "publish_at": in_seconds(300), "author_id": bob.pk},
    ], format="json")
    assert one.status_code == 201 and many.status_code == 201
    patched = client.patch(f"/api/scheduled-posts/{one.json()['id']}/", {"text": "one!", "author": "bob"}, format="json")
    assert patched.status_code == 200
    assert set(ScheduledPost.objects.values_list("author__username", flat=True)) == {"alice"}


# Nodes (a node publishes only its own claims, with the scheduled post's author; its
# credential is revocable): tests/dispatchers/test_publish_callback.py.


# --- staff only ---------------------------------------------------------------------------

def test_only_staff_see_the_dispatcher_dashboard(client, alice, staff):
    assert client.get("/dispatchers/").status_code == 302
    client.force_login(alice)
    assert client.get("/dispatchers/").status_code == 403
    client.force_login(staff)
    assert client.get("/dispatchers/").status_code == 200


def test_only_staff_see_the_dispatchers_api(api, alice, staff):
    assert api().get("/api/dispatchers/").status_code == 401
    assert api(alice).get("/api/dispatchers/").status_code == 403
    assert api(staff).get("/api/dispatchers/").status_code == 200


def test_only_staff_see_other_users_scheduled_posts(api, client, alice, bob, staff, scheduled_post_factory):
    bobs = scheduled_post_factory(bob, text="bob's secret plan")
    scheduled_post_factory(alice, text="alice's")
    as_alice = api(alice)
    assert [p["text"] for p in as_alice.get("/api/scheduled-posts/").json()["results"]] == ["alice's"]
    assert [p["text"] for p in as_alice.get("/api/scheduled-posts/?author=bob").json()["results"]] == ["alice's"]
    assert as_alice.get(f"/api/scheduled-posts/{bobs.pk}/").status_code == 404
    client.force_login(alice)
    assert b"bob&#x27;s secret plan" not in client.get("/scheduled/").content
    as_staff = api(staff)
    assert [p["text"] for p in as_staff.get("/api/scheduled-posts/?author=bob").json()["results"]] == ["bob's secret plan"]
    assert as_staff.get(f"/api/scheduled-posts/{bobs.pk}/").status_code == 200
    # Staff may look, but only the author edits or cancels.
    assert as_staff.patch(f"/api/scheduled-posts/{bobs.pk}/", {"text": "x"}, format="json").status_code == 403
    assert as_staff.delete(f"/api/scheduled-posts/{bobs.pk}/").status_code == 403
    assert ScheduledPost.objects.get(pk=bobs.pk).status == "pending"


def test_each_entity_has_one_access_rule_404_unseen_403_not_yours(api, alice, bob, staff, in_seconds):
    """scheduled_post_get_own and series_get_own: every view that changes a post or a series
    answers 404 to a user who cannot see it and 403 to one who sees it but is not its author
    (staff); staff may retry anyone's failed post."""
    mine = api(alice)
    mine.put("/api/queue/slots/", [{"weekday": day, "time": "09:00"} for day in range(7)], format="json")
    post = mine.post("/api/scheduled-posts/", {"text": "queued", "queue": True}, format="json").json()["id"]
    start = (datetime.fromisoformat(in_seconds(86400).replace("Z", "+00:00"))).replace(tzinfo=None, microsecond=0)
    series = mine.post("/api/series/", {"text": "daily", "start": start.isoformat(), "timezone": "UTC",
                                        "rrule": "FREQ=DAILY;COUNT=5"}, format="json").json()["id"]
    changes = [
        ("patch", f"/api/scheduled-posts/{post}/", {"text": "x"}),
        ("delete", f"/api/scheduled-posts/{post}/", None),
        ("post", f"/api/queue/{post}/move/", {"direction": "down"}),
        ("post", f"/api/queue/{post}/share-now/", None),
        ("patch", f"/api/series/{series}/", {"text": "x"}),
        ("delete", f"/api/series/{series}/", None),
        ("patch", f"/api/series/{series}/occurrences/2/", {"text": "x"}),
        ("delete", f"/api/series/{series}/occurrences/2/", None),
        ("post", f"/api/series/{series}/occurrences/2/restore/", None),
    ]
    for method, path, body in changes:
        assert getattr(api(bob), method)(path, body, format="json").status_code == 404, (method, path)
        refused = getattr(api(staff), method)(path, body, format="json")
        assert refused.status_code == 403 and "Only the author" in refused.json()["detail"], (method, path)
    assert api(bob).post(f"/api/scheduled-posts/{post}/retry/").status_code == 404
    assert api(staff).post(f"/api/scheduled-posts/{post}/retry/").status_code == 409  # seen and allowed; not failed
    assert ScheduledPost.objects.get(pk=post).text == "queued"


# --- CSRF, throttling, headers ------------------------------------------------------------

def test_session_writes_to_the_api_need_the_csrf_token(alice, scheduled_post_factory):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    refused = client.post("/api/posts/", {"text": "forged"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    refused = client.delete(f"/api/scheduled-posts/{scheduled_post_factory(alice).pk}/")
    assert refused.status_code == 403
    token = client.get("/").cookies["csrftoken"].value
    accepted = client.post("/api/posts/", {"text": "real"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201
    assert list(Post.objects.values_list("text", flat=True)) == ["real"]


def test_session_writes_to_pages_need_the_csrf_token(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/", {"text": "forged", "action": "post"}).status_code == 403
    assert not Post.objects.exists()


def test_the_token_endpoint_is_throttled(api, alice, low_rates):
    client = api()
    codes = [client.post("/api/auth/token/", {"username": "alice", "password": f"guess-{i}"}, format="json").status_code
             for i in range(4)]
    assert codes == [400, 400, 400, 429]
    refused = client.post("/api/auth/token/", {"username": "alice", "password": "alice-password-1"}, format="json")
    assert refused.status_code == 429
    assert "Retry-After" in refused


def test_scheduling_is_throttled(api, alice, low_rates, in_seconds):
    client = api(alice)
    codes = [client.post("/api/scheduled-posts/", {"text": f"p{i}", "publish_at": in_seconds(300)}, format="json").status_code
             for i in range(3)]
    assert codes == [201, 201, 429]
    assert ScheduledPost.objects.count() == 2
    assert client.get("/api/scheduled-posts/").status_code == 200  # reading is not throttled


def test_pages_and_the_api_send_security_headers(client, alice):
    for path in ("/", "/api/posts/", "/accounts/login/"):
        response = client.get(path)
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["httponly"]


def test_scheduling_counts_posts_not_requests(api, alice, low_rates, in_seconds):
    client = api(alice)
    bulk = [{"text": f"p{i}", "publish_at": in_seconds(300)} for i in range(3)]
    assert client.post("/api/scheduled-posts/", bulk, format="json").status_code == 429
    assert not ScheduledPost.objects.exists()
    # The refused bulk counted nothing: two single posts still fit the rate, a third does not.
    codes = [client.post("/api/scheduled-posts/", bulk[0], format="json").status_code for _ in range(3)]
    assert codes == [201, 201, 429]


def test_posting_now_is_throttled(api, client, alice, low_rates):
    codes = [api(alice).post("/api/posts/", {"text": f"now {i}"}, format="json").status_code for i in range(3)]
    assert codes == [201, 201, 429]
    client.force_login(alice)
    page = client.post("/", {"text": "one more", "action": "now"})
    assert page.status_code == 429 and "You are posting too fast" in page.content.decode()
    assert Post.objects.count() == 2
