from accounts.services import user_language, user_timezone


def test_it_saves_my_time_zone(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/profile/", {"timezone": " Europe/Lisbon "})
    assert response.status_code == 302
    assert user_timezone(user=alice) == "Europe/Lisbon"
    assert 'value="Europe/Lisbon"' in client.get("/accounts/profile/").content.decode()


def test_it_refuses_an_unknown_zone_inline(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/profile/", {"timezone": "Europe/Atlantis"})
    assert response.status_code == 200
    assert "Unknown time zone" in response.context["form"].errors["timezone"][0]
    assert user_timezone(user=alice) == ""


def test_it_labels_the_field(client, alice):
    client.force_login(alice)
    page = client.get("/accounts/profile/").content.decode()
    assert '<label for="id_timezone">Your time zone</label>' in page
    assert 'aria-describedby="id_timezone_helptext"' in page


def test_it_requires_login(client, db):
    assert client.get("/accounts/profile/").status_code == 302


def test_it_saves_the_language_of_my_posts(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/profile/", {"timezone": "", "language": " pt-BR "})
    assert response.status_code == 302
    assert user_language(user=alice) == "pt-BR"
    assert 'value="pt-BR"' in client.get("/accounts/profile/").content.decode()


def test_it_refuses_a_language_that_is_no_tag(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/profile/", {"timezone": "", "language": "English please"})
    assert response.status_code == 200
    assert "Not a language tag" in response.context["form"].errors["language"][0]


def test_it_keeps_the_language_when_only_the_zone_is_saved(client, alice):
    client.force_login(alice)
    client.post("/accounts/profile/", {"timezone": "", "language": "fr"})
    client.post("/accounts/profile/", {"timezone": "Europe/Paris"})
    assert user_language(user=alice) == "fr"
