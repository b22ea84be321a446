"""Writes to destinations and deliveries: creating and managing destinations, the outbox rows
written when a post is published, and the claim → send → record cycle of a delivery."""
import logging
import random
import secrets
import threading
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce

from psched.lib.db import db_now, ids_sql
from psched.lib.encryption import SecretUnreadable, secret_decrypt, secret_encrypt, secret_is_current, secret_reencrypt
from psched.lib.errors import Conflict
from scheduling.models import ScheduledPost

from .kinds import KINDS, DeliveryJob, Outcome, kind_get
from .models import Delivery, Destination, Selection, SeriesChoice
from .selectors import selections_by_scheduled_post, series_choices_read

logger = logging.getLogger("destinations")
State = Delivery.State
DestinationState = Destination.State
NAME_MAX = Destination._meta.get_field("name").max_length


# --- destinations -----------------------------------------------------------------------

def destination_input_clean(*, owner, name, kind: str, config: dict) -> tuple[str, str, dict]:
    """Checks a new destination's name, kind and the kind's config; raises ValidationError
    naming each bad field."""
    errors = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = ["Give the destination a name."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"At most {NAME_MAX} characters."]
    elif Destination.objects.filter(owner=owner, name=name).exists():
        errors["name"] = ["You already have a destination of that name."]
    if kind not in KINDS or kind == "feed":
        addable = ", ".join(name for name in KINDS if name != "feed")
        errors["kind"] = [f"Use one of: {addable} (the feed is always included)."]
    else:
        try:
            config = kind_get(kind).clean(config=config)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return name, kind, config


def destination_create(*, owner, name, kind: str, config: dict, is_default: bool = False) -> tuple[Destination, str]:
    """A new destination and its secret in clear (to show once; only its encryption is kept)."""
    name, kind, config = destination_input_clean(owner=owner, name=name, kind=kind, config=config)
    secret_field = kind_get(kind).secret_field
    given = config.pop(secret_field, "") if secret_field else ""
    session = config.pop("session", "")
    secret = given or kind_get(kind).secret_new()
    try:
        destination = Destination.objects.create(
            owner=owner, name=name, kind=kind, config=config, is_default=is_default,
            secret_encrypted=secret_encrypt(secret) if secret else "",
            session_encrypted=secret_encrypt(session) if session else "",
        )
    except IntegrityError:
        raise ValidationError({"name": ["You already have a destination of that name."]}) from None
    default_sets_forget()
    logger.info("destination %s (%s) created for user %s", destination.pk, kind, owner.pk)
    return destination, "" if given else secret  # a secret the user gave is not shown back


def destination_secrets(destination: Destination, *, now: datetime) -> list[str]:
    """The secrets that sign now, newest first: the previous one too during its grace period."""
    found = [secret_decrypt(destination.secret_encrypted)] if destination.secret_encrypted else []
    if destination.previous_secret_encrypted and destination.previous_secret_until and destination.previous_secret_until > now:
        found.append(secret_decrypt(destination.previous_secret_encrypted))
    return found


@transaction.atomic
def destination_rotate_secret(*, destination_id: int, owner) -> tuple[Destination, str]:
    """A new secret; the old one keeps signing beside it for PSCHED_WEBHOOK_ROTATION_GRACE_SECONDS."""
    destination = Destination.objects.select_for_update().get(pk=destination_id, owner=owner)
    kind = kind_get(destination.kind)
    if not kind.has_secret or kind.secret_field:
        raise Conflict(f"A {destination.kind} destination has no secret of psched's to rotate"
                       + (f"; give it a new {kind.secret_field.replace('_', ' ')} instead." if kind.secret_field else "."))
    secret = kind.secret_new()
    destination.previous_secret_encrypted = destination.secret_encrypted
    destination.previous_secret_until = db_now() + timedelta(seconds=settings.PSCHED_WEBHOOK_ROTATION_GRACE_SECONDS)
    destination.secret_encrypted = secret_encrypt(secret)
    destination.save()
    logger.info("destination %s: secret rotated", destination.pk)
    return destination, secret


SECRET_FIELDS = ("secret_encrypted", "previous_secret_encrypted", "session_encrypted")


@dataclass
class ReencryptReport:
    reencrypted: int = 0  # destinations whose secrets were moved to the newest key
    current: int = 0  # destinations already under it
    unreadable: list[int] = field(default_factory=list)  # destinations no configured key decrypts (a key was dropped too early)


def destinations_secrets_reencrypt() -> ReencryptReport:
    """Every destination's secrets (its secret, the previous one, its session) encrypted again
    under the newest key of PSCHED_SECRETS_KEYS, so that the older keys can be dropped. Each row
    is written only if its secrets did not change meanwhile (a rotation or a new password in
    between wins; run it again). Running it twice changes nothing the second time."""
    report = ReencryptReport()
    for row in Destination.objects.order_by("pk").values("pk", *SECRET_FIELDS).iterator(chunk_size=500):
        stored = {name: row[name] for name in SECRET_FIELDS if row[name]}
        if all(secret_is_current(token) for token in stored.values()):
            report.current += 1
            continue
        try:
            moved = {name: secret_reencrypt(token) for name, token in stored.items()}
        except SecretUnreadable:
            report.unreadable.append(row["pk"])
            continue
        if Destination.objects.filter(pk=row["pk"], **stored).update(**moved):
            report.reencrypted += 1
    if report.reencrypted:
        logger.info("secrets of %s destinations re-encrypted under the newest key", report.reencrypted)
    return report


def destination_set_state(*, destination_id: int, owner, state: str) -> Destination:
    """Pause (deliveries wait) or resume (also a destination psched disabled, once fixed)."""
    if state not in (DestinationState.ACTIVE, DestinationState.PAUSED):
        raise ValidationError({"state": ["Use active or paused."]})
    destination = Destination.objects.get(pk=destination_id, owner=owner)
    Destination.objects.filter(pk=destination.pk).update(state=state, state_reason="", updated_at=db_now())
    destination.state, destination.state_reason = state, ""
    default_sets_forget()
    return destination


