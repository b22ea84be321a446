import time
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
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


# The clash check's facts about an author that rarely change (clashes.py): their active series
# (id, materialized_until) and whether they have queue slots. Each process reads them at most
# once every CLASH_FACTS_SECONDS with the clash read it makes anyway; a series or slots changed
# in another process count for posts scheduled here a second later at most, changes made in
# this process at once (clash_facts_forget, on every save and delete of a series or a slot).
CLASH_FACTS_SECONDS = 1.0
_clash_facts: dict[int, tuple[float, tuple, bool]] = {}


def clash_facts_get(author_id: int) -> tuple[tuple, bool] | None:
    """(((series id, materialized_until or None), …), has_slots), or None: to be read."""
    entry = _clash_facts.get(author_id)
    if entry is None or entry[0] <= time.monotonic():
        return None
    return entry[1], entry[2]


def clash_facts_put(author_id: int, *, series: tuple, has_slots: bool, read_at: float) -> None:
    """`read_at`: time.monotonic() before the read (a forget during it wins)."""
    if len(_clash_facts) > 10000:
        _clash_facts.clear()
    if _clash_forgotten.get(author_id, 0.0) < read_at:
        _clash_facts[author_id] = (read_at + CLASH_FACTS_SECONDS, series, has_slots)


_clash_forgotten: dict[int, float] = {}


def clash_facts_forget(author_id: int | None = None) -> None:
    """The next clash check of the author (None: of everyone) reads their series and slots."""
    if author_id is None:
        _clash_facts.clear()
        _clash_forgotten.clear()
        return
    _clash_facts.pop(author_id, None)
    if len(_clash_forgotten) > 10000:
        _clash_forgotten.clear()
    _clash_forgotten[author_id] = time.monotonic()


def clash_facts_changed(*, sender, instance, **signal) -> None:
    """Receives post_save and post_delete of Series and QueueSlot: forgets the owner's facts
    now, and again once the change is committed (a read in between saw the old ones)."""
    author_id = getattr(instance, "author_id", None) or getattr(instance, "user_id", None)
    if author_id is None:
        return
    clash_facts_forget(author_id)
    transaction.on_commit(lambda: clash_facts_forget(author_id))
