"""The calendar's grid and what goes in it.

The grid is built from real instants in the viewer's zone, never from naive hours: a day is
the span from one local midnight to the next (23 or 25 hours across a DST change), and a
cell is the span of one local hour. A week's rows are the union of the hours its days have,
so a 25-hour day gets a second "01:00" row (the other days have no cell there) and a 23-hour
day has no cell in the row of the hour the clocks skip. A post is placed by its instant, so a
post at the second occurrence of a folded hour lands in the second row."""
from bisect import bisect_right
from html import escape
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.db.models.functions import Left
from django.utils.safestring import mark_safe

from psched.lib.durations import duration_text

from .models import ScheduledPost, Series
from .queue import queue_slots, queue_zone, slot_instants
from .recurrence import series_between

UTC = dt_timezone.utc
Status = ScheduledPost.Status
VIEWS = ("day", "week", "month")
# Posts shown in one hour of the week or one day of the month; the rest are behind "+N more",
# a link to the day view, which shows every post. Keeps a week of 10,000 posts fast and usable.
CELL_LIMIT = 4
SHOWN = [Status.PENDING, Status.PUBLISHING, Status.PUBLISHED, Status.FAILED]


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) of a local day. fold=0 gives the first of an ambiguous midnight
    and, for a midnight the clocks skip, the instant the day really begins."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class Cell:
    """One local hour of one day: [start, end) in UTC; `posts` filled by place_posts."""

    day: date
    start: datetime
    end: datetime
    local: datetime  # the local time the cell starts at (aware, in the zone)
    posts: list = field(default_factory=list)
    slots: list = field(default_factory=list)
    upcoming: list = field(default_factory=list)

    @property
    def start_iso(self) -> str:
        return self.start.isoformat()

    @property
    def compose_value(self) -> str:
        """The local time for the compose form's datetime-local field."""
        return f"{self.local:%Y-%m-%dT%H:%M}"

    @property
    def label(self) -> str:
        return f"{self.local:%a %d %b %H:%M} {self.local.tzname()}"


@dataclass
class Row:
    hour: int
    occurrence: int  # 0, or 1 for the second time a local hour starts in a day (a DST fold)
    label: str
    cells: list  # one per day; None where that day has no such hour


@dataclass
class Day:
    day: date
    start: datetime
    end: datetime
    posts: list = field(default_factory=list)
    slots: list = field(default_factory=list)
    upcoming: list = field(default_factory=list)
    in_month: bool = True
    compose_value: str = ""  # the local time "+" composes at; "" for a day in the past

    @property
    def hours(self) -> float:
        return (self.end - self.start) / timedelta(hours=1)

    @property
    def start_iso(self) -> str:
        return self.start.isoformat()


def day_cells(day: date, zone: ZoneInfo) -> list[Cell]:
    """The local hours of one day, each as a span of real instants."""
    start, end = day_start(day, zone), day_start(day + timedelta(days=1), zone)
    cells, at = [], start
    while at < end:
        local = at.astimezone(zone)
        # The next local hour boundary, counted in real time (after a half-hour shift the
        # hour starts at :30, and the cell is half an hour long).
        step = timedelta(minutes=60 - local.minute, seconds=-local.second, microseconds=-local.microsecond)
        following = min(at + step, end)
        cells.append(Cell(day=day, start=at, end=following, local=local))
        at = following
    return cells


@dataclass
class Week:
    zone: ZoneInfo
    days: list  # of Day
    rows: list  # of Row

    @property
    def start(self) -> datetime:
        return self.days[0].start

    @property
    def end(self) -> datetime:
        return self.days[-1].end

    def cells(self):
        for row in self.rows:
            yield from (cell for cell in row.cells if cell is not None)


def week_grid(day: date, zone: ZoneInfo) -> Week:
    """Monday to Sunday around `day`: rows of local hours, one column per day."""
    return hours_grid(week_monday(day), 7, zone)


