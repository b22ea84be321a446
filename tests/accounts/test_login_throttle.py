"""Password guessing: every login path is throttled per client address (X-Forwarded-For is
believed only behind PSCHED_NUM_PROXIES proxies) and per username that failed too often."""
import os
import threading
import uuid

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client


def guess(client, path, i, **extra):
    if path == "/api/auth/token/":
        return client.post(path, {"username": "alice", "password": f"guess-{i}"}, content_type="application/json", **extra)
    return client.post(path, {"username": "alice", "password": f"guess-{i}"}, **extra)


@pytest.mark.parametrize("path", ["/api/auth/token/", "/accounts/login/", "/admin/login/"])
def test_it_throttles_guesses_whatever_x_forwarded_for_says(alice, low_rates, path):
    client = Client()
    codes = [guess(client, path, i, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(4)]
    assert codes[:3] in ([400] * 3, [200] * 3)  # the API's 400, the pages' form again
    assert codes[3] == 429
    refused = client.post(path, {"username": "alice", "password": "alice-password-1"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0


def test_the_login_page_says_why_it_refuses(alice, low_rates):
    client = Client()
    for i in range(3):
        guess(client, "/accounts/login/", i)
    page = guess(client, "/accounts/login/", 3).content.decode()
    assert "Too many login attempts" in page and "Try again in" in page


def test_it_believes_x_forwarded_for_behind_the_configured_proxies(alice, low_rates, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = Client()
    codes = [guess(client, "/api/auth/token/", i, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(4)]
    assert codes == [400] * 4  # four clients, as the proxy says


def test_it_locks_an_account_guessed_from_many_addresses(alice, low_rates):
    client = Client()
    codes = [guess(client, "/accounts/login/", i, REMOTE_ADDR=f"203.0.113.{i}").status_code for i in range(5)]
    assert codes == [200] * 5
    # The sixth address, even with the right password: the account waits out the window.
    refused = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"}, REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    token = client.post("/api/auth/token/", {"username": "ALICE", "password": "x"}, content_type="application/json",
                        REMOTE_ADDR="203.0.113.10")
    assert token.status_code == 429


def test_successful_logins_do_not_lock_the_account(alice, low_rates):
    for i in range(8):
        response = Client().post("/accounts/login/", {"username": "alice", "password": "alice-password-1"}, REMOTE_ADDR=f"203.0.113.{i}")
        assert response.status_code == 302


REDIS_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_counters(settings):
    """The throttles' counters on real Redis (their Lua script), under a prefix of the test's own."""
    if not REDIS_URL.startswith("redis://"):
        pytest.fail(f"this test needs Redis: CELERY_BROKER_URL is {REDIS_URL!r}")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


def at_once(attempt, count: int) -> list[int]:
    """Runs attempt(i) in `count` threads released together; their status codes."""
    barrier = threading.Barrier(count)
    codes = [None] * count

    def run(i):
        barrier.wait()
        try:
            codes[i] = attempt(i)
        finally:
            connection.close()  # this thread's own

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return codes


@pytest.mark.integration
@pytest.mark.parametrize("path", ["/api/auth/token/", "/accounts/login/"])
def test_twenty_attempts_at_once_from_one_address_pass_the_limit_exactly(db, redis_counters, low_rates, path):
    codes = at_once(lambda i: guess(Client(), path, i, REMOTE_ADDR="198.51.100.7").status_code, 20)
    assert codes.count(429) == 17, codes  # the limit is 3 a minute


@pytest.mark.integration
def test_twenty_attempts_at_once_at_one_account_pass_the_limit_exactly(db, redis_counters, low_rates):
    # Twenty addresses, one account: the failures' limit is 5 an hour.
    codes = at_once(lambda i: guess(Client(), "/accounts/login/", i, REMOTE_ADDR=f"203.0.113.{i}").status_code, 20)
    assert codes.count(429) == 15, codes


@pytest.mark.skipif(connection.vendor != "mysql", reason="the collation of MariaDB and MySQL matches these to alice")
def test_spellings_the_database_matches_to_an_account_share_its_counter(alice, low_rates):
    assert User.objects.filter(username="ÁLICE").get() == alice  # what authenticate() would check
    client = Client()
    spellings = ["álice", "ＡＬＩＣＥ", "alicé", "ALICE", " Alice "]
    codes = [client.post("/accounts/login/", {"username": name, "password": "wrong"}, REMOTE_ADDR=f"203.0.113.{i}").status_code
             for i, name in enumerate(spellings)]
    assert codes == [200] * 5
    refused = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"}, REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429


def test_spellings_of_a_name_that_is_no_account_share_one_counter(db, low_rates):
    client = Client()
    spellings = ["bób", "ＢＯＢ", "bób", "BOB", "bob"]
    codes = [client.post("/accounts/login/", {"username": name, "password": "x"}, REMOTE_ADDR=f"203.0.113.{i}").status_code
             for i, name in enumerate(spellings)]
    assert codes == [200] * 5
    assert client.post("/accounts/login/", {"username": "Bob", "password": "x"}, REMOTE_ADDR="203.0.113.9").status_code == 429


def test_a_success_gives_its_attempt_back(alice, low_rates):
    client = Client()
    for i in range(4):
        guess(client, "/accounts/login/", i, REMOTE_ADDR=f"203.0.113.{i}")
    ok = Client().post("/api/auth/token/", {"username": "alice", "password": "alice-password-1"},
                       content_type="application/json", REMOTE_ADDR="203.0.113.20")
    assert ok.status_code == 200
    # Four failures, one success: one more failure fits in the five, the next does not.
    assert guess(client, "/accounts/login/", 5, REMOTE_ADDR="203.0.113.21").status_code == 200
    assert guess(client, "/accounts/login/", 6, REMOTE_ADDR="203.0.113.22").status_code == 429