def destination_delete(*, destination_id: int, owner) -> None:
    """Removes the destination: posts not yet published no longer go there, and its deliveries
    (pending or done) go with it. A send in flight finishes; its record finds no row."""
    deleted, _ = Destination.objects.filter(pk=destination_id, owner=owner).delete()
    default_sets_forget()
    if not deleted:
        raise Destination.DoesNotExist()


def destination_test(*, destination_id: int, owner) -> Outcome:
    """Sends a `destination.test` event now, from this process, and says how it went."""
    destination = Destination.objects.get(pk=destination_id, owner=owner)
    now = db_now()
    job = DeliveryJob(
        key=f"msg_test_{uuid.uuid4().hex}",
        event_type="destination.test",
        data={"destination": destination.pk, "name": destination.name},
        occurred_at=now,
        sent_at=now,
        attempt=1,
        config=destination.config,
        secrets=destination_secrets(destination, now=now),
    )
    return kind_get(destination.kind).check(job=job)


# --- a scheduled post's destinations (receivers of scheduling's signals) ----------------

# A destination's id is a positive BigAutoField: a number outside it names none (and a query
# with it would overflow the database's integer).
MAX_ID = 2 ** 63 - 1


def _unknown_error(unknown: list[int]) -> ValidationError:
    named = ", ".join(map(str, unknown[:10])) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
    return ValidationError({"destinations": [
        f"No destination of yours with id {named} (or it is disabled); GET /api/destinations/ lists yours."
    ]})


def _ids_clean(value) -> list[int]:
    if not isinstance(value, list) or any(not isinstance(item, int) or isinstance(item, bool) for item in value):
        raise ValidationError({"destinations": ["Give a list of your destinations' ids (the feed needs none)."]})
    ids = list(dict.fromkeys(value))
    if unknown := [pk for pk in ids if not 0 < pk <= MAX_ID]:
        raise _unknown_error(unknown)
    return ids


# Each process reads a user's default set at most once a second (it cost as much as the
# post's INSERT at one post a request); a change made in another process applies to posts
# scheduled a second later at most. Changes made in this process apply at once.
DEFAULT_SETS_SECONDS = 1.0
_default_sets: dict[int, tuple[float, list[int]]] = {}


def default_sets_forget() -> None:
    _default_sets.clear()


def default_sets_read(*, owner_ids, cached: bool) -> dict[int, list[int]]:
    """{owner id: ids of their active default destinations}."""
    now = time.monotonic()
    found, missing = {}, []
    for owner_id in owner_ids:
        entry = _default_sets.get(owner_id)
        if cached and entry and entry[0] > now:
            found[owner_id] = entry[1]
        else:
            missing.append(owner_id)
    if missing:
        read = defaultdict(list)
        for pk, owner_id in Destination.objects.filter(
            owner_id__in=missing, is_default=True, state=DestinationState.ACTIVE
        ).values_list("pk", "owner_id"):
            read[owner_id].append(pk)
        if len(_default_sets) > 10000:
            _default_sets.clear()
        for owner_id in missing:
            found[owner_id] = read[owner_id]
            _default_sets[owner_id] = (now + DEFAULT_SETS_SECONDS, read[owner_id])
    return found


def scheduled_posts_destinations_choose(*, scheduled_posts, fresh: bool = True, **signal) -> bool:
    """Receives scheduled_posts_creating: each new post's chosen destinations (its `extras`
    "destinations", else its author's default set), checked to be its author's own. Answers
    True when some post has one, so that scheduled_posts_created follows."""
    wanted, defaults_for = {}, set()
    series_ids = {row.series_id for row in scheduled_posts if getattr(row, "series_id", None)
                  and "destinations" not in (getattr(row, "extras", None) or {})}
    # A series' occurrences get the series' choice, when it has one (checked when it was made).
    series_choices = series_choices_read(series_ids=series_ids) if series_ids else {}
    # A draft being scheduled (it has an id) keeps the choice it was saved with.
    drafts = [row.pk for row in scheduled_posts
              if row.pk is not None and "destinations" not in (getattr(row, "extras", None) or {})]
    kept = selections_by_scheduled_post(ids=drafts) if drafts else {}
    for row in scheduled_posts:
        extras = getattr(row, "extras", None) or {}
        if "destinations" in extras:
            wanted[id(row)] = _ids_clean(extras["destinations"])
        elif row.pk is not None:
            row.destination_ids = kept.get(row.pk, [])
        elif getattr(row, "series_id", None) in series_choices:
            row.destination_ids = list(series_choices[row.series_id])
        else:
            defaults_for.add(row.author_id)
    owned = defaultdict(set)
    asked = {pk for ids in wanted.values() for pk in ids}
    if asked:
        for pk, owner_id in Destination.objects.filter(pk__in=asked).exclude(
            state=DestinationState.DISABLED
        ).values_list("pk", "owner_id"):
            owned[owner_id].add(pk)
    defaults = default_sets_read(owner_ids=defaults_for, cached=not fresh) if defaults_for else {}
    for row in scheduled_posts:
        if id(row) in wanted:
            unknown = [pk for pk in wanted[id(row)] if pk not in owned[row.author_id]]
            if unknown:
                raise _unknown_error(unknown)
            row.destination_ids = wanted[id(row)]
        elif row.pk is None and getattr(row, "series_id", None) not in series_choices:
            row.destination_ids = list(defaults[row.author_id])
    scheduled_posts_texts_check(scheduled_posts=scheduled_posts)
    return any(row.destination_ids for row in scheduled_posts)


