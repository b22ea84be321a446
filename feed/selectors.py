from datetime import timedelta

from psched.lib.db import db_now

from .models import Post

# How long a post may take from taking its published_at to being committed (a node's batch is
# one transaction; gunicorn ends a request after 30 s), twice. Both published_at and the cursor
# read the database clock, so web servers' clocks play no part. Posts published in the last LIVE_FEED_OVERLAP are sent to the live feed
# again at every poll, so one committed late, with an id below newer posts, is not skipped.
LIVE_FEED_OVERLAP = timedelta(minutes=2)


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


def post_feed_cursor(*, after_id: int = 0, now=None) -> int:
    """The highest id the live feed may stop asking about: no post at or below it can still be
    committed, since it was published more than LIVE_FEED_OVERLAP ago. Ids are not commit
    order (concurrent callbacks commit out of order), so `id > newest shown` would skip posts.
    `now`: the database clock, which published_at is written with (a request's request_now)."""
    settled = (now or db_now()) - LIVE_FEED_OVERLAP
    # From the newest id down, stopping at the first settled post: a short walk on the primary key.
    settled_ids = Post.objects.filter(id__gt=after_id, published_at__lt=settled).order_by("-id").values_list("id", flat=True)
    return max([after_id, *settled_ids[:1]])


def post_feed_after(*, after_id: int, author_username: str | None = None, limit: int = 100, now=None):
    """The newest posts above a cursor, for the live feed (which de-duplicates by id), and the
    cursor for its next poll."""
    cursor = post_feed_cursor(after_id=after_id, now=now)
    posts = list(post_feed(author_username=author_username).filter(id__gt=after_id)[:limit])
    return posts, cursor
