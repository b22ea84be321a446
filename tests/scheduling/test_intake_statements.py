"""The statements one post's intake (POST /api/scheduled-posts/) makes: it runs on every post
scheduled, and each statement more is a round trip more for every one of them (the DRF floor
of docs/benchmarks.md makes two: the token and the INSERT)."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import destinations.services
import dispatchers.services
import psched.lib.db
import scheduling.selectors
from psched.lib.db import db_now


@pytest.fixture
def warm_caches(monkeypatch, settings):
    """The per-process copies a post's intake reads (the client's token, the routable nodes,
    each author's default destinations, the database clock, each author's series and slots for
    the clash check) kept for the test's length: each is read again once a second or so, which
    a slow test machine would count as the post's."""
    settings.PSCHED_TOKEN_CACHE_SECONDS = 3600
    monkeypatch.setattr(dispatchers.services, "ROUTING_NODES_SECONDS", 3600)
    monkeypatch.setattr(destinations.services, "DEFAULT_SETS_SECONDS", 3600)
    monkeypatch.setattr(psched.lib.db, "CLOCK_REREAD_SECONDS", 3600)
    monkeypatch.setattr(scheduling.selectors, "CLASH_FACTS_SECONDS", 3600)


def statements_of(client, body) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/scheduled-posts/", body, format="json")
    assert response.status_code == 201, response.content
    return [query["sql"] for query in queries.captured_queries]


@pytest.mark.parametrize("near", [0, 30], ids=["quiet", "crowded"])
def test_it_schedules_one_post_in_two_statements(transactional_db, api, alice, node, warm_caches, near):
    """The INSERT and the clash check (on MariaDB/MySQL one statement: the nearest posts, and
    the author's series and slots only when this process's copy of them is older than a
    second; SQLite reads the flags apart), as many as the floor's; the client's token was read
    by its request before (accounts.authentication keeps it a second). Whether the window is
    empty or crowded with the author's posts. Outside a test's transaction, as a request runs:
    inside one, the INSERT reads the nodes afresh."""
    client = api(alice)
    at = (db_now() + timedelta(days=3)).replace(microsecond=0).isoformat()
    for n in range(near):
        statements_of(client, {"text": f"near {n}", "publish_at": at})
    statements_of(client, {"text": "warms this process's copies", "publish_at": at, "timezone": "UTC"})
    statements = statements_of(client, {"text": "one more", "publish_at": at})
    expected = 2 if connection.vendor == "mysql" else 3
    assert len(statements) == expected, "\n".join(statements)
    assert statements[0].startswith("INSERT INTO")
    if connection.vendor == "mysql":  # the series and slots come from the copy
        assert "scheduling_series" not in statements[1] and "scheduling_queueslot" not in statements[1], statements[1]
