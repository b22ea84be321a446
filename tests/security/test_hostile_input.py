"""Bad requests against every write endpoint. Each must get a 4xx whose JSON names the
problem (the field, or `detail`), never a 500, and must write nothing."""
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from dispatchers.services import claim_due_posts, node_credential_issue, node_credential_revoke, node_register
from dispatchers.tick import claim_serialize
from feed.models import Post
from scheduling.models import ScheduledPost
from scheduling.publishing import scheduled_posts_publish
from scheduling.services import scheduled_post_create
from tests.dates import NEXT_YEAR, dst_gap

GAP = f"{dst_gap():%Y-%m-%dT%H:%M:%S}"

LIMIT = 500  # PSCHED_MAX_POST_LENGTH
FUTURE = f"{NEXT_YEAR}-07-01T09:00:00Z"
LIST = "/api/scheduled-posts/"
ONE = "/api/scheduled-posts/{pending}/"


def sched(**fields):
    return {"text": "hello", "publish_at": FUTURE, **fields}


def too_big():
    return json.dumps({"text": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})


# (id, auth, method, path, body, status, name in the JSON). A body that is a str is sent raw.
CASES = [
    # POST /api/posts/ as a user
    ("post-malformed-json", "alice", "POST", "/api/posts/", '{"text": ', 400, "detail"),
    ("post-not-an-object", "alice", "POST", "/api/posts/", '"hello"', 400, "detail"),
    ("post-list-from-a-user", "alice", "POST", "/api/posts/", [{"text": "x"}], 400, "detail"),
    ("post-missing-text", "alice", "POST", "/api/posts/", {}, 400, "text"),
    ("post-empty-body", "alice", "POST", "/api/posts/", "", 400, "text"),
    ("post-text-a-number", "alice", "POST", "/api/posts/", {"text": 5}, 400, "text"),
    ("post-text-null", "alice", "POST", "/api/posts/", {"text": None}, 400, "text"),
    ("post-text-a-list", "alice", "POST", "/api/posts/", {"text": ["a"]}, 400, "text"),
    ("post-text-empty", "alice", "POST", "/api/posts/", {"text": ""}, 400, "text"),
    ("post-text-whitespace", "alice", "POST", "/api/posts/", {"text": " \n\t\u3000 "}, 400, "text"),
    ("post-text-too-long", "alice", "POST", "/api/posts/", {"text": "x" * (LIMIT + 1)}, 400, "text"),
    ("post-text-nul", "alice", "POST", "/api/posts/", {"text": "a\u0000b"}, 400, "text"),
    ("post-text-lone-surrogate", "alice", "POST", "/api/posts/", '{"text": "a\\ud800b"}', 400, "text"),
    ("post-too-big", "alice", "POST", "/api/posts/", too_big, 413, "detail"),
    ("post-not-json", "alice", "POST-TEXT", "/api/posts/", "text=hello", 415, "detail"),
    ("post-no-auth", None, "POST", "/api/posts/", {"text": "x"}, 401, "detail"),
    ("post-bad-token", "bad-token", "POST", "/api/posts/", {"text": "x"}, 401, "detail"),
    # POST /api/scheduled-posts/, one
    ("schedule-malformed-json", "alice", "POST", LIST, "{'text': 'x'}", 400, "detail"),
    ("schedule-not-an-object", "alice", "POST", LIST, "42", 400, "detail"),
    ("schedule-missing-publish-at", "alice", "POST", LIST, {"text": "x"}, 400, "publish_at"),
    ("schedule-missing-text", "alice", "POST", LIST, {"publish_at": FUTURE}, 400, "text"),
    ("schedule-text-whitespace", "alice", "POST", LIST, sched(text="   "), 400, "text"),
    ("schedule-text-too-long", "alice", "POST", LIST, sched(text="é" * (LIMIT + 1)), 400, "text"),
    ("schedule-text-nul", "alice", "POST", LIST, sched(text="\u0000"), 400, "text"),
    ("schedule-text-lone-surrogate", "alice", "POST", LIST,
     f'{{"text": "\\udfff", "publish_at": "{NEXT_YEAR}-07-01T09:00:00Z"}}', 400, "text"),
    ("schedule-text-an-object", "alice", "POST", LIST, sched(text={"a": 1}), 400, "text"),
    ("schedule-naive-time", "alice", "POST", LIST, sched(publish_at=f"{NEXT_YEAR}-07-01T09:00:00"), 400, "publish_at"),
    ("schedule-invalid-time", "alice", "POST", LIST, sched(publish_at="tomorrow at nine"), 400, "publish_at"),
    ("schedule-invalid-date", "alice", "POST", LIST, sched(publish_at=f"{NEXT_YEAR}-02-30T09:00:00Z"), 400, "publish_at"),
    ("schedule-time-a-number", "alice", "POST", LIST, sched(publish_at=1924902000), 400, "publish_at"),
    ("schedule-past", "alice", "POST", LIST, sched(publish_at="2001-01-01T00:00:00Z"), 400, "publish_at"),
    ("schedule-far-future", "alice", "POST", LIST, sched(publish_at="9999-12-31T23:59:59Z"), 400, "publish_at"),
    ("schedule-year-10000", "alice", "POST", LIST, sched(publish_at="+10000-01-01T00:00:00Z"), 400, "publish_at"),
    ("schedule-year-1-with-an-offset", "alice", "POST", LIST, sched(publish_at="0001-01-01T00:00:00+14:00"), 400, "publish_at"),
    ("schedule-year-9999-with-an-offset", "alice", "POST", LIST, sched(publish_at="9999-12-31T23:59:59-12:00"), 400, "publish_at"),
    ("schedule-year-1-local", "alice", "POST", LIST,
     sched(publish_at="0001-01-01T00:00:00", timezone="Asia/Tokyo"), 400, "publish_at"),
    ("schedule-zone-not-a-zone", "alice", "POST", LIST, sched(publish_at=f"{NEXT_YEAR}-07-01T09:00:00", timezone="posixrules"), 400, "timezone"),
    ("schedule-unknown-zone", "alice", "POST", LIST,
     sched(publish_at=f"{NEXT_YEAR}-07-01T09:00:00", timezone="Mars/Olympus_Mons"), 400, "timezone"),
    ("schedule-zone-path-traversal", "alice", "POST", LIST,
     sched(publish_at=f"{NEXT_YEAR}-07-01T09:00:00", timezone="../../etc/passwd"), 400, "timezone"),
    ("schedule-zone-nul", "alice", "POST", LIST,
     sched(publish_at=f"{NEXT_YEAR}-07-01T09:00:00", timezone="Europe/Paris\u0000"), 400, "timezone"),
    ("schedule-zone-a-number", "alice", "POST", LIST, sched(timezone=1), 400, "timezone"),
    ("schedule-dst-gap", "alice", "POST", LIST,
     sched(publish_at=GAP, timezone="Europe/Paris"), 400, "publish_at"),
    ("schedule-no-auth", None, "POST", LIST, sched(), 401, "detail"),
    # POST /api/scheduled-posts/, a list: all or nothing
    ("schedule-empty-list", "alice", "POST", LIST, [], 400, "non_field_errors"),
    ("schedule-list-over-1000", "alice", "POST", LIST, [sched(text=f"p{i}") for i in range(1001)], 400, "non_field_errors"),
    ("schedule-list-one-bad-item", "alice", "POST", LIST, [sched(), sched(text=""), sched()], 400, "text"),
    ("schedule-list-bad-time-last", "alice", "POST", LIST, [sched(), sched(publish_at="2001-01-01T00:00:00Z")], 400, "publish_at"),
    ("schedule-list-of-strings", "alice", "POST", LIST, ["hello"], 400, "non_field_errors"),
    ("schedule-list-too-big", "alice", "POST", LIST,
     lambda: json.dumps([sched(text="x" * LIMIT)] * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // LIMIT + 1)), 413, "detail"),
    # PATCH /api/scheduled-posts/{id}/
    ("patch-after-publishing", "alice", "PATCH", "/api/scheduled-posts/{published}/", {"text": "changed"}, 409, "detail"),
    ("patch-another-users-post", "alice", "PATCH", "/api/scheduled-posts/{bobs}/", {"text": "mine now"}, 404, "detail"),
    ("patch-nothing", "alice", "PATCH", ONE, {}, 400, "non_field_errors"),
    ("patch-past", "alice", "PATCH", ONE, {"publish_at": "2001-01-01T00:00:00Z"}, 400, "publish_at"),
    ("patch-zone-without-time", "alice", "PATCH", ONE, {"timezone": "Europe/Paris"}, 400, "publish_at"),
    ("patch-dst-gap", "alice", "PATCH", ONE, {"publish_at": GAP, "timezone": "Europe/Paris"}, 400, "publish_at"),
    ("patch-year-9999-with-an-offset", "alice", "PATCH", ONE, {"publish_at": "9999-12-31T23:59:59-12:00"}, 400, "publish_at"),
    ("patch-text-too-long", "alice", "PATCH", ONE, {"text": "x" * (LIMIT + 1)}, 400, "text"),
    ("patch-text-a-number", "alice", "PATCH", ONE, {"text": 1}, 400, "text"),
    ("patch-malformed-json", "alice", "PATCH", ONE, '{"text": "x"', 400, "detail"),
    ("patch-a-list", "alice", "PATCH", ONE, [{"text": "x"}], 400, "detail"),
    ("patch-no-auth", None, "PATCH", ONE, {"text": "x"}, 401, "detail"),
    # DELETE /api/scheduled-posts/{id}/
    ("delete-after-publishing", "alice", "DELETE", "/api/scheduled-posts/{published}/", None, 409, "detail"),
    ("delete-another-users-post", "alice", "DELETE", "/api/scheduled-posts/{bobs}/", None, 404, "detail"),
    ("delete-no-auth", None, "DELETE", ONE, None, 401, "detail"),
    # POST /api/scheduled-posts/{id}/retry/
    ("retry-not-failed", "alice", "POST", "/api/scheduled-posts/{pending}/retry/", None, 409, "detail"),
    ("retry-another-users-post", "alice", "POST", "/api/scheduled-posts/{bobs}/retry/", None, 404, "detail"),
    ("retry-no-auth", None, "POST", "/api/scheduled-posts/{pending}/retry/", None, 401, "detail"),
    # POST /api/auth/token/
    ("token-malformed-json", None, "POST", "/api/auth/token/", '{"username": "alice",', 400, "detail"),
    ("token-missing-password", None, "POST", "/api/auth/token/", {"username": "alice"}, 400, "password"),
    ("token-wrong-password", None, "POST", "/api/auth/token/", {"username": "alice", "password": "guess"}, 400, "non_field_errors"),
    ("token-password-a-list", None, "POST", "/api/auth/token/", {"username": "alice", "password": ["a"]}, 400, "password"),
    # The node callback, POST /api/posts/ with a node credential
    ("node-wrong-credential", "node-wrong", "POST", "/api/posts/", "{claims}", 403, "detail"),
    ("node-revoked-credential", "node-revoked", "POST", "/api/posts/", "{claims}", 403, "detail"),
    ("node-unknown", "node-unknown", "POST", "/api/posts/", "{claims}", 403, "detail"),
    ("node-malformed-header", "node-malformed", "POST", "/api/posts/", "{claims}", 401, "detail"),
    ("node-another-nodes-claims", "node-other", "POST", "/api/posts/", "{claims}", 403, "error"),
    ("node-stale-claim-token", "node", "POST", "/api/posts/", "{stale_claims}", 409, "error"),
    ("node-an-object", "node", "POST", "/api/posts/", {"text": "as nobody"}, 400, "detail"),
    ("node-empty-list", "node", "POST", "/api/posts/", [], 400, "detail"),
    ("node-over-1000-claims", "node", "POST", "/api/posts/",
     [{"scheduled_post": i, "claim_token": "t", "version": 1} for i in range(1, 1002)], 400, "non_field_errors"),
    ("node-claim-missing-token", "node", "POST", "/api/posts/", [{"scheduled_post": 1, "version": 1}], 400, "claim_token"),
    ("node-claim-token-a-number", "node", "POST", "/api/posts/",
     [{"scheduled_post": 1, "claim_token": 7, "version": 1}], 400, "claim_token"),
]


@pytest.fixture
def world(alice, bob):
    """alice's published, claimed and pending posts, bob's pending post; node n1 holds the claim,
    n2 is another node, n3's credential is revoked."""
    n1, _ = node_register(name="n1")
    n1_secret = node_credential_issue(node=n1)
    later = (timezone.now() + timedelta(minutes=5)).isoformat()
    horizon = timezone.now() + timedelta(days=1)

    def claim():
        return claim_due_posts(node=n1, now=timezone.now(), horizon=horizon, limit=10)

    published = scheduled_post_create(author=alice, text="published", publish_at=later)
    # Published once due: the callback refuses a post before its time.
    ScheduledPost.objects.filter(pk=published.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    scheduled_posts_publish(node=n1, claims=claim())
    scheduled_post_create(author=alice, text="claimed", publish_at=later)
    claims = [claim_serialize(c) for c in claim()]
    pending = scheduled_post_create(author=alice, text="pending", publish_at=later)
    bobs = scheduled_post_create(author=bob, text="bob's", publish_at=later)
    n2, _ = node_register(name="n2")
    n3, _ = node_register(name="n3")
    node_credential_revoke(node=n3)
    return {
        "ids": {"published": published.pk, "pending": pending.pk, "bobs": bobs.pk},
        "claims": claims,
        "stale_claims": [{**claims[0], "claim_token": "0" * 32}],
        "auth": {
            "node": f"Node n1:{n1_secret}",
            "node-wrong": "Node n1:not-the-secret",
            "node-revoked": "Node n3:whatever-it-was",
            "node-unknown": "Node nobody:secret",
            "node-malformed": "Node",
            "node-other": f"Node n2:{node_credential_issue(node=n2)}",
            "bad-token": "Token 0123456789abcdef0123456789abcdef01234567",
        },
    }


def snapshot():
    return (
        list(Post.objects.order_by("pk").values_list("pk", "author_id", "text")),
        list(ScheduledPost.objects.order_by("pk").values_list("pk", "author_id", "text", "publish_at", "status", "version")),
    )


def names(body, key) -> bool:
    if isinstance(body, dict):
        return key in body or any(names(value, key) for value in body.values())
    if isinstance(body, list):
        return any(names(item, key) for item in body)
    return False


@pytest.mark.parametrize("case_id,auth,method,path,body,status,name", CASES, ids=[case[0] for case in CASES])
def test_it_refuses_bad_input_and_writes_nothing(world, api, alice, case_id, auth, method, path, body, status, name):
    client = api(alice) if auth == "alice" else APIClient()
    if auth in world["auth"]:
        client.credentials(HTTP_AUTHORIZATION=world["auth"][auth])
    if callable(body):
        body = body()
    if body in ("{claims}", "{stale_claims}"):
        body = world[body.strip("{}")]
    raw = body if isinstance(body, str) else (None if body is None else json.dumps(body))
    content_type = "text/plain" if method == "POST-TEXT" else "application/json"
    before = snapshot()

    response = client.generic(method.split("-")[0], path.format(**world["ids"]), raw or "", content_type=content_type)

    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    assert names(response.json(), name), response.json()
    assert snapshot() == before


def test_the_table_covers_every_write_endpoint():
    assert len(CASES) >= 40
    covered = {(method.split("-")[0], path.split("{")[0].rstrip("/")) for _, _, method, path, *_ in CASES}
    for endpoint in [("POST", "/api/posts"), ("POST", "/api/scheduled-posts"), ("PATCH", "/api/scheduled-posts"),
                     ("DELETE", "/api/scheduled-posts"), ("POST", "/api/auth/token")]:
        assert endpoint in covered
    assert any(path.endswith("/retry/") for _, _, _, path, *_ in CASES)