def hours_grid(first: date, count: int, zone: ZoneInfo) -> Week:
    """`count` days from `first`: rows of local hours, one column per day."""
    columns, keyed = [], {}
    for offset in range(count):
        current = first + timedelta(days=offset)
        seen = {}
        by_key = {}
        for cell in day_cells(current, zone):
            occurrence = seen.get(cell.local.hour, 0)
            seen[cell.local.hour] = occurrence + 1
            key = (cell.local.hour, occurrence)
            by_key[key] = cell
            keyed.setdefault(key, cell)
        columns.append((current, by_key))
    rows = []
    for key in sorted(keyed):
        hour, occurrence = key
        label = f"{hour:02d}:00"
        # A folded hour's two rows differ by their offsets: say which is which.
        fold_day = next((by_key for _, by_key in columns if (hour, 1) in by_key), None)
        if fold_day is not None:
            label += f" {fold_day[key].local.tzname()}" + (" (again)" if occurrence else "")
        rows.append(Row(hour=hour, occurrence=occurrence, label=label, cells=[by_key.get(key) for _, by_key in columns]))
    days = [
        Day(day=current, start=day_start(current, zone), end=day_start(current + timedelta(days=1), zone))
        for current, _ in columns
    ]
    return Week(zone=zone, days=days, rows=rows)


@dataclass
class Month:
    zone: ZoneInfo
    first: date
    weeks: list  # of lists of 7 Day

    @property
    def start(self) -> datetime:
        return self.weeks[0][0].start

    @property
    def end(self) -> datetime:
        return self.weeks[-1][-1].end

    def days(self):
        for week in self.weeks:
            yield from week


def month_grid(day: date, zone: ZoneInfo) -> Month:
    """The weeks (Monday first) that hold the month of `day`."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    current, weeks = week_monday(first), []
    while current < following:
        week = []
        for _ in range(7):
            week.append(Day(
                day=current, start=day_start(current, zone), end=day_start(current + timedelta(days=1), zone),
                in_month=current.month == first.month,
            ))
            current += timedelta(days=1)
        weeks.append(week)
    return Month(zone=zone, first=first, weeks=weeks)


def month_step(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# --- what goes in the grid ----------------------------------------------------------------

CALENDAR_FIELDS = [
    "id", "publish_at", "timezone", "status", "attempts", "last_error", "published_at", "lateness_ms",
    "dispatcher__name", "queued", "series", "series_index", "series_detached",
]


def calendar_posts(*, author, cells: list, with_cancelled: bool = False) -> list[dict]:
    """The author's posts in the span of `cells` (sorted, end to end), and their drafts, in ONE
    query, as plain rows (10,000 posts are read without building a model instance for each)."""
    statuses = SHOWN + ([Status.CANCELLED] if with_cancelled else [])
    mine = ScheduledPost.objects.filter(author=author)
    # The start of the text is all a chip shows: the database cuts it.
    columns = dict(text_start=Left("text", TEXT_TITLE))
    drafts = mine.filter(status=Status.DRAFT)
    if not cells:  # a local day the zone skipped (2011-12-30 in Pacific/Apia) has no hours
        return list(drafts.values(*CALENDAR_FIELDS, **columns).order_by("-updated_at", "-id"))
    dated = mine.filter(status__in=statuses, publish_at__gte=cells[0].start, publish_at__lt=cells[-1].end)
    # UNION ALL rather than OR: each half is a range on the (author, status, publish_at) index.
    rows = dated.values(*CALENDAR_FIELDS, **columns).union(drafts.values(*CALENDAR_FIELDS, **columns), all=True)
    return list(rows.order_by("publish_at", "id"))


def queue_slot_placeholders(*, user, cells: list, posts: list[dict], now: datetime) -> None:
    """Puts the user's free queue slots (instants in the queue's zone that hold no pending post)
    in the cells, as empty placeholders. One query for the slots; the posts are those read."""
    slots = [(slot.weekday, slot.time) for slot in queue_slots(user=user)]
    if not slots or not cells:
        return
    taken = {post["publish_at"] for post in posts if post["status"] in ScheduledPost.UPCOMING}
    starts = [cell.start for cell in cells]
    zone_name = queue_zone(user=user)
    for instant in slot_instants(slots=slots, zone_name=zone_name, after=max(now, cells[0].start - timedelta(microseconds=1))):
        if instant >= cells[-1].end:
            break
        if instant in taken:
            continue
        index = bisect_right(starts, instant) - 1
        if index >= 0 and instant < cells[index].end:
            cells[index].slots.append(instant)


def series_placeholders(*, user, cells: list, now: datetime) -> None:
    """Puts the occurrences of the user's active series that are not posts yet (they are made
    some time before they are due) in the cells, as placeholders. One query for the series;
    each is expanded only over the cells' span (series_between)."""
    if not cells:
        return
    starts, end = [cell.start for cell in cells], cells[-1].end
    for series in Series.objects.filter(author=user, active=True, error=""):
        made_until = max(series.materialized_until or now, now)
        for occurrence in series_between(series=series, after=max(cells[0].start, made_until), before=end, now=now):
            if occurrence.instant <= made_until:
                continue
            index = bisect_right(starts, occurrence.instant) - 1
            if index >= 0:
                cells[index].upcoming.append((occurrence, series))


