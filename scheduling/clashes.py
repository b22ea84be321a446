"""Clashes: a post that would publish within PSCHED_CLASH_MINUTES of another of the same
author's pending posts. Scheduling still succeeds; the answer carries warnings (the API's
`warnings`, a note on the page, a mark in the calendar). What counts: pending and publishing
posts (queued ones and materialized series occurrences among them), the occurrences of the
author's active series not made into posts yet, and the author's free queue slots (the next
queued post would land there).

Reads only, and bounded. One post (the API's answer, on every post scheduled): one statement
on MariaDB/MySQL, which reads the MAX_WARNINGS posts nearest before and after it and, once a
second per author and process (selectors.clash_facts_get), the author's active series and
whether they have slots, from which whether series or slots could reach is decided here. A bulk request: whether series or slots could reach, then the
posts of its span (at most POSTS_READ). Then, only when they could clash, the author's active
series (at most PSCHED_MAX_ACTIVE_SERIES) each walked over the window alone, and the slots of
the window."""
import json
import time
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q

from psched.lib.api import datetime_text
from psched.lib.db import db_now_cached
from psched.lib.timeparse import UTC

from .models import QueueSlot, ScheduledPost, Series
from .queue import queue_slots, queue_zone, slot_instants
from .recurrence import series_between
from .selectors import clash_facts_get, clash_facts_put

# Warnings one answer lists per post, at most.
MAX_WARNINGS = 10
# Instants of one request looked at for series occurrences and free slots (a bulk request).
MAX_CHECKED = 100
# Pending posts one check reads over the span of its instants.
POSTS_READ = 2000


@dataclass(frozen=True)
class Clash:
    kind: str  # "post", "occurrence" or "slot"
    publish_at: datetime  # the other one's instant
    scheduled_post: int | None = None
    series: int | None = None
    series_index: int | None = None

    def message(self, *, instant: datetime, minutes: int) -> str:
        apart = abs((self.publish_at - instant).total_seconds()) / 60
        within = f"{apart:.0f} minute{'' if round(apart) == 1 else 's'} from" if apart >= 0.5 else "at the same time as"
        if self.kind == "post":
            other = f"your scheduled post #{self.scheduled_post}"
            if self.series:
                other += f" (occurrence {self.series_index} of series #{self.series})"
        elif self.kind == "occurrence":
            other = f"occurrence {self.series_index or ''} of your series #{self.series}".replace("  ", " ")
        else:
            other = "a free slot of your queue (the next queued post would land there)"
        return f"This post publishes {within} {other}, within the {minutes} minutes that count as a clash."


def clash_window() -> timedelta:
    return timedelta(minutes=settings.PSCHED_CLASH_MINUTES)


def claims_reach() -> timedelta:
    """How far past the database clock a claim reaches (a tick, its look-ahead), with a wide
    margin: no post due later than this is publishing."""
    return timedelta(seconds=settings.PSCHED_TICK_SECONDS, milliseconds=settings.PSCHED_CLAIM_AHEAD_MS) + timedelta(minutes=1)


def clashes_find(*, author, instant: datetime, exclude_post_ids=(), exclude_series_id=None) -> list[Clash]:
    """What lands within the clash window of `instant`, nearest first."""
    return clashes_find_many(author=author, instants=[instant], exclude_post_ids=exclude_post_ids,
                             exclude_series_id=exclude_series_id)[0]


