from .models import Post


def post_feed(*, author_username: str | None = None):
    # Authors and nodes are fetched for the page afterwards: joined into the page's query,
    # MariaDB may drive the join from auth_user and sort the whole feed to find 50 rows.
    # scheduled_post__series: a series post's receipt says which occurrence of which series.
    posts = Post.objects.prefetch_related("author", "dispatcher", "scheduled_post__series").order_by("-id")
    if author_username:
        posts = posts.filter(author__username=author_username)
    return posts


def post_feed_page(*, before_id: int | None = None, author_username: str | None = None, size: int = 20):
    """One page of the feed by keyset (ids below before_id): no COUNT, no OFFSET."""
    posts = post_feed(author_username=author_username)
    if before_id:
        posts = posts.filter(id__lt=before_id)
    page = list(posts[: size + 1])
    older = page[size - 1].id if len(page) > size else None
    return page[:size], older