def clashes_mark(*, cells: list, window: timedelta) -> int:
    """Marks what clashes among the cells' pending posts and series occurrences still to be
    made: two within `window` of each other are both marked (post["clash"] = True; an
    occurrence goes into its cell's `clashing` set). In memory, one sort: of each run of
    items closer than the window, every one has a neighbour that close. Returns how many."""
    items = []
    for cell in cells:
        cell.clashing = set()
        items += [(post["publish_at"], post, None) for post in cell.posts if post["status"] in ScheduledPost.UPCOMING]
        items += [(occurrence.instant, (occurrence, series), cell) for occurrence, series in cell.upcoming]
    if not window:
        return 0
    items.sort(key=lambda item: item[0])
    marked = set()
    for earlier, later in zip(items, items[1:]):
        if later[0] - earlier[0] <= window:
            marked.update((id(earlier[1]), id(later[1])))
    for _, item, cell in items:
        if id(item) not in marked:
            continue
        if cell is None:
            item["clash"] = True
        else:
            cell.clashing.add((item[1].pk, item[0].instant))
    return len(marked)


def place_posts(*, cells: list, posts: list[dict], zone: ZoneInfo) -> list[dict]:
    """Puts each dated post in the cell (or day) whose span holds its instant; returns the
    drafts. `cells` is sorted by start and has `start`, `end` and `posts`."""
    starts = [cell.start for cell in cells]
    drafts = []
    for post in posts:
        if post["publish_at"] is None:
            drafts.append(post)
            continue
        index = bisect_right(starts, post["publish_at"]) - 1
        if index >= 0 and post["publish_at"] < cells[index].end:
            cells[index].posts.append(post)
    return drafts


# --- chips: one post as HTML -------------------------------------------------------------
# Built with f-strings and html.escape rather than a template per post: a week of 10,000
# posts renders in tens of milliseconds instead of seconds. Every value from a post is escaped.

TEXT_START = 60
TEXT_TITLE = 200


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def post_chip(post: dict, *, zone: ZoneInfo) -> str:
    """One post of the calendar: a link to its edit page (the no-JavaScript path), its local
    time, the start of its text and its state; data-* attributes for calendar.js."""
    pk, status = post["id"], post["status"]
    text = post["text_start"]
    start = text[:TEXT_START] + ("…" if len(text) > TEXT_START else "")
    classes = f"cal-post s-{status}"
    states = status
    if post.get("queued"):
        classes += " queued"
        states += " · queued"
    if post.get("series"):
        classes += " series"
        index = post.get("series_index")  # 1-based
        states += f" · series {post['series']}" + (f", {_ordinal(index)} occurrence" if index else "")
    if post.get("clash"):
        classes += " clash"
        states += " · clash"
    editable = status not in (Status.PUBLISHED, Status.CANCELLED)
    href = f"/scheduled/{pk}/edit/" if editable else f"/scheduled/#scheduled-{pk}"
    local_attr = ""
    if post["publish_at"] is None:
        when_html, at = '<span class="cal-time">draft</span>', ""
    else:
        local = post["publish_at"].astimezone(zone)
        at = post["publish_at"].isoformat()
        label = f"{local.hour:02d}:{local.minute:02d}"
        local_attr = f' data-local="{label}:{local.second:02d}"'
        if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
            label += f" {local.tzname()}"  # a wall time that happens twice: which one
        when_html = f'<time class="cal-time" datetime="{at}">{label}</time>'
    # An occurrence the series still governs: a move asks "only this one, or the following too?"
    series_attr = ""
    if post.get("series") and post.get("series_index") and not post.get("series_detached"):
        series_attr = f' data-series="{post["series"]}" data-index="{post["series_index"]}"'
    extra = ""
    if status == Status.PUBLISHED and post["published_at"]:
        published = post["published_at"].astimezone(zone)
        node = escape(post.get("dispatcher__name") or "—")
        extra = (
            f'<span class="cal-receipt">Published {published:%H:%M:%S} · {duration_text(post["lateness_ms"])} late'
            f" · node {node}</span>"
        ) + deliveries_badge(post.get("deliveries"))
    elif status == Status.FAILED:
        # The author's plain reason, as on /scheduled/ and in the API: last_error itself is for staff.
        reason = ScheduledPost(last_error=post["last_error"]).public_error or "no error recorded"
        extra = f'<span class="cal-receipt error">Failed: {escape(reason)}</span>'
    return (
        f'<li class="{classes}" id="cal-post-{pk}" data-id="{pk}" data-status="{status}" data-at="{at}"{local_attr}{series_attr}'
        f' data-zone="{escape(post["timezone"] or "")}" title="{escape(text)}">'
        f'<a class="cal-link" href="{href}">{when_html} <span class="cal-text">{escape(start)}</span>'
        f'<span class="cal-state">{escape(states)}</span>{extra}</a></li>'
    )


