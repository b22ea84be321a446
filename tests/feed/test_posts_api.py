from feed.models import Post


def test_it_publishes_now(api, alice):
    response = api(alice).post("/api/posts/", {"text": "  hello  "}, format="json")
    assert response.status_code == 201
    assert response.json()["text"] == "hello"
    assert response.json()["author"] == "alice"
    assert Post.objects.get().author == alice


def test_it_requires_auth(api, db):
    response = api().post("/api/posts/", {"text": "anonymous"}, format="json")
    assert response.status_code == 401
    assert not Post.objects.exists()


def test_it_rejects_empty_and_long_text(api, alice, settings):
    for text in ["", "   ", "x" * (settings.PSCHED_MAX_POST_LENGTH + 1), "nul\x00byte"]:
        response = api(alice).post("/api/posts/", {"text": text}, format="json")
        assert response.status_code == 400, text
        assert "text" in response.json()
    assert not Post.objects.exists()


def test_it_accepts_the_maximum_length(api, alice, settings):
    response = api(alice).post("/api/posts/", {"text": "x" * settings.PSCHED_MAX_POST_LENGTH}, format="json")
    assert response.status_code == 201


def test_it_ignores_an_author_field(api, alice, bob):
    response = api(alice).post("/api/posts/", {"text": "mine", "author": "bob"}, format="json")
    assert response.status_code == 201
    assert Post.objects.get().author == alice


def test_it_rejects_a_list_from_a_user(api, alice):
    response = api(alice).post("/api/posts/", [{"text": "x"}], format="json")
    assert response.status_code == 400


def test_it_lists_newest_first_with_cursor_pages(api, alice, bob):
    for i in range(5):
        Post.objects.create(author=alice if i % 2 else bob, text=f"post {i}")
    page = api().get("/api/posts/?page_size=2").json()
    assert [p["text"] for p in page["results"]] == ["post 4", "post 3"]
    second = api().get(page["next"]).json()
    assert [p["text"] for p in second["results"]] == ["post 2", "post 1"]
    mine = api().get("/api/posts/?author=alice").json()
    assert [p["text"] for p in mine["results"]] == ["post 3", "post 1"]


def test_it_shows_one_post(api, alice):
    post = Post.objects.create(author=alice, text="one")
    assert api().get(f"/api/posts/{post.pk}/").json()["text"] == "one"
    assert api().get("/api/posts/999999/").status_code == 404