def drafts_destinations_keep(*, scheduled_posts, **signal) -> None:
    """Receives drafts_created, in the drafts' INSERT transaction: each draft's choice (its
    `extras` "destinations", checked to be its author's own; else its author's default set as
    it is now), kept as its selections so that the draft is scheduled with it later and its
    edit page shows it ticked."""
    defaults_for = {row.author_id for row in scheduled_posts if "destinations" not in row.extras}
    defaults = default_sets_read(owner_ids=defaults_for, cached=False) if defaults_for else {}
    for row in scheduled_posts:
        if "destinations" in row.extras:
            row.destination_ids = _owned_ids(row.extras["destinations"], owner_id=row.author_id)
        else:
            row.destination_ids = list(defaults[row.author_id])
    scheduled_posts_texts_check(scheduled_posts=scheduled_posts)
    scheduled_posts_destinations_save(scheduled_posts=scheduled_posts)


def series_extend(*, series, **signal) -> dict[int, dict]:
    """Receives scheduling's series_serializing: each series' destinations, those its
    occurrences get: its choice, else its author's default set."""
    chosen = series_choices_read(series_ids=[item.pk for item in series])
    defaults = default_sets_read(owner_ids={item.author_id for item in series if item.pk not in chosen}, cached=False)
    return {item.pk: {"destinations": chosen.get(item.pk, defaults.get(item.author_id, []))} for item in series}


def scheduled_post_destinations_change(*, scheduled_post, extras: dict, **signal) -> None:
    """Receives scheduled_post_extras_changing (an edit, the post locked): replaces its choices."""
    if "destinations" not in extras:
        return
    ids = _owned_ids(extras["destinations"], owner_id=scheduled_post.author_id)
    _selections_replace(scheduled_post_ids=[scheduled_post.pk], destination_ids=ids)


def _owned_ids(value, *, owner_id: int) -> list[int]:
    """The ids asked for, each checked to be one of the owner's destinations, not disabled."""
    ids = _ids_clean(value)
    owned = set(Destination.objects.filter(pk__in=ids, owner_id=owner_id).exclude(
        state=DestinationState.DISABLED).values_list("pk", flat=True))
    unknown = [pk for pk in ids if pk not in owned]
    if unknown:
        raise _unknown_error(unknown)
    return ids


def _selections_replace(*, scheduled_post_ids: list[int], destination_ids: list[int]) -> None:
    Selection.objects.filter(scheduled_post_id__in=scheduled_post_ids).delete()
    Selection.objects.bulk_create([
        Selection(scheduled_post_id=post_id, destination_id=pk) for post_id in scheduled_post_ids for pk in destination_ids
    ])


def series_destinations_change(*, series, extras: dict, **signal) -> None:
    """Receives series_extras_changing (a series created or edited, locked): keeps the series'
    choice, which the occurrences it makes from now on get, and gives it to the occurrences it
    still governs (not published, not made posts of their own)."""
    if "destinations" not in extras:
        _series_text_check(series)
        return
    ids = _owned_ids(extras["destinations"], owner_id=series.author_id)
    series.destination_ids = ids
    scheduled_posts_texts_check(scheduled_posts=[series])
    choice, _ = SeriesChoice.objects.get_or_create(series_id=series.pk)
    choice.destinations.set(ids)
    governed = list(ScheduledPost.objects.filter(
        series_id=series.pk, status__in=[*ScheduledPost.UPCOMING, ScheduledPost.Status.FAILED], series_detached=False,
    ).values_list("pk", flat=True))
    if governed:
        _selections_replace(scheduled_post_ids=governed, destination_ids=ids)


def _series_text_check(series) -> None:
    """A series' new text must fit where it goes: its choice (or, without one, its author's
    default set, which its next occurrences get) and the choices of the occurrences it governs."""
    ids = set(Selection.objects.filter(
        scheduled_post__series_id=series.pk, scheduled_post__series_detached=False,
        scheduled_post__status__in=[*ScheduledPost.UPCOMING, ScheduledPost.Status.FAILED],
    ).values_list("destination_id", flat=True))
    choice = SeriesChoice.objects.filter(series_id=series.pk).first()
    if choice is not None:
        ids.update(choice.destinations.values_list("pk", flat=True))
    else:
        ids.update(default_sets_read(owner_ids=[series.author_id], cached=False)[series.author_id])
    series.destination_ids = sorted(ids)
    scheduled_posts_texts_check(scheduled_posts=[series])


def scheduled_post_text_check(*, scheduled_post, text: str, **signal) -> None:
    """Receives scheduled_post_text_changing: an edited text must fit the post's destinations too."""
    scheduled_post.destination_ids = list(
        Selection.objects.filter(scheduled_post_id=scheduled_post.pk).values_list("destination_id", flat=True)
    )
    scheduled_post.text = text
    scheduled_posts_texts_check(scheduled_posts=[scheduled_post])


def scheduled_posts_texts_check(*, scheduled_posts) -> None:
    """A text that a chosen destination would refuse (too long for Bluesky) is refused now,
    when the post is scheduled, not when it is delivered."""
    chosen = {pk for row in scheduled_posts for pk in row.destination_ids}
    if not chosen:
        return
    kinds = dict(Destination.objects.filter(pk__in=chosen).values_list("pk", "kind"))
    for number, row in enumerate(scheduled_posts):
        for pk in row.destination_ids:
            kind = KINDS.get(kinds.get(pk))
            problem = kind.text_problem(text=row.text) if kind else None
            if problem:
                where = f"Post {number}: " if len(scheduled_posts) > 1 else ""
                raise ValidationError({"text": [f"{where}{problem} (for your {kind.label} destination)"]})


def scheduled_posts_destinations_save(*, scheduled_posts, **signal) -> None:
    """Receives scheduled_posts_created: the choices, in the INSERT's transaction (or, for a
    draft being scheduled, its save's)."""
    Selection.objects.bulk_create(ignore_conflicts=True, objs=[
        Selection(scheduled_post_id=row.pk, destination_id=pk)
        for row in scheduled_posts for pk in getattr(row, "destination_ids", [])
    ])


