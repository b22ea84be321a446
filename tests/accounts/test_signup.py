from django.contrib.auth import get_user_model


def test_it_signs_up_and_logs_in(client, db):
    response = client.post("/accounts/signup/", {"username": "carol", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"})
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="carol").exists()
    assert "Welcome, carol!" in client.get("/").content.decode()


def test_it_shows_password_errors_inline(client, db):
    response = client.post("/accounts/signup/", {"username": "carol", "password1": "abc", "password2": "abd"})
    assert response.status_code == 200
    assert response.context["form"].errors["password2"]


def test_it_puts_a_weak_password_message_under_the_password(client, db):
    response = client.post("/accounts/signup/", {"username": "carol", "password1": "abc", "password2": "abc"})
    errors = response.context["form"].errors
    assert "password1" in errors and "password2" not in errors
    assert "too short" in " ".join(errors["password1"])


def test_it_describes_fields_by_ids_that_exist(client, db):
    import re

    page = client.get("/accounts/signup/").content.decode()
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    described = [name for value in re.findall(r'aria-describedby="([^"]+)"', page) for name in value.split()]
    assert described and all(name in ids for name in described)


def test_it_links_the_welcome_to_the_profile(client, db):
    client.post("/accounts/signup/", {"username": "carol", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"})
    page = client.get("/").content.decode()
    assert '<a href="/accounts/profile/">Set your time zone</a>' in page
