from datetime import timedelta

from django.utils import timezone

from dispatchers.services import claim_due_posts
from scheduling.models import ScheduledPost
from tests.dates import JANUARY_FIRST


def test_it_saves_a_draft_without_a_time(api, alice):
    response = api(alice).post("/api/scheduled-posts/", {"text": "later", "draft": True}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["publish_at"] is None
    assert body["queued"] is False and body["series"] is None
    row = ScheduledPost.objects.get(pk=body["id"])
    assert row.due_at is None and row.dispatcher is None


def test_it_never_claims_a_draft(api, alice, node):
    api(alice).post("/api/scheduled-posts/", {"text": "later", "draft": True}, format="json")
    now = timezone.now()
    assert claim_due_posts(node=node, now=now, horizon=now + timedelta(days=3650), limit=100) == []


def test_it_validates_a_draft_text(api, alice):
    response = api(alice).post("/api/scheduled-posts/", {"text": "  ", "draft": True}, format="json")
    assert response.status_code == 400
    assert "text" in response.json()


def test_it_refuses_a_draft_with_a_time(api, alice):
    response = api(alice).post(
        "/api/scheduled-posts/", {"text": "x", "draft": True, "publish_at": f"{JANUARY_FIRST}Z"}, format="json"
    )
    assert response.status_code == 400
    assert "publish_at" in response.json()


def test_it_edits_a_draft_and_keeps_it_a_draft(api, alice):
    pk = api(alice).post("/api/scheduled-posts/", {"text": "v1", "draft": True}, format="json").json()["id"]
    response = api(alice).patch(f"/api/scheduled-posts/{pk}/", {"text": "v2"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "draft" and response.json()["text"] == "v2"


def test_it_schedules_a_draft_and_routes_it(api, alice, node):
    pk = api(alice).post("/api/scheduled-posts/", {"text": "v1", "draft": True}, format="json").json()["id"]
    when = (timezone.now() + timedelta(hours=1)).isoformat()
    response = api(alice).patch(f"/api/scheduled-posts/{pk}/", {"publish_at": when}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending"
    assert response.json()["dispatcher"] == node.name
    assert ScheduledPost.objects.get(pk=pk).dispatcher_id == node.pk  # stored, not only answered


def test_it_deletes_a_draft(api, alice):
    pk = api(alice).post("/api/scheduled-posts/", {"text": "v1", "draft": True}, format="json").json()["id"]
    assert api(alice).delete(f"/api/scheduled-posts/{pk}/").status_code == 204
    assert not ScheduledPost.objects.filter(pk=pk).exists()


def test_it_lists_drafts_only_when_asked(api, alice):
    pk = api(alice).post("/api/scheduled-posts/", {"text": "v1", "draft": True}, format="json").json()["id"]
    assert api(alice).get("/api/scheduled-posts/").json()["results"] == []
    drafts = api(alice).get("/api/scheduled-posts/?status=draft").json()["results"]
    assert [item["id"] for item in drafts] == [pk]


def test_it_keeps_the_output_function_and_the_declared_fields_in_step(alice):
    from scheduling.output import ScheduledPostOutputSerializer
    from scheduling.services import draft_create

    draft = draft_create(author=alice, text="x")
    serializer = ScheduledPostOutputSerializer()
    assert list(serializer.to_representation(draft)) == list(serializer.fields)
