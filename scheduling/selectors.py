from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q

from psched.lib.db import db_now

from .models import ScheduledPost, Series
from .recurrence import series_next


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


def scheduled_post_get_own(*, user, scheduled_post_id: int, verb: str, staff_may: bool = False) -> ScheduledPost:
    """The post, for `user` to `verb` ("edit", "cancel"…): ScheduledPost.DoesNotExist (404) when
    they may not see it, PermissionDenied (403) when they see it but it is not theirs
    (staff_may: staff act on anyone's, e.g. retry). Every API view of one post asks here."""
    post = scheduled_posts_visible(user=user).get(pk=scheduled_post_id)
    if post.author_id != user.pk and not (staff_may and user.is_staff):
        raise PermissionDenied(f"Only the author can {verb} a scheduled post.")
    return post


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
    now = now or db_now()  # one read for every series
    found = list(Series.objects.filter(author=author).order_by("-active", "-pk")[:limit])
    for series in found:
        series.upcoming = series_next(series=series, now=now, limit=3)
        series.skipped_shown = sorted(
            ({"index": entry["index"], "local": datetime.fromisoformat(entry["local"])} for entry in series.skipped),
            key=lambda entry: entry["index"],
        )
    return found


def _series_seen(*, user):
    """Your series; staff see everyone's."""
    return Series.objects.all() if user.is_staff else Series.objects.filter(author=user)


def series_visible(*, user):
    """The series `user` may see, with their published and pending counts (what series_serialize
    shows)."""
    return _series_seen(user=user).select_related("author").annotate(
        published_count=Count("occurrences", filter=Q(occurrences__status=ScheduledPost.Status.PUBLISHED)),
        pending_count=Count("occurrences", filter=Q(occurrences__status__in=ScheduledPost.UPCOMING)),
    )


def series_get_own(*, user, series_id: int) -> Series:
    """The series, for `user` to change: Series.DoesNotExist (404) when they may not see it,
    PermissionDenied (403) when they see it but it is not theirs. Every API view that changes
    a series or one of its occurrences asks here."""
    series = _series_seen(user=user).get(pk=series_id)
    if series.author_id != user.pk:
        raise PermissionDenied("Only the author can change a series.")
    return series


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