def clashes_find_many(*, author, instants: list, exclude_post_ids=(), exclude_series_id=None) -> list[list[Clash]]:
    """One list per instant (None: none). Whether the author has series or slots that could
    reach, then the pending posts nearest one instant, or over the span of many (at most
    POSTS_READ, in order: a span with more is checked up to there);
    series and slots are read only when they could clash. Occurrences not made yet are looked
    for around the first MAX_CHECKED instants only."""
    window = clash_window()
    found = [[] for _ in instants]
    dated = [(n, at) for n, at in enumerate(instants) if at is not None]
    if not window or not dated:
        return found
    low = min(at for _, at in dated) - window
    high = max(at for _, at in dated) + window

    def upcoming():  # built only where read: the common case (one post) writes its read out
        return ScheduledPost.objects.filter(author=author, status__in=ScheduledPost.UPCOMING).exclude(
            pk__in=list(exclude_post_ids))

    if len(dated) == 1 and connection.vendor == "mysql":
        # One instant (a post's answer): its nearest MAX_WARNINGS on each side are all it can
        # show, however many posts share the window (a bulk import at one time held thousands).
        # A post is claimed (publishing) only once due within a tick and the claims' look-ahead:
        # a window that starts beyond that, as most new posts' do, can hold no publishing post.
        publishing = low <= db_now_cached() + claims_reach()
        flags, rows = _nearest_read(author_id=author.pk, at=dated[0][1], low=low, high=high, publishing=publishing,
                                    exclude=exclude_post_ids, exclude_series_id=exclude_series_id)
    else:
        flags = _series_or_slots(author_id=author.pk, until=high, exclude_series_id=exclude_series_id)
        rows = list(upcoming().filter(publish_at__gte=low, publish_at__lte=high).order_by("publish_at")
                    .values_list("pk", "publish_at", "series_id", "series_index")[:POSTS_READ])
    if not rows and not flags["has_series"] and not flags["has_slots"]:
        return found  # nothing near: the common case of a quiet schedule
    now = db_now_cached()  # judges only which series may reach the window
    times = [row[1] for row in rows]
    for n, at in dated:
        for pk, other, series_id, index in _nearest(rows, times, at=at, window=window):
            found[n].append(Clash(kind="post", publish_at=other, scheduled_post=pk, series=series_id, series_index=index))
    if flags["has_series"]:
        reaching = Series.objects.filter(author=author, active=True, error="").exclude(pk=exclude_series_id).filter(
            Q(materialized_until__isnull=True) | Q(materialized_until__lt=high))
        for series in reaching:
            made_until = max(series.materialized_until or now, now)
            for n, at in dated[:MAX_CHECKED]:
                if at + window <= made_until:
                    continue  # its occurrences there are posts already, counted above
                for occurrence in series_between(series=series, after=max(at - window, made_until),
                                                 before=at + window + timedelta(microseconds=1), now=now):
                    found[n].append(Clash(kind="occurrence", publish_at=occurrence.instant, series=series.pk,
                                          series_index=occurrence.index))
    if flags["has_slots"]:
        slots = [(slot.weekday, slot.time) for slot in queue_slots(user=author)]
        zone_name = queue_zone(user=author)
        near = {}
        for n, at in dated[:MAX_CHECKED]:
            for slot_at in slot_instants(slots=slots, zone_name=zone_name, after=max(at - window - timedelta(microseconds=1), now)):
                if slot_at > at + window:
                    break
                if slot_at != at:
                    near.setdefault(n, []).append(slot_at)
        wanted = {slot_at for instants_near in near.values() for slot_at in instants_near}
        taken = set(upcoming().filter(publish_at__in=wanted).values_list("publish_at", flat=True)) if wanted else set()
        for n, instants_near in near.items():
            found[n] += [Clash(kind="slot", publish_at=slot_at) for slot_at in instants_near if slot_at not in taken]
    for n, at in dated:
        found[n] = sorted(found[n], key=lambda clash: abs(clash.publish_at - at))[:MAX_WARNINGS]
    return found


def _series_or_slots_sql(*, exclude_series: bool) -> tuple[str, str]:
    """The two EXISTS of _series_or_slots, with %(author)s, %(until)s and %(series)s."""
    series = connection.ops.quote_name(Series._meta.db_table)
    slots = connection.ops.quote_name(QueueSlot._meta.db_table)
    other = " AND id <> %(series)s" if exclude_series else ""
    return (f"EXISTS(SELECT 1 FROM {series} WHERE author_id = %(author)s AND active = %(active)s AND error = ''{other} "
            "AND (materialized_until IS NULL OR materialized_until < %(until)s))",
            f"EXISTS(SELECT 1 FROM {slots} WHERE user_id = %(author)s)")


