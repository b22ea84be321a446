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