def deliveries_create(*, published: dict[int, int], now: datetime, **signal) -> int:
    """Receives scheduled_posts_published, inside the publishing transaction: the outbox. One
    pending delivery per chosen destination that is not disabled (a paused one keeps it
    waiting), each with its key fixed now, before any try."""
    chosen = _selections_read(list(published))
    if not chosen:
        return 0
    configs = {destination_id: (kind, config) for _, destination_id, kind, config in chosen}
    rows = [
        Delivery(
            post_id=published[scheduled_post_id], scheduled_post_id=scheduled_post_id, destination_id=destination_id,
            key=f"msg_{uuid.uuid4().hex}", state=State.PENDING, next_try_at=now,
        )
        for scheduled_post_id, destination_id, _, _ in chosen
    ]
    if rows:
        Delivery.objects.bulk_create(rows)
        deliveries_remote_ids_fix(rows=rows, configs=configs, now=now)
        collected = getattr(_fresh, "collected", None)
        if collected is not None:
            fresh = [(row.scheduled_post_id, row.pk) for row in rows]
            transaction.on_commit(lambda: [collected.setdefault(post, []).append(pk) for post, pk in fresh])
    return len(rows)


# The deliveries this thread's publishing wrote, while a deliveries_fresh_collect() is open.
_fresh = threading.local()


@contextmanager
def deliveries_fresh_collect():
    """Inside the block, the deliveries that this thread's publishing writes are collected, once
    their transaction commits, as {scheduled post id: [delivery ids]}: the callback answers
    them, so that the node that published them claims them by their keys (deliveries_claim_ids)
    the moment it has the answer, instead of searching for what is due."""
    collected: dict[int, list[int]] = {}
    previous = getattr(_fresh, "collected", None)
    _fresh.collected = collected
    try:
        yield collected
    finally:
        _fresh.collected = previous


def _selections_read(scheduled_post_ids: list[int]) -> list[tuple[int, int, str, dict]]:
    """(scheduled post id, destination id, kind, config) of the posts' chosen destinations that
    are not disabled: one read in the publishing transaction (each of its round trips is time
    its deliveries wait for). On MariaDB/MySQL written out with STRAIGHT_JOIN from the
    selections, by their scheduled post: left to itself, MariaDB drove the join from the
    destinations, through every post ever sent to them. Elsewhere, the ORM's join."""
    if connection.vendor != "mysql":
        return list(Selection.objects.filter(scheduled_post_id__in=scheduled_post_ids).exclude(
            destination__state=DestinationState.DISABLED,
        ).values_list("scheduled_post_id", "destination_id", "destination__kind", "destination__config"))
    quote = connection.ops.quote_name
    config_field = Destination._meta.get_field("config")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.scheduled_post_id, s.destination_id, t.kind, t.config FROM {quote(Selection._meta.db_table)} s "
            f"STRAIGHT_JOIN {quote(Destination._meta.db_table)} t ON t.id = s.destination_id "
            f"WHERE s.scheduled_post_id IN ({ids_sql(scheduled_post_ids)}) AND t.state <> %s",
            [DestinationState.DISABLED.value],
        )
        return [(post_id, destination_id, kind, config_field.from_db_value(config, None, connection))
                for post_id, destination_id, kind, config in cursor.fetchall()]


def deliveries_remote_ids_fix(*, rows: list[Delivery], configs: dict, now: datetime) -> None:
    """Kinds that choose the remote id themselves (a Bluesky record key) fix it now, from the
    delivery's id, before any try. The INSERT gave the ids (MariaDB and SQLite return them)."""
    fixed = []
    for row in rows:
        kind, config = configs[row.destination_id]
        remote_id = kind_get(kind).remote_id_new(config=config, delivery_id=row.pk, created_at=now) if kind in KINDS else ""
        if remote_id:
            row.remote_id = remote_id
            fixed.append(row)
    if fixed:
        Delivery.objects.bulk_update(fixed, ["remote_id"], batch_size=500)


# --- the delivery cycle: claim, send (no transaction held), record ----------------------

@dataclass(frozen=True)
class DeliveryClaim:
    delivery: int
    claim_token: str
    version: int
    was: str  # its state before the claim: pending or unconfirmed (the outcome of a try is unknown)


def deliveries_release_expired(*, now: datetime) -> int:
    """Deliveries whose sender vanished mid-send (lease expired): their outcome is unknown, so
    they become unconfirmed, to be reconciled before anything is sent again. A plain read
    first: most calls find nothing and take no lock."""
    expired = Delivery.objects.filter(state=State.SENDING, lease_until__lt=now)
    ids = list(expired.values_list("pk", flat=True)[:5000])
    if not ids:
        return 0
    released = expired.filter(pk__in=ids).update(
        state=State.UNCONFIRMED, claim_token="", lease_until=None, next_try_at=now,
        error="The node sending it stopped mid-send: the outcome is unknown.",
    )
    if released:
        logger.warning("%s deliveries whose sender stopped mid-send are unconfirmed", released)
    return released


def deliveries_lease_renew(*, claims: list[DeliveryClaim], now: datetime) -> int:
    """A new lease, from now, for claimed deliveries whose sends are still running: a claim
    that takes longer than its lease (a loaded machine, a slow receiver) is not taken for a
    dead node's and reconciled by another node meanwhile. Only while each claim holds (its
    token, still sending): a delivery already released or taken over stays with its new owner."""
    if not claims:
        return 0
    return Delivery.objects.filter(
        pk__in=[claim.delivery for claim in claims], claim_token__in={claim.claim_token for claim in claims},
        state=State.SENDING,
    ).update(lease_until=now + timedelta(seconds=settings.PSCHED_DELIVERY_LEASE_SECONDS))


def deliveries_due(*, now: datetime):
    ready = Destination.objects.filter(state=DestinationState.ACTIVE).exclude(not_before__gt=now)
    return Delivery.objects.filter(
        state__in=[State.PENDING, State.UNCONFIRMED], next_try_at__lte=now, destination_id__in=ready.values("pk"),
    )


