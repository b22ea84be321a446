"""Every time on a page is in one zone: the profile's, else the browser's (its cookie)."""
from zoneinfo import ZoneInfo

from accounts.services import user_set_timezone
from feed.services import post_create


def test_it_uses_the_browsers_zone_when_the_profile_has_none(client, alice):
    post = post_create(author=alice, text="hi")
    client.force_login(alice)
    client.cookies["psched_zone"] = "Asia/Tokyo"
    page = client.get("/").content.decode()
    assert f"{post.published_at.astimezone(ZoneInfo('Asia/Tokyo')):%Y-%m-%d %H:%M:%S} JST" in page
    assert 'id="id_timezone" value="Asia/Tokyo"' in page or 'value="Asia/Tokyo"' in page
    # It offers to keep that zone.
    assert "Times are shown in Asia/Tokyo, your browser's zone." in page
    assert "Keep it in your profile" in page


def test_it_prefers_the_profiles_zone(client, alice):
    post = post_create(author=alice, text="hi")
    user_set_timezone(user=alice, timezone_name="Europe/Paris")
    client.force_login(alice)
    client.cookies["psched_zone"] = "Asia/Tokyo"
    page = client.get("/").content.decode()
    assert f"{post.published_at.astimezone(ZoneInfo('Europe/Paris')):%Y-%m-%d %H:%M:%S}" in page
    assert "your browser's zone" not in page


def test_it_ignores_a_cookie_that_is_not_a_zone(client, alice):
    post = post_create(author=alice, text="hi")
    client.cookies["psched_zone"] = "../../etc/passwd"
    page = client.get("/").content.decode()
    assert f"{post.published_at:%Y-%m-%d %H:%M:%S} UTC" in page


def test_it_saves_the_browsers_zone_and_comes_back(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/profile/", {"timezone": "Asia/Tokyo", "next": "/scheduled/"})
    assert response.status_code == 302 and response["Location"] == "/scheduled/"
    from accounts.services import user_timezone
    assert user_timezone(user=alice) == "Asia/Tokyo"
    assert client.post("/accounts/profile/", {"timezone": "UTC", "next": "https://evil.example/"})["Location"] == "/accounts/profile/"
