from django.contrib.auth import get_user_model

from psched.lib.db import db_now

from .models import ScheduledPost, Series


def scheduled_posts_visible(*, user, author_username: str | None = None, status: str | None = None):
    """A user sees their own scheduled posts; staff see everyone's (`author` narrows it)."""
    posts = ScheduledPost.objects.select_related("author", "dispatcher", "post")
    if not user.is_staff:
        posts = posts.filter(author=user)
    elif author_username:
        posts = posts.filter(author__username=author_username)
    if status:
        posts = posts.filter(status=status)
    return posts


def scheduled_posts_upcoming(*, author, limit: int = 200):
    """The author's posts still to be published, soonest first."""
    posts = ScheduledPost.objects.filter(author=author, status__in=ScheduledPost.UPCOMING)
    posts = posts.select_related("dispatcher", "series")
    return posts.order_by("publish_at", "id")[:limit]


def scheduled_posts_drafts(*, author, limit: int = 200):
    """The author's drafts, latest change first."""
    return ScheduledPost.objects.filter(author=author, status=ScheduledPost.Status.DRAFT).order_by("-updated_at", "-id")[:limit]


def scheduled_posts_history(*, author, limit: int = 100):
    """The author's published, failed and cancelled posts, latest change first."""
    posts = ScheduledPost.objects.filter(author=author).exclude(status__in=ScheduledPost.UPCOMING + (ScheduledPost.Status.DRAFT,))
    return posts.select_related("dispatcher", "post", "series").order_by("-updated_at", "-id")[:limit]


def series_overview(*, author, now=None, limit: int = 50):
    """The author's series, newest first, each with its next occurrences after `now` (`upcoming`)."""
    from .series import series_next  # the expansion lives with the series services

    now = now or db_now()  # one read for every series
    found = list(Series.objects.filter(author=author).order_by("-active", "-pk")[:limit])
    for series in found:
        series.upcoming = series_next(series=series, now=now, limit=3)
    return found


def users_by_username(*, usernames) -> dict:
    return {user.username: user for user in get_user_model().objects.filter(username__in=set(usernames))}


def scheduled_posts_same(*, ids: list[int]):
    """(id, author username, text) of the scheduled posts with these ids."""
    return ScheduledPost.objects.filter(pk__in=ids).values_list("pk", "author__username", "text")


def scheduled_posts_export(*, status: str | None = None):
    """Rows for export_schedule, streamed in id order: (id, author, text, publish_at, timezone,
    status)."""
    posts = ScheduledPost.objects.order_by("pk")
    if status:
        posts = posts.filter(status=status)
    rows = posts.values_list("pk", "author__username", "text", "publish_at", "timezone", "status")
    return rows.iterator(chunk_size=2000)