def _series_or_slots(*, author_id: int, until: datetime, exclude_series_id) -> dict:
    """{"has_series": whether an active series of the author (other than the excluded one) has
    occurrences not made into posts before `until`, "has_slots": whether the author has queue
    slots}, in one statement written out (the ORM took longer to build it than the database to
    answer)."""
    has_series, has_slots = _series_or_slots_sql(exclude_series=bool(exclude_series_id))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {has_series}, {has_slots}", {
            "author": author_id, "active": True, "series": exclude_series_id,
            "until": connection.ops.adapt_datetimefield_value(until),
        })
        has_series, has_slots = cursor.fetchone()
    return {"has_series": bool(has_series), "has_slots": bool(has_slots)}


# The statements of _nearest_read by (whether publishing posts are read, whether the author's
# series and slots are, how many posts are excluded).
_nearest_sql: dict[tuple[bool, bool, int], str] = {}


def _nearest_read_sql(*, publishing: bool, facts: bool, exclude_posts: int) -> str:
    """MariaDB/MySQL (named parameters): the nearest posts (id, publish_at, series_id,
    series_index, NULL, NULL) and, with `facts`, one row (NULL, NULL, NULL, NULL, the author's
    active series as a JSON array of [id, materialized_until], whether they have queue slots)."""
    key = (publishing, facts, exclude_posts)
    sql = _nearest_sql.get(key)
    if sql is None:
        table = connection.ops.quote_name(ScheduledPost._meta.db_table)
        series = connection.ops.quote_name(Series._meta.db_table)
        _, has_slots = _series_or_slots_sql(exclude_series=False)
        reads = []
        if facts:
            reads.append(f"(SELECT NULL, NULL, NULL, NULL, (SELECT JSON_ARRAYAGG(JSON_ARRAY(id, materialized_until)) "
                         f"FROM {series} WHERE author_id = %(author)s AND active = %(active)s AND error = ''), {has_slots})")
        # The excluded posts (the new post itself) are read and dropped: the statement stays the
        # same from one post to the next, and each read still stops at its limit.
        limit = MAX_WARNINGS + exclude_posts
        for n, _ in enumerate(ScheduledPost.UPCOMING if publishing else [ScheduledPost.Status.PENDING]):
            for side, order in (("publish_at >= %(low)s AND publish_at < %(at)s", "DESC"),
                                ("publish_at >= %(at)s AND publish_at <= %(high)s", "ASC")):
                # The index named: with thousands of the author's posts in the window the
                # optimizer may otherwise choose to read and sort them all.
                reads.append(f"(SELECT id, publish_at, series_id, series_index, NULL, NULL FROM {table} FORCE INDEX "
                             f"(sched_author_idx) WHERE author_id = %(author)s AND status = %(status{n})s AND {side} "
                             f"ORDER BY publish_at {order} LIMIT {limit})")
        sql = _nearest_sql[key] = " UNION ALL ".join(reads)
    return sql


def _nearest_read(*, author_id: int, at: datetime, low: datetime, high: datetime, publishing: bool, exclude,
                  exclude_series_id) -> tuple[dict, list[tuple]]:
    """What one instant's check reads, in one statement: the flags of _series_or_slots (until
    `high`) and the author's upcoming posts nearest `at` within [low, high], MAX_WARNINGS
    before and after, per status (pending only when `publishing` is false), each read walking sched_author_idx in time order and stopping
    at its limit (a read of both statuses at once sorts them whole). Written out rather than
    built by the ORM: this runs on every post scheduled, and compiling the reads cost more
    than running them. Rows (id, publish_at, series_id, series_index) in time order."""
    adapt = connection.ops.adapt_datetimefield_value
    exclude = set(exclude)
    params = {"author": author_id, "active": True, "series": exclude_series_id,
              "low": adapt(low), "at": adapt(at), "high": adapt(high)}
    params["until"] = params["high"]
    for n, status in enumerate(ScheduledPost.UPCOMING):
        params[f"status{n}"] = status.value
    facts = clash_facts_get(author_id)
    read_at = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(_nearest_read_sql(publishing=publishing, facts=facts is None, exclude_posts=len(exclude)), params)
        found = cursor.fetchall()
    rows = []
    for pk, when, series, index, active_series, has_slots in found:
        if pk is None:
            if isinstance(active_series, bytes):
                active_series = active_series.decode()
            facts = (tuple((series_id, datetime.fromisoformat(made).replace(tzinfo=UTC) if made else None)
                           for series_id, made in json.loads(active_series or "[]")), bool(has_slots))
            clash_facts_put(author_id, series=facts[0], has_slots=facts[1], read_at=read_at)
        elif pk not in exclude:
            rows.append((pk, when.replace(tzinfo=UTC), series, index))  # MySQLdb gives naive UTC
    rows.sort(key=lambda row: row[1])
    active_series, has_slots = facts
    # _series_or_slots's has_series, from the copy: an active series other than the excluded
    # one with occurrences not made into posts before `high`.
    has_series = any(series_id != exclude_series_id and (made is None or made < high) for series_id, made in active_series)
    return {"has_series": has_series, "has_slots": has_slots}, rows


