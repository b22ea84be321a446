"""Password guessing: every login path is throttled per client address (X-Forwarded-For is
believed only behind PSCHED_NUM_PROXIES proxies) and per username that failed too often."""
import pytest
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