def _due_rows(*, now: datetime, limit: int, lock: bool) -> list[tuple[int, int, str]]:
    """(id, version, state) of up to `limit` due deliveries of ready destinations, locked
    (SKIP LOCKED) when `lock`. On MariaDB/MySQL the rows are read through delivery_due_idx in
    its order and stop at `limit`, each destination's readiness looked up by its key: written
    with the ORM, the destination filter became a semi-join driven from the destinations, so
    every claim read (and locked) every delivery a destination ever had, and two nodes could
    not claim side by side. What is due is judged by the database clock in the statement too
    (or `now`, when later): a node's copy of that clock (DatabaseClock) runs behind it by the
    time its read took to come back, and a delivery published just before the claim (a node
    wakes its loop as the callback answers) would wait for the next poll. Elsewhere, the
    ORM's query, oldest first."""
    if connection.vendor != "mysql":
        candidates = deliveries_due(now=now).order_by("next_try_at", "pk")
        if lock and connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        return list(candidates.values_list("pk", "version", "state")[:limit])
    due, due_params = _due_ready_sql(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.id, d.version, d.state FROM {connection.ops.quote_name(Delivery._meta.db_table)} d "
            f"FORCE INDEX (delivery_due_idx) WHERE d.state IN (%s, %s) AND {due} "
            f"LIMIT {int(limit)}{' FOR UPDATE SKIP LOCKED' if lock else ''}",
            [State.PENDING.value, State.UNCONFIRMED.value, *due_params],
        )
        return list(cursor.fetchall())


def _due_ready_sql(now: datetime) -> tuple[str, list]:
    """MariaDB/MySQL: the condition (on delivery `d`) that a delivery is due, by `now` or the
    database clock when later, and its destination active and not waiting out a rate limit;
    with its parameters. What deliveries_due says in the ORM."""
    adapt = connection.ops.adapt_datetimefield_value
    return (
        f"d.next_try_at <= GREATEST(%s, UTC_TIMESTAMP(6)) AND (SELECT t.state = %s AND (t.not_before IS NULL "
        f"OR t.not_before <= %s) FROM {connection.ops.quote_name(Destination._meta.db_table)} t "
        f"WHERE t.id = d.destination_id)",
        [adapt(now), DestinationState.ACTIVE.value, adapt(now)],
    )


def deliveries_due_exist(*, now: datetime) -> bool:
    """Whether any delivery is due now (a plain read: no lock, no transaction)."""
    return bool(_due_rows(now=now, limit=1, lock=False))


def deliveries_claim_ids(*, node_name: str, ids: list[int], now: datetime) -> list[DeliveryClaim]:
    """Claims these deliveries, fresh ones whose ids the publishing callback answered, with no
    search: one conditional UPDATE by their keys (autocommit: one round trip), which moves only
    those still untouched (pending, never tried, version 1), due, and of a ready destination.
    One another node claimed meanwhile (its claim locked it first) is not moved, and the
    claims say which were (when not all, a read by the token). Due and ready are judged as
    deliveries_claim judges them (by the database clock too, when later than `now`)."""
    if not ids:
        return []
    token = secrets.token_hex(16)
    lease_until = now + timedelta(seconds=settings.PSCHED_DELIVERY_LEASE_SECONDS)
    ids = sorted({int(pk) for pk in ids})
    if connection.vendor == "mysql":
        adapt = connection.ops.adapt_datetimefield_value
        due, due_params = _due_ready_sql(now)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {connection.ops.quote_name(Delivery._meta.db_table)} d SET d.state = %s, d.claim_token = %s, "
                f"d.lease_until = %s, d.attempts = d.attempts + 1, d.claimed_by = %s, "
                f"d.first_try_at = COALESCE(d.first_try_at, %s), d.updated_at = %s "
                f"WHERE d.id IN ({ids_sql(ids)}) AND d.state = %s AND d.attempts = 0 AND d.version = 1 AND {due}",
                [State.SENDING.value, token, adapt(lease_until), node_name[:100], adapt(now), adapt(now),
                 State.PENDING.value, *due_params],
            )
            moved = cursor.rowcount
    else:
        moved = deliveries_due(now=now).filter(pk__in=ids, state=State.PENDING, attempts=0, version=1).update(
            state=State.SENDING, claim_token=token, lease_until=lease_until, attempts=F("attempts") + 1,
            claimed_by=node_name[:100], first_try_at=Coalesce("first_try_at", now), updated_at=now,
        )
    if not moved:
        return []
    if moved != len(ids):
        ids = sorted(Delivery.objects.filter(pk__in=ids, claim_token=token).values_list("pk", flat=True))
    return [DeliveryClaim(delivery=pk, claim_token=token, version=1, was=State.PENDING) for pk in ids]


def deliveries_claim(*, node_name: str, now: datetime, limit: int, look_first: bool = True) -> list[DeliveryClaim]:
    """Claims due deliveries of active destinations, atomically, as posts are claimed: SKIP
    LOCKED where the database has it, and a conditional UPDATE that moves only rows still due.
    `look_first`: a plain read first, so that a poll that finds nothing takes no lock; a caller
    that expects work (woken by a publish, or after a full claim) saves that round trip."""
    token = secrets.token_hex(16)
    if look_first and not deliveries_due_exist(now=now):
        return []
    lease_until = now + timedelta(seconds=settings.PSCHED_DELIVERY_LEASE_SECONDS)
    with transaction.atomic():
        rows = _due_rows(now=now, limit=limit, lock=True)
        if not rows:
            return []
        moved = Delivery.objects.filter(
            pk__in=[pk for pk, _, _ in rows], state__in=[State.PENDING, State.UNCONFIRMED]
        ).update(
            state=State.SENDING, claim_token=token, lease_until=lease_until, attempts=F("attempts") + 1,
            claimed_by=node_name[:100], first_try_at=Coalesce("first_try_at", now), updated_at=now,
        )
    claims = [DeliveryClaim(delivery=pk, claim_token=token, version=version, was=state) for pk, version, state in rows]
    if moved != len(rows):
        held = set(Delivery.objects.filter(pk__in=[claim.delivery for claim in claims], claim_token=token).values_list("pk", flat=True))
        claims = [claim for claim in claims if claim.delivery in held]
    return claims


