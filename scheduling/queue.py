"""The posting queue (Buffer's posting schedule): weekly slots in the user's zone, and posts
placed in the next slot that holds none of the user's pending posts.

Everything that places or moves queued posts first locks the user's row, so two requests
queueing at once are serialized and never take the same slot."""
from datetime import date, datetime, time, timedelta
from typing import Iterator

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.services import user_set_timezone, user_timezone
from feed.services import post_text_clean

from psched.lib.db import db_now
from psched.lib.errors import Conflict
from psched.lib.timeparse import UTC, zone_get

from .models import WEEKDAYS, QueueSlot, ScheduledPost
from .selectors import clash_facts_forget
from .services import scheduled_post_reschedule, scheduled_posts_announce, scheduled_posts_insert
from .signals import scheduled_post_extras_changing, scheduled_post_text_changing

Status = ScheduledPost.Status
# How far to look for a free slot: one slot a week, ten years of posts queued ahead.
SEARCH_DAYS = 5 * 366
MAX_SLOTS = 200


def queue_zone(*, user) -> str:
    """The zone the user's slots are read in: their profile's, else UTC."""
    name = user_timezone(user=user)
    try:
        return zone_get(name).key if name else "UTC"
    except ValidationError:
        return "UTC"


def queue_slots(*, user) -> list[QueueSlot]:
    return list(QueueSlot.objects.filter(user=user).order_by("weekday", "time"))


def slot_time_parse(value) -> time:
    """"HH:MM" or "HH:MM:SS" (seconds let slots sit seconds apart)."""
    if not isinstance(value, str):
        raise ValidationError("Give the time as HH:MM, e.g. 09:30.")
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(f"{value[:20]!r} is not a time; write HH:MM, e.g. 09:30.") from None
    if parsed.tzinfo is not None or parsed.microsecond:
        raise ValidationError("Give the time as HH:MM or HH:MM:SS, without an offset: slots are in your zone.")
    return parsed


def queue_slots_clean(*, slots) -> list[tuple[int, time]]:
    """Validates a list of {"weekday": 0-6, "time": "HH:MM[:SS]"}; a ValidationError naming
    slots says which slot is wrong and how."""
    if not isinstance(slots, list):
        raise ValidationError({"slots": ['Send a list such as [{"weekday": 0, "time": "09:00"}].']})
    if len(slots) > MAX_SLOTS:
        raise ValidationError({"slots": [f"At most {MAX_SLOTS} slots a week; this has {len(slots)}."]})
    cleaned, errors = [], []
    for item in slots:
        problems = {}
        if not isinstance(item, dict):
            errors.append({"non_field_errors": ["Each slot is an object with weekday and time."]})
            continue
        weekday = item.get("weekday")
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            problems["weekday"] = ["Give the weekday as a number from 0 (Monday) to 6 (Sunday)."]
        try:
            at = slot_time_parse(item.get("time"))
        except ValidationError as error:
            problems["time"] = error.messages
        errors.append(problems)
        if not problems:
            cleaned.append((weekday, at))
    if any(errors):
        raise ValidationError({"slots": [
            f"slot {n}: {field}: {' '.join(messages)}"
            for n, problems in enumerate(errors, start=1)
            for field, messages in problems.items()
        ]})
    return sorted(set(cleaned))


def slot_instants(*, slots: list[tuple[int, time]], zone_name: str, after: datetime) -> Iterator[datetime]:
    """Every slot instant (UTC) after `after`, in order, week after week. A slot is a wall time
    in the zone: across a DST change it keeps its local time. A time that does not exist that
    day (spring gap) moves forward by the gap, as zoneinfo reads it (fold=0); a time that
    happens twice (autumn fold) is the first one."""
    zone = zone_get(zone_name)
    by_weekday = {}
    for weekday, at in slots:
        by_weekday.setdefault(weekday, []).append(at)
    if not by_weekday:
        return
    day: date = after.astimezone(zone).date() - timedelta(days=1)
    for _ in range(SEARCH_DAYS + 2):
        instants = sorted(
            datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)
            for at in by_weekday.get(day.weekday(), ())
        )
        for instant in instants:
            if instant > after:
                yield instant
        day += timedelta(days=1)


