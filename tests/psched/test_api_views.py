"""One view per operation behind one URL (psched.lib.api.view_by_method): the schema documents
every operation of each path from its own view, and the URL answers as one resource."""
import pytest
from drf_spectacular.generators import SchemaGenerator

from scheduling.api import ScheduledPostCancelApi, ScheduledPostDetailApi, ScheduledPostUpdateApi


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
    for view, method in ((ScheduledPostDetailApi, "GET"), (ScheduledPostUpdateApi, "PATCH"), (ScheduledPostCancelApi, "DELETE")):
        assert set(view().allowed_methods) - {"OPTIONS"} == {method}


def test_it_answers_an_unknown_api_address_with_a_json_404(client, db, settings):
    settings.DEBUG = False
    response = client.get("/api/scheduled-posts/not-a-number/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert list(response.json()) == ["detail"]
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
