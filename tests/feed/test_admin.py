from feed.services import post_create


def test_it_searches_posts_by_author_and_text(client, admin_user, alice, bob, node):
    post_create(author=alice, text="apples")
    post_create(author=bob, text="bananas")
    client.force_login(admin_user)
    results = client.get("/admin/feed/post/", {"q": "bob"}).content.decode().split('id="result_list"')[1].split("</table>")[0]
    assert "bananas" in results and "apples" not in results
    filters = " ".join(client.get("/admin/feed/post/").content.decode().split())
    assert "By dispatcher" in filters and "By author" in filters
