from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token


def token_reads(queries) -> int:
    return sum("authtoken_token" in query["sql"] for query in queries.captured_queries)


def test_a_token_used_again_within_a_second_is_not_read_again(alice, api, settings):
    settings.PSCHED_TOKEN_CACHE_SECONDS = 60
    client = api(alice)
    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/scheduled-posts/").status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert client.get("/api/scheduled-posts/").status_code == 200
    assert (token_reads(first), token_reads(again)) == (1, 0)


def test_a_deleted_token_or_a_deactivated_user_is_refused_at_once(alice, bob, api, settings):
    settings.PSCHED_TOKEN_CACHE_SECONDS = 60
    client, other = api(alice), api(bob)
    assert client.get("/api/scheduled-posts/").status_code == 200
    assert other.get("/api/scheduled-posts/").status_code == 200
    Token.objects.get(user=alice).delete()
    assert client.get("/api/scheduled-posts/").status_code == 401
    bob.is_active = False
    bob.save()
    answer = other.get("/api/scheduled-posts/")
    assert answer.status_code == 401
    assert "inactive" in answer.json()["detail"]


def test_an_unknown_token_is_refused_every_time(api, db, settings):
    settings.PSCHED_TOKEN_CACHE_SECONDS = 60
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/scheduled-posts/").status_code == 401
        assert token_reads(queries) == 1


def test_with_no_cache_every_request_reads_its_token(alice, api, settings):
    settings.PSCHED_TOKEN_CACHE_SECONDS = 0
    client = api(alice)
    client.get("/api/scheduled-posts/")
    with CaptureQueriesContext(connection) as again:
        assert client.get("/api/scheduled-posts/").status_code == 200
    assert token_reads(again) == 1