@dataclass(frozen=True, slots=True)
class AuthorRow:
    pk: int
    username: str
    email: str
    language: str


@dataclass(frozen=True, slots=True)
class PostRow:
    pk: int
    text: str
    published_at: datetime
    author: AuthorRow


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A claimed delivery as its send and record read it: what a Delivery, its post and its
    author would give, without building the three models (which cost a node more CPU than
    the database round trips of the read). The destination is the model (config, secrets)."""
    pk: int
    key: str
    attempts: int
    remote_id: str
    error: str
    scheduled_post_id: int | None
    destination: Destination
    post: PostRow

    @property
    def destination_id(self) -> int:
        return self.destination.pk

    @property
    def post_id(self) -> int:
        return self.post.pk


def post_event_data(delivery: Delivery | DeliveryRow) -> dict:
    post = delivery.post
    author = post.author
    language = author.language if isinstance(author, AuthorRow) else getattr(getattr(author, "profile", None), "language", "")
    return {
        "post": post.pk,
        "scheduled_post": delivery.scheduled_post_id,
        "author": author.username,
        "text": post.text,
        "language": language or "",
        "published_at": post.published_at.isoformat().replace("+00:00", "Z"),
        "url": f"{settings.PSCHED_API_URL}/api/posts/{post.pk}/",
    }


def deliveries_read(*, claims: list[DeliveryClaim]) -> list[tuple[DeliveryClaim, Delivery | DeliveryRow]]:
    """The claimed deliveries still held, with their destination and post: on MariaDB/MySQL
    as DeliveryRow, in two statements (each delivery with its post, author and language; the
    destinations by their keys); elsewhere as models, through the ORM."""
    by_id = {claim.delivery: claim for claim in claims}
    if not by_id:
        return []
    if connection.vendor != "mysql":
        rows = Delivery.objects.filter(pk__in=list(by_id)).prefetch_related("destination", "post__author__profile")
        return [(by_id[row.pk], row) for row in rows if row.claim_token == by_id[row.pk].claim_token]
    found = [row for row in _deliveries_rows_read(list(by_id)) if row[4] == by_id[row[0]].claim_token]
    destinations = Destination.objects.in_bulk({row[7] for row in found})
    return [
        (by_id[pk], DeliveryRow(
            pk=pk, key=key, attempts=attempts, remote_id=remote_id, error=error, scheduled_post_id=scheduled_post_id,
            destination=destinations[destination_id],
            post=PostRow(pk=post_id, text=text, published_at=published_at,
                         author=AuthorRow(pk=author_id, username=username, email=email, language=language or "")),
        ))
        for pk, key, attempts, remote_id, _, scheduled_post_id, post_id, destination_id, text, published_at, author_id,
        username, email, language, error in found
        if destination_id in destinations  # removed meanwhile: nothing to send
    ]


def _deliveries_rows_read(ids: list[int]) -> list[tuple]:
    """The deliveries (by their keys) with their post, its author and the author's language,
    in one statement written out: STRAIGHT_JOIN keeps MariaDB reading from the deliveries
    (left to itself, it drove the join from the author, through every post they had)."""
    quote = connection.ops.quote_name
    Post = Delivery._meta.get_field("post").related_model
    User = Post._meta.get_field("author").related_model
    Profile = User._meta.get_field("profile").related_model
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.id, d.{quote('key')}, d.attempts, d.remote_id, d.claim_token, d.scheduled_post_id, d.post_id, "
            f"d.destination_id, p.text, p.published_at, p.author_id, u.username, u.email, pr.language, d.error "
            f"FROM {quote(Delivery._meta.db_table)} d STRAIGHT_JOIN {quote(Post._meta.db_table)} p ON p.id = d.post_id "
            f"STRAIGHT_JOIN {quote(User._meta.db_table)} u ON u.id = p.author_id "
            f"LEFT JOIN {quote(Profile._meta.db_table)} pr ON pr.user_id = u.id WHERE d.id IN ({ids_sql(ids)})"
        )
        rows = cursor.fetchall()
    convert = connection.ops.convert_datetimefield_value
    return [(*row[:9], convert(row[9], None, connection), *row[10:]) for row in rows]


def delivery_job(delivery: Delivery | DeliveryRow, *, claim: DeliveryClaim, now: datetime) -> DeliveryJob:
    return DeliveryJob(
        key=delivery.key,
        event_type="post.published",
        data=post_event_data(delivery),
        occurred_at=delivery.post.published_at,
        sent_at=now,
        attempt=delivery.attempts,
        config=delivery.destination.config,
        secrets=destination_secrets(delivery.destination, now=now),
        session=secret_decrypt(delivery.destination.session_encrypted) if delivery.destination.session_encrypted else "",
        unconfirmed=claim.was == State.UNCONFIRMED,
        remote_id=delivery.remote_id,
    )


def delivery_attempt(*, claim: DeliveryClaim, delivery: Delivery | DeliveryRow, clock) -> Outcome:
    """One claimed delivery sent (delivery_send) and its outcome recorded."""
    outcome = delivery_send(claim=claim, delivery=delivery, clock=clock)
    delivery_record(claim=claim, delivery=delivery, outcome=outcome, now=clock.now())
    return outcome


def deliveries_record(*, results: list[tuple[DeliveryClaim, Delivery, Outcome, datetime]]) -> None:
    """The outcomes of a claim's sends, in one transaction (one commit, not one per delivery):
    the delivered ones in one UPDATE, the others one by one. Mail to authors goes after it
    commits."""
    delivered = [item for item in results if item[2].state == "delivered"]
    with transaction.atomic():
        if delivered:
            _deliveries_record_delivered(delivered)
        for claim, delivery, outcome, now in results:
            if outcome.state != "delivered":
                delivery_record(claim=claim, delivery=delivery, outcome=outcome, now=now)


def _deliveries_record_delivered(results) -> None:
    """Delivered outcomes in one conditional UPDATE per claim token, written out (the ORM's
    CASE expressions cost more CPU than the statement). A remote id or URL, which webhooks
    do not have, is written row by row."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    for token in {claim.claim_token for claim, _, _, _ in results}:
        mine = [item for item in results if item[0].claim_token == token]
        when_sql, when_params, late_sql, status_sql = [], [], [], []
        for claim, delivery, outcome, now in mine:
            pk = int(claim.delivery)
            when_sql.append(f"WHEN {pk} THEN %s")
            when_params.append(adapt(now))
            late_sql.append(f"WHEN {pk} THEN {int(round((now - delivery.post.published_at).total_seconds() * 1000))}")
            status_sql.append(f"WHEN {pk} THEN {int(outcome.status) if outcome.status is not None else 'NULL'}")
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET state = %s, claim_token = '', lease_until = NULL, next_try_at = NULL, error = '', "
                f"updated_at = %s, delivered_at = CASE id {' '.join(when_sql)} END, "
                f"lateness_ms = CASE id {' '.join(late_sql)} END, last_status = CASE id {' '.join(status_sql)} END "
                f"WHERE id IN ({ids_sql(claim.delivery for claim, _, _, _ in mine)}) AND claim_token = %s AND state = %s",
                [State.DELIVERED.value, adapt(max(now for _, _, _, now in mine)), *when_params, token, State.SENDING.value],
            )
        for claim, _, outcome, _ in mine:
            if outcome.remote_id or outcome.remote_url:
                Delivery.objects.filter(pk=claim.delivery, state=State.DELIVERED).update(
                    remote_id=outcome.remote_id[:300], remote_url=outcome.remote_url[:1000]
                )


