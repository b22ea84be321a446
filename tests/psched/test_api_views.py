"""One view per operation behind one URL (psched.lib.api.view_by_method): the schema documents
every operation of each path from its own view, and the URL answers as one resource."""
import pytest
from drf_spectacular.generators import SchemaGenerator

from psched import api_urls


def ref(content_or_schema):
    schema = content_or_schema.get("application/json", content_or_schema).get("schema", content_or_schema)
    return schema.get("$ref", "").rsplit("/", 1)[-1] or schema


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_it_documents_every_operation_of_each_path_with_its_own_bodies(schema):
    paths = schema["paths"]
    assert set(paths["/api/posts/"]) == {"get", "post"}
    assert set(paths["/api/scheduled-posts/"]) == {"get", "post"}
    assert set(paths["/api/scheduled-posts/{id}/"]) == {"get", "patch", "delete"}
    posts, scheduled, one = paths["/api/posts/"], paths["/api/scheduled-posts/"], paths["/api/scheduled-posts/{id}/"]
    assert ref(posts["get"]["responses"]["200"]["content"]) == "PaginatedPostOutputList"
    assert ref(posts["post"]["requestBody"]["content"]) == "PostOrClaimsRequest"
    assert ref(posts["post"]["responses"]["201"]["content"]) == "PostOrPosts"
    assert ref(scheduled["get"]["responses"]["200"]["content"]) == "PaginatedScheduledPostOutputList"
    assert ref(scheduled["post"]["requestBody"]["content"]) == "ScheduleOneOrManyRequest"
    assert ref(scheduled["post"]["responses"]["201"]["content"]) == "ScheduledPostOrList"
    assert ref(one["get"]["responses"]["200"]["content"]) == "ScheduledPostOutput"
    assert ref(one["patch"]["requestBody"]["content"]) == "PatchedScheduleUpdateRequest"
    assert ref(one["patch"]["responses"]["200"]["content"]) == "ScheduledPostWritten"  # the post and its clash warnings
    assert {code for code in one["delete"]["responses"] if code < "400"} == {"204"}
    for schema_name in ("PostInputRequest", "ScheduleInputRequest", "PatchedScheduleUpdateRequest"):
        assert schema_name in schema["components"]["schemas"]


def test_it_names_each_operation_in_405_and_options(api, alice, scheduled_post_factory):
    post = scheduled_post_factory(alice)
    client = api(alice)
    response = client.put(f"/api/scheduled-posts/{post.pk}/", {}, format="json")
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}
    assert client.options(f"/api/scheduled-posts/{post.pk}/").status_code == 200
    assert client.head(f"/api/scheduled-posts/{post.pk}/").status_code == 200


def test_it_keeps_one_operation_per_view():
    """Every view behind /api/ serves one HTTP method; a URL with several joins them."""
    checked = 0
    for pattern in api_urls.urlpatterns:
        callback = pattern.callback
        views = getattr(callback, "views_by_method", None) or {None: callback}
        for method, view in views.items():
            if not hasattr(view, "cls") or view.cls.__module__.startswith("drf_spectacular"):
                continue  # the schema and its docs page
            served = set(view.cls().allowed_methods) - {"OPTIONS", "HEAD"}
            assert len(served) == 1 and (method is None or served == {method}), (pattern.pattern, view.cls, served)
            checked += 1
    assert checked >= 25


def test_it_documents_the_planning_operations_each_from_its_view(schema):
    paths = schema["paths"]
    assert set(paths["/api/queue/slots/"]) == {"get", "put"}
    assert set(paths["/api/series/"]) == {"get", "post"}
    assert set(paths["/api/series/{id}/"]) == {"get", "patch", "delete"}
    assert set(paths["/api/series/{id}/occurrences/{index}/"]) == {"patch", "delete"}
    assert ref(paths["/api/queue/slots/"]["put"]["responses"]["200"]["content"]) == "QueueSlotsOutput"
    assert ref(paths["/api/series/"]["post"]["responses"]["201"]["content"]) == "SeriesWritten"
    assert ref(paths["/api/series/{id}/"]["patch"]["responses"]["200"]["content"]) == "SeriesWritten"
    assert {code for code in paths["/api/series/{id}/"]["delete"]["responses"] if code < "400"} == {"204"}


def test_it_sends_a_draft_or_a_queued_post_to_its_own_view(api, alice):
    client = api(alice)
    client.put("/api/queue/slots/", [{"weekday": day, "time": "09:00"} for day in range(7)], format="json")
    draft = client.post("/api/scheduled-posts/", {"text": "later", "draft": True}, format="json")
    queued = client.post("/api/scheduled-posts/", {"text": "next slot", "queue": True}, format="json")
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    assert queued.status_code == 201 and queued.json()["queued"] is True
    both = client.post("/api/scheduled-posts/", {"text": "x", "draft": True, "queue": True}, format="json")
    assert both.status_code == 400 and list(both.json()) == ["queue"]
    neither = client.post("/api/scheduled-posts/", {"text": "x", "draft": "no"}, format="json")
    assert neither.status_code == 400 and list(neither.json()) == ["publish_at"]
    not_a_flag = client.post("/api/scheduled-posts/", {"text": "x", "queue": "maybe"}, format="json")
    assert not_a_flag.status_code == 400 and list(not_a_flag.json()) == ["queue"]


def test_it_answers_an_unknown_api_address_with_a_json_404(client, db, settings):
    settings.DEBUG = False
    response = client.get("/api/scheduled-posts/not-a-number/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert list(response.json()) == ["detail"]
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_it_sends_a_patch_with_queue_to_the_enqueue_view(api, alice, scheduled_post_factory, in_seconds):
    client = api(alice)
    client.put("/api/queue/slots/", [{"weekday": day, "time": "09:00"} for day in range(7)], format="json")
    post = scheduled_post_factory(alice)
    queued = client.patch(f"/api/scheduled-posts/{post.pk}/", {"queue": True}, format="json")
    assert queued.status_code == 200 and queued.json()["queued"] is True
    both = client.patch(f"/api/scheduled-posts/{post.pk}/", {"queue": True, "publish_at": in_seconds(3600)}, format="json")
    assert both.status_code == 400 and list(both.json()) == ["queue"]
    edited = client.patch(f"/api/scheduled-posts/{post.pk}/", {"queue": "no", "text": "edited"}, format="json")
    assert edited.status_code == 200 and edited.json()["text"] == "edited" and edited.json()["queued"] is True