def deliveries_badge(deliveries: list) -> str:
    """A published post's deliveries in one badge: the worst state, each delivery in its
    tooltip. Empty without deliveries. `deliveries`: objects with `state`, `error` and
    `destination.name` (the apps above give them, see scheduled_posts_extensions)."""
    if not deliveries:
        return ""
    states = [delivery.state for delivery in deliveries]
    failed, unconfirmed = states.count("failed"), states.count("unconfirmed")
    if failed:
        state, label = "failed", f"{failed} deliver{'y' if failed == 1 else 'ies'} failed"
    elif unconfirmed:
        state, label = "unconfirmed", f"{unconfirmed} deliver{'y' if unconfirmed == 1 else 'ies'} unconfirmed"
    elif all(value in ("delivered", "cancelled") for value in states):
        state, label = "delivered", "delivered"
    else:
        state, label = "pending", "delivering"
    tooltip = "\n".join(
        f"To {delivery.destination.name}: {delivery.state}"
        + (f" ({delivery.error})" if delivery.error and delivery.state != "delivered" else "")
        for delivery in deliveries
    )
    return f'<span class="cal-delivery d-{state}" title="{escape(tooltip)}">{escape(label)}</span>'


def slot_chip(instant: datetime, *, zone: ZoneInfo) -> str:
    """A free queue slot: a link to write a post for it."""
    local = instant.astimezone(zone)
    compose = f"/?publish_at={local:%Y-%m-%dT%H:%M:%S}&amp;timezone={escape(zone.key)}#compose"
    return (
        f'<li class="cal-slot" data-at="{instant.isoformat()}"><a href="{compose}">'
        f'<time datetime="{instant.isoformat()}">{local:%H:%M}</time> free queue slot</a></li>'
    )


def upcoming_chip(occurrence, series, *, zone: ZoneInfo, clash: bool = False) -> str:
    local = occurrence.instant.astimezone(zone)
    text = series.text[:TEXT_START] + ("…" if len(series.text) > TEXT_START else "")
    return (
        f'<li class="cal-slot cal-upcoming{" clash" if clash else ""}" data-at="{occurrence.instant.isoformat()}">'
        f'<a href="/scheduled/series/{series.pk}/edit/"><time datetime="{occurrence.instant.isoformat()}">{local:%H:%M}</time>'
        f' {escape(text)}<span class="cal-state">series {series.pk}'
        + (f", {_ordinal(occurrence.index)} occurrence" if occurrence.index else "")
        + " · made nearer the time" + (" · clash" if clash else "") + "</span></a></li>"
    )


def cells_html(cells, *, zone: ZoneInfo, limit: int | None = None, more_url=None) -> None:
    """Sets each cell's `html`: its free queue slots, the series occurrences still to be made,
    and its posts as chips, at most `limit` of them, then a "+N more" link to more_url(cell)."""
    for cell in cells:
        slots = "".join(slot_chip(instant, zone=zone) for instant in cell.slots)
        clashing = getattr(cell, "clashing", ())
        slots += "".join(upcoming_chip(occurrence, series, zone=zone, clash=(series.pk, occurrence.instant) in clashing)
                         for occurrence, series in cell.upcoming)
        shown = cell.posts if limit is None else cell.posts[:limit]
        html = slots + "".join(post_chip(post, zone=zone) for post in shown)
        hidden = len(cell.posts) - len(shown)
        if hidden > 0:
            html += f'<li class="cal-more"><a href="{escape(more_url(cell))}">+{hidden} more</a></li>'
        cell.html = mark_safe(html)