def _nearest(rows: list, times: list, *, at: datetime, window: timedelta) -> list:
    """The rows (sorted by their time, `times`) within `window` of `at`, nearest first, at most
    MAX_WARNINGS: walked outwards from `at`, so a crowded window costs no more than a quiet one."""
    right = bisect_left(times, at)
    left = right - 1
    picked = []
    while len(picked) < MAX_WARNINGS:
        take_left = left >= 0 and at - times[left] <= window
        take_right = right < len(times) and times[right] - at <= window
        if take_left and (not take_right or at - times[left] <= times[right] - at):
            picked.append(rows[left])
            left -= 1
        elif take_right:
            picked.append(rows[right])
            right += 1
        else:
            break
    return picked


def clash_warnings(*, author, instant: datetime, exclude_post_ids=(), exclude_series_id=None) -> list[dict]:
    """The API's `warnings` for one instant: [{"code": "clash", "message", "kind", "publish_at",
    "scheduled_post", "series", "series_index"}]."""
    minutes = settings.PSCHED_CLASH_MINUTES
    return [_warning(clash, instant=instant, minutes=minutes)
            for clash in clashes_find(author=author, instant=instant, exclude_post_ids=exclude_post_ids,
                                      exclude_series_id=exclude_series_id)]


def _warning(clash: Clash, *, instant: datetime, minutes: int) -> dict:
    return {
        "code": "clash",
        "message": clash.message(instant=instant, minutes=minutes),
        "kind": clash.kind,
        "publish_at": datetime_text(clash.publish_at),
        "scheduled_post": clash.scheduled_post,
        "series": clash.series,
        "series_index": clash.series_index,
    }


def post_clash_warnings(post: ScheduledPost) -> list[dict]:
    """The warnings of one scheduled post (none for a draft or a post no longer pending)."""
    if post.publish_at is None or post.status not in ScheduledPost.UPCOMING:
        return []
    return clash_warnings(author=post.author, instant=post.publish_at, exclude_post_ids=[post.pk],
                          exclude_series_id=post.series_id if post.series_id and not post.series_detached else None)


def posts_clash_warnings(posts: list[ScheduledPost]) -> list[list[dict]]:
    """One list per post of one author (a bulk request), in one pass (clashes_find_many); the
    posts do not clash with each other here, only with what was there before."""
    if not posts:
        return []
    minutes = settings.PSCHED_CLASH_MINUTES
    instants = [post.publish_at if post.status in ScheduledPost.UPCOMING else None for post in posts]
    found = clashes_find_many(author=posts[0].author, instants=instants, exclude_post_ids=[post.pk for post in posts])
    return [[_warning(clash, instant=at, minutes=minutes) for clash in clashes] for at, clashes in zip(instants, found)]


def series_clash_warnings(*, series: Series, occurrences) -> list[dict]:
    """The warnings of a series' coming occurrences (the ones its answer shows), each message
    naming the occurrence."""
    warnings = []
    for occurrence in occurrences:
        for warning in clash_warnings(author=series.author, instant=occurrence.instant, exclude_series_id=series.pk):
            if warning["kind"] == "post" and warning["series"] == series.pk:
                continue  # its own occurrence, made already
            warning["message"] = f"Occurrence {occurrence.index}: " + warning["message"]
            warning["occurrence"] = occurrence.index
            warnings.append(warning)
    return warnings[:MAX_WARNINGS]



def clash_notes(warnings: list[dict]) -> list[str]:
    """The pages' notes: one line per clash, as the API words it."""
    return [f"Clash: {warning['message']}" for warning in warnings]