def delivery_send(*, claim: DeliveryClaim, delivery: Delivery | DeliveryRow, clock) -> Outcome:
    """One claimed delivery's try: reconcile first when the last outcome is unknown, then send
    (the same key as every earlier try). Network only: no database, no transaction."""
    kind = kind_get(delivery.destination.kind)
    job = delivery_job(delivery, claim=claim, now=clock.now())
    outcome = None
    if job.unconfirmed:
        outcome = kind.reconcile(job=job)  # None: it cannot be asked; send again with the same key
        if outcome is not None and outcome.state != "delivered":
            outcome = None
    if outcome is None:
        try:
            outcome = kind.deliver(job=job)
        except Exception as error:  # a kind's bug must not leave the delivery in sending until its lease ends
            logger.exception("delivery %s: the %s kind failed", delivery.pk, kind.name)
            outcome = Outcome("unconfirmed", error=f"psched could not send it ({error.__class__.__name__}).")
    return outcome


def retry_delay(*, schedule: list[float], attempts: int, retry_after: float | None) -> float | None:
    """Seconds until the next try after `attempts` tries, with jitter; None when the schedule is
    used up. A Retry-After the receiver sent is honoured (up to PSCHED_WEBHOOK_RETRY_AFTER_MAX)."""
    if attempts >= len(schedule):
        return None
    jitter = settings.PSCHED_WEBHOOK_RETRY_JITTER
    delay = schedule[attempts] * random.uniform(1 - jitter, 1 + jitter) if jitter else schedule[attempts]
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.PSCHED_WEBHOOK_RETRY_AFTER_MAX))
    return max(0.0, delay)


def delivery_record(*, claim: DeliveryClaim, delivery: Delivery | DeliveryRow, outcome: Outcome, now: datetime) -> bool:
    """Writes a try's outcome, if the claim still holds (a retry or cancel by the user, or a
    takeover after the lease, wins). Returns whether it was written."""
    held = Delivery.objects.filter(pk=claim.delivery, claim_token=claim.claim_token, state=State.SENDING)
    common = {
        "claim_token": "", "lease_until": None, "updated_at": now, "last_status": outcome.status,
        "error": outcome.error[:2000],
    }
    if outcome.remote_id:
        common["remote_id"] = outcome.remote_id[:300]
    if outcome.remote_url:
        common["remote_url"] = outcome.remote_url[:1000]
    if outcome.session:
        Destination.objects.filter(pk=delivery.destination_id).update(session_encrypted=secret_encrypt(outcome.session))
    if outcome.destination_wait and outcome.retry_after is not None:
        destination_wait(destination_id=delivery.destination_id, until=now + timedelta(seconds=outcome.retry_after))
    if outcome.state == "delivered":
        lateness = round((now - delivery.post.published_at).total_seconds() * 1000)
        return bool(held.update(state=State.DELIVERED, delivered_at=now, lateness_ms=lateness, next_try_at=None, **common))
    if outcome.state == "attention":
        # Not sent, and not the delivery's fault: it waits, with its tries, for the owner's fix.
        written = held.update(
            state=State.UNCONFIRMED if claim.was == State.UNCONFIRMED else State.PENDING, next_try_at=now,
            attempts=F("attempts") - 1, **common,
        )
        destination_needs_attention(
            destination_id=delivery.destination_id, reason=outcome.error, now=now,
            secret_encrypted=delivery.destination.secret_encrypted,
        )
        return bool(written)
    if outcome.state == "gone":
        written = held.update(state=State.FAILED, next_try_at=None, **common)
        destination_disable(destination_id=delivery.destination_id, reason=outcome.error, now=now)
        return bool(written)
    unknown = outcome.state == "unconfirmed" or claim.was == State.UNCONFIRMED
    delay = None
    if outcome.state != "failed":
        schedule = kind_get(delivery.destination.kind).retry_schedule()
        delay = retry_delay(schedule=schedule, attempts=delivery.attempts, retry_after=outcome.retry_after)
    if delay is None:
        written = held.update(state=State.FAILED, next_try_at=None, **common)
        if written:
            logger.error("delivery %s to destination %s failed after %s tries: %s",
                         delivery.pk, delivery.destination_id, delivery.attempts, outcome.error)
            delivery_failure_notify(delivery=delivery)
        return bool(written)
    state = State.UNCONFIRMED if unknown else State.PENDING
    return bool(held.update(state=state, next_try_at=now + timedelta(seconds=delay), **common))


