"""Password guessing against a real gunicorn with 4 workers: the throttle counters are shared
(Redis, or the database cache), and a new X-Forwarded-For per request is not a new client."""
import re

import pytest
import requests

from stack import Stack

pytestmark = pytest.mark.integration

RATE = 5
GUESSES = 24


@pytest.fixture(params=["redis", "db"])
def web(request):
    """gunicorn with 4 workers; the cache on a private Redis, or in the database."""
    # Per hour: on a loaded machine the 24 guesses may take longer than a minute, and a
    # window that ends during the run lets a few more through.
    env = {"PSCHED_LOGIN_THROTTLE": f"{RATE}/hour", "PSCHED_TOKEN_THROTTLE": f"{RATE}/hour"}
    stack = Stack(f"guess_{request.param}", env=env)
    try:
        if request.param == "redis":
            stack.start_redis()
            stack.extra_env["PSCHED_CACHE_URL"] = f"redis://127.0.0.1:{stack.redis_port}/0"
        stack.start_web_only(workers=4)
        yield stack
    finally:
        stack.stop()


def test_it_answers_429_to_guesses_at_the_token_api_with_varying_x_forwarded_for(web):
    url = f"http://127.0.0.1:{web.web_port}/api/auth/token/"
    codes = [
        requests.post(url, json={"username": "alice", "password": f"guess-{i}"},
                      headers={"X-Forwarded-For": f"198.51.100.{i}"}, timeout=30).status_code
        for i in range(GUESSES)
    ]
    # One counter for the address, whichever of the 4 workers answers.
    assert codes.count(400) == RATE and codes.count(429) == GUESSES - RATE, codes


def test_it_answers_429_to_guesses_at_the_login_page(web):
    session = requests.Session()
    url = f"http://127.0.0.1:{web.web_port}/accounts/login/"
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', session.get(url, timeout=30).text).group(1)
    codes = [
        session.post(url, data={"username": "alice", "password": f"guess-{i}", "csrfmiddlewaretoken": csrf},
                     headers={"X-Forwarded-For": f"198.51.100.{i}", "Referer": url}, timeout=30).status_code
        for i in range(GUESSES)
    ]
    assert codes.count(200) == RATE and codes.count(429) == GUESSES - RATE, codes
