"""The OpenAPI schema at /api/schema/ and a bounded schemathesis run against a live gunicorn:
whatever the fuzzer sends, no 500, and every documented response matches the schema."""
import subprocess

import pytest

from tests.integration.stack import VENV_BIN, Stack

pytestmark = pytest.mark.integration


def test_the_schema_is_served(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    for path in ("/api/posts/", "/api/scheduled-posts/", "/api/scheduled-posts/{id}/", "/api/auth/token/"):
        assert path.encode() in response.content


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path):
    stack = Stack("schemathesis").start_web_only()
    try:
        status, _ = stack.request("GET", "/api/scheduled-posts/")  # logs alice in: a token
        assert status == 200
        # Through gunicorn too, a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a JSON 413.
        status, body = stack.request("POST", "/api/posts/", {"text": "x" * 2_700_000})
        assert (status, list(body)) == (413, ["detail"]), (status, str(body)[:200])
        result = subprocess.run([
            str(VENV_BIN / "schemathesis"), "run", f"http://127.0.0.1:{stack.web_port}/api/schema/",
            "--header", f"Authorization: Token {stack.tokens['alice']}",
            "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
            "--max-examples", "25", "--seed", "5", "--max-time", "60", "--workers", "2",
            "--request-timeout", "20", "--report-dir", str(tmp_path),
        ], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    finally:
        stack.stop()
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