def destination_wait(*, destination_id: int, until: datetime) -> None:
    """Nothing goes to the destination before `until` (its rate limit is used up)."""
    Destination.objects.filter(pk=destination_id).update(not_before=until)


def destination_needs_attention(*, destination_id: int, reason: str, now: datetime, secret_encrypted: str) -> None:
    """Only the owner can fix it (a revoked password): nothing is sent until they do; the
    deliveries wait. The owner is told once, by the page and an email. Only while the secret
    that was refused is still the destination's: a send that began before the owner gave a new
    one must not undo the fix."""
    changed = Destination.objects.filter(
        pk=destination_id, state=DestinationState.ACTIVE, secret_encrypted=secret_encrypted
    ).update(
        state=DestinationState.NEEDS_ATTENTION, state_reason=reason[:300], updated_at=now
    )
    if changed:
        logger.warning("destination %s needs its owner's attention: %s", destination_id, reason)
        destination = Destination.objects.select_related("owner").get(pk=destination_id)
        _mail(destination.owner, f"psched: destination {destination.name!r} needs your attention",
              f"psched stopped sending to {destination.name!r}: {reason}\nYour posts wait for it: give it a new "
              "app password on your destinations page and they go out.")


def destination_secret_replace(*, destination_id: int, owner, config: dict) -> Destination:
    """A new secret the owner gives (a Bluesky app password), checked by the kind as at creation;
    a destination that needed attention is active again and its waiting deliveries go."""
    destination = Destination.objects.get(pk=destination_id, owner=owner)
    kind = kind_get(destination.kind)
    if not kind.secret_field:
        raise Conflict(f"A {destination.kind} destination has no password to replace (rotate its secret instead).")
    cleaned = kind.clean(config={**destination.config, **config})
    secret = cleaned.pop(kind.secret_field)
    session = cleaned.pop("session", "")
    Destination.objects.filter(pk=destination.pk).update(
        config=cleaned, secret_encrypted=secret_encrypt(secret), state=DestinationState.ACTIVE, state_reason="",
        session_encrypted=secret_encrypt(session) if session else "",
        updated_at=db_now(),
    )
    logger.info("destination %s: its %s was replaced", destination.pk, kind.secret_field)
    destination.refresh_from_db()
    default_sets_forget()
    return destination


def destination_disable(*, destination_id: int, reason: str, now: datetime) -> None:
    """The receiver said it is gone (410): nothing more is sent there; its waiting deliveries
    are cancelled. Its owner can resume it once fixed."""
    changed = Destination.objects.filter(pk=destination_id).exclude(state=DestinationState.DISABLED).update(
        state=DestinationState.DISABLED, state_reason=reason[:300], updated_at=now
    )
    Delivery.objects.filter(destination_id=destination_id, state__in=[State.PENDING, State.UNCONFIRMED]).update(
        state=State.CANCELLED, claim_token="", next_try_at=None, updated_at=now,
        error="Not sent: the destination was disabled (it answered 410 Gone).", version=F("version") + 1,
    )
    if changed:
        logger.warning("destination %s disabled: %s", destination_id, reason)
        destination = Destination.objects.select_related("owner").get(pk=destination_id)
        _mail_on_commit(destination.owner, f"psched: destination {destination.name!r} was disabled",
              f"Your destination {destination.name!r} ({destination.url}) answered 410 Gone, so psched disabled it "
              "and stopped sending to it. Resume it on your destinations page once it is fixed.")


def delivery_failure_notify(*, delivery: Delivery | DeliveryRow) -> None:
    """Tells the author by email, once, that a delivery failed for good (the page shows a notice)."""
    if not Delivery.objects.filter(pk=delivery.pk, failure_notified=False).update(failure_notified=True):
        return
    author = delivery.post.author
    _mail_on_commit(author, f"psched: post {delivery.post_id} did not reach {delivery.destination.name!r}",
          f"psched could not deliver your post {delivery.post_id} to {delivery.destination.name!r} after "
          f"{delivery.attempts} tries. Last reason: {delivery.error or 'see the delivery'}.\n"
          "You can retry it from your scheduled posts page.")


def _mail_on_commit(user, subject: str, body: str) -> None:
    """Mail leaves the process after the transaction that decided it commits (at once outside one)."""
    if user.email:
        transaction.on_commit(lambda: _mail(user, subject, body))


def _mail(user, subject: str, body: str) -> None:
    try:
        send_mail(subject, body, None, [user.email], fail_silently=False)
    except Exception:  # mail is a courtesy: the page shows it all the same
        logger.exception("could not mail user %s", user.pk)


@transaction.atomic
def delivery_retry(*, delivery_id: int, user) -> Delivery:
    """A failed or cancelled delivery back to pending, with a fresh schedule and the same key."""
    delivery = Delivery.objects.select_for_update().select_related("destination").get(
        pk=delivery_id, destination__owner=user
    )
    if delivery.state not in (State.FAILED, State.CANCELLED):
        raise Conflict(f"Only failed or cancelled deliveries can be retried; this one is {delivery.state}.")
    if delivery.destination.state == DestinationState.DISABLED:
        raise Conflict("The destination is disabled; resume it first.")
    delivery.state = State.PENDING
    delivery.attempts = 0
    delivery.next_try_at = db_now()
    delivery.version += 1
    delivery.claim_token = ""
    delivery.failure_notified = False
    delivery.save()
    return delivery


def deliveries_retry_failed(*, destination_id: int | None = None, since: datetime | None = None) -> int:
    """Every failed delivery (of one destination, failed since a time) back to pending (staff)."""
    failed = Delivery.objects.filter(state=State.FAILED).exclude(destination__state=DestinationState.DISABLED)
    if destination_id is not None:
        failed = failed.filter(destination_id=destination_id)
    if since is not None:
        failed = failed.filter(updated_at__gte=since)
    return failed.update(
        state=State.PENDING, attempts=0, next_try_at=db_now(), version=F("version") + 1, claim_token="",
        failure_notified=False,
    )