def _lock_user(user) -> None:
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def _taken(*, user, after: datetime, exclude_ids=()) -> set[datetime]:
    posts = ScheduledPost.objects.filter(author=user, status__in=ScheduledPost.UPCOMING, publish_at__gt=after)
    posts = posts.exclude(pk__in=exclude_ids)
    return set(posts.values_list("publish_at", flat=True))


def _next_free(slots, zone_name: str, after: datetime, taken: set[datetime]) -> datetime:
    for instant in slot_instants(slots=slots, zone_name=zone_name, after=after):
        if instant not in taken:
            return instant
    raise ValidationError({"queue": ["Every slot of the next five years is taken; add slots on /queue/."]})


def _slots_or_error(user) -> list[tuple[int, time]]:
    slots = [(slot.weekday, slot.time) for slot in queue_slots(user=user)]
    if not slots:
        raise ValidationError({"queue": ["You have no posting slots yet: add some on /queue/ (or PUT /api/queue/slots/)."]})
    return slots


def queue_next_slot(*, user, now: datetime | None = None) -> datetime:
    """The instant a post queued now would take (read only; queueing locks and re-reads)."""
    now = now or db_now()
    return _next_free(_slots_or_error(user), queue_zone(user=user), now, _taken(user=user, after=now))


def slot_describe(*, instant: datetime, zone_name: str) -> str:
    """"Tue 2031-07-01 09:00 Europe/Paris" (seconds only when the slot has them)."""
    local = instant.astimezone(zone_get(zone_name))
    clock = f"{local:%H:%M:%S}" if local.second else f"{local:%H:%M}"
    return f"{WEEKDAYS[local.weekday()]} {local:%Y-%m-%d} {clock} {zone_name}"


@transaction.atomic
def queued_post_create(*, author, text, now: datetime | None = None, extras: dict | None = None) -> ScheduledPost:
    """A new post in the author's next free slot after `now` (the database clock: a request's
    request_now, else read here). `extras`: for the apps above, e.g. its destinations."""
    text = post_text_clean(text)
    _lock_user(author)
    now = now or db_now()
    zone = queue_zone(user=author)
    instant = _next_free(_slots_or_error(author), zone, now, _taken(user=author, after=now))
    row = ScheduledPost(author=author, text=text, publish_at=instant, due_at=instant, timezone=zone, queued=True)
    row.extras = extras or {}
    return scheduled_posts_insert(rows=[row])[0]


@transaction.atomic
def scheduled_post_enqueue(
    *, scheduled_post_id: int, author, text=None, extras: dict | None = None, now: datetime | None = None
) -> ScheduledPost:
    """A draft (or a pending post) into the author's next free slot (`extras`: as for
    scheduled_post_update, e.g. its destinations)."""
    new_text = post_text_clean(text) if text is not None else None
    _lock_user(author)
    post = ScheduledPost.objects.select_for_update().get(pk=scheduled_post_id, author=author)
    if post.status not in (Status.DRAFT, Status.PENDING, Status.FAILED, Status.PUBLISHING):
        raise Conflict(f"This post is {post.status}; it can no longer be queued.")
    if extras:
        post.extras = extras  # a draft is announced with them, not its author's default set
        scheduled_post_extras_changing.send(sender=ScheduledPost, scheduled_post=post, extras=extras)
    was_draft = post.status == Status.DRAFT
    now = now or db_now()
    zone = queue_zone(user=author)
    instant = _next_free(_slots_or_error(author), zone, now, _taken(user=author, after=now, exclude_ids=[post.pk]))
    if new_text is not None:
        post.text = new_text
    if new_text is not None or "destinations" in (extras or {}):
        # It must fit every destination chosen (as in scheduled_post_update).
        scheduled_post_text_changing.send(sender=ScheduledPost, scheduled_post=post, text=post.text)
    post.queued, post.timezone = True, zone
    if was_draft:
        scheduled_posts_announce(posts=[post])  # its node, written by the save below
    scheduled_post_reschedule(post=post, publish_at=instant)
    return post


