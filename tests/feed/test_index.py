from feed.models import Post


def test_it_escapes_post_text(client, alice):
    Post.objects.create(author=alice, text="<script>alert(1)</script>")
    body = client.get("/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_it_posts_now_with_redirect(client, alice):
    client.force_login(alice)
    response = client.post("/", {"text": "from the page", "action": "now"})
    assert response.status_code == 302
    assert Post.objects.get().text == "from the page"


def test_it_shows_an_inline_error(client, alice):
    client.force_login(alice)
    response = client.post("/", {"text": "   ", "action": "now"})
    assert response.status_code == 200
    assert "the text is empty" in response.content.decode()
    assert not Post.objects.exists()


def test_it_requires_csrf(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/", {"text": "x", "action": "now"}).status_code == 403


def test_it_signs_up(client, db):
    response = client.post("/accounts/signup/", {
        "username": "carol", "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9",
    })
    assert response.status_code == 302
    assert client.post("/", {"text": "hi", "action": "now"}).status_code == 302
    assert Post.objects.get().author.username == "carol"