@transaction.atomic
def queue_slots_replace(*, user, slots, now: datetime | None = None) -> list[QueueSlot]:
    """Replaces the user's slots and re-places their queued posts that are not claimed yet,
    in their order, into the new slots. With no slots left, queued posts keep their times."""
    cleaned = queue_slots_clean(slots=slots)
    _lock_user(user)
    QueueSlot.objects.filter(user=user).delete()
    QueueSlot.objects.bulk_create([QueueSlot(user=user, weekday=weekday, time=at) for weekday, at in cleaned])
    # bulk_create sends no post_save: the clash check's copy of the user's slots, by hand.
    clash_facts_forget(user.pk)
    transaction.on_commit(lambda: clash_facts_forget(user.pk))
    if cleaned:
        queue_replace_posts(user=user, slots=cleaned, now=now)
    return queue_slots(user=user)


def queue_replace_posts(*, user, slots: list[tuple[int, time]], now: datetime | None = None) -> int:
    """Under the user's lock: queued pending posts, in their current order, into the first free
    slots after `now`. Returns how many moved."""
    now = now or db_now()
    queued = list(
        ScheduledPost.objects.select_for_update()
        .filter(author=user, queued=True, status=Status.PENDING)
        .order_by("publish_at", "pk")
    )
    if not queued:
        return 0
    zone = queue_zone(user=user)
    taken = _taken(user=user, after=now, exclude_ids=[post.pk for post in queued])
    instants = slot_instants(slots=slots, zone_name=zone, after=now)
    moved = 0
    for post in queued:
        instant = next((at for at in instants if at not in taken), None)
        if instant is None:
            break
        taken.add(instant)
        if instant != post.publish_at or post.timezone != zone:
            post.timezone = zone
            scheduled_post_reschedule(post=post, publish_at=instant)
            moved += 1
    return moved


@transaction.atomic
def queue_zone_set(*, user, zone_name: str, now: datetime | None = None) -> None:
    """Saves the zone on the user's profile and re-places their queued posts that are not
    claimed yet in it: slots are wall-clock times in that zone."""
    _lock_user(user)
    user_set_timezone(user=user, timezone_name=zone_name)
    slots = [(slot.weekday, slot.time) for slot in queue_slots(user=user)]
    if slots:
        queue_replace_posts(user=user, slots=slots, now=now)


def queue_posts(*, user):
    """The user's queued posts still to be published, in slot order."""
    posts = ScheduledPost.objects.filter(author=user, queued=True, status__in=ScheduledPost.UPCOMING)
    return posts.select_related("author", "dispatcher", "series").order_by("publish_at", "pk")


@transaction.atomic
def queue_move(*, user, scheduled_post_id: int, direction: str) -> ScheduledPost:
    """Swaps a queued post's slot with the one before ("up") or after ("down") it."""
    if direction not in ("up", "down"):
        raise ValidationError({"direction": ["Use up or down."]})
    _lock_user(user)
    order = list(ScheduledPost.objects.select_for_update().filter(author=user, queued=True, status=Status.PENDING)
                 .order_by("publish_at", "pk"))
    position = next((n for n, post in enumerate(order) if post.pk == scheduled_post_id), None)
    if position is None:
        raise Conflict("This post is not waiting in your queue (it may be publishing already).")
    other = position - 1 if direction == "up" else position + 1
    if not 0 <= other < len(order):
        return order[position]  # already first (or last): nothing to swap
    post, neighbour = order[position], order[other]
    first, second = neighbour.publish_at, post.publish_at
    scheduled_post_reschedule(post=post, publish_at=first)
    scheduled_post_reschedule(post=neighbour, publish_at=second)
    return post


@transaction.atomic
def queue_share_now(*, user, scheduled_post_id: int, now: datetime | None = None) -> ScheduledPost:
    """Publishes a queued post as soon as possible: due at `now` by the database clock (the one
    the claim decides by; a web host whose clock runs ahead would delay it by its skew). Its
    slot is free again."""
    _lock_user(user)
    post = ScheduledPost.objects.select_for_update().get(pk=scheduled_post_id, author=user)
    if not post.queued or post.status != Status.PENDING:
        raise Conflict("This post is not waiting in your queue (it may be publishing already).")
    post.queued = False
    scheduled_post_reschedule(post=post, publish_at=now or db_now())
    return post
