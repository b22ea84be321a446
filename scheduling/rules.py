"""The rules of a post to schedule or keep as a draft: its text, its time and zone. Pure: no
database and no clock of its own (the caller passes `now`, the database clock's reading), so
services, the import, the admin and the commands check input the same way."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError

from feed.services import post_text_check
from psched.lib.timeparse import ParsedTime, parse_publish_at, zone_get

# Far enough for any real plan, near enough that a typo (year 20310) is caught.
MAX_SCHEDULE_AHEAD = timedelta(days=5 * 366)


@dataclass(frozen=True)
class ScheduleInput:
    text: str
    when: ParsedTime
    # The request's fields for the apps above (e.g. destinations), carried to the new post as
    # `extras` for the receivers of scheduled_posts_creating; scheduling reads none of them.
    extras: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DraftInput:
    text: str
    zone: str


def publish_time_clean(*, publish_at, timezone_name=None, now: datetime) -> ParsedTime:
    """Validates a publish time; raises ValidationError naming publish_at or timezone. `now`
    is the database's clock (the one that decides when the post is due), not this host's."""
    if timezone_name is not None:
        try:
            zone_get(timezone_name)
        except ValidationError as error:
            raise ValidationError({"timezone": error.messages}) from None
    try:
        when = parse_publish_at(publish_at, timezone_name)
    except ValidationError as error:
        raise ValidationError({"publish_at": error.messages}) from None
    if when.instant <= now:
        raise ValidationError({"publish_at": [
            f"{when.instant:%Y-%m-%d %H:%M:%S} UTC is in the past; pick a time after now "
            f"({now:%Y-%m-%d %H:%M:%S} UTC), or post it now instead."
        ]})
    if when.instant > now + MAX_SCHEDULE_AHEAD:
        raise ValidationError({"publish_at": ["That is more than five years ahead; check the year."]})
    return when


def schedule_input_clean(*, text, publish_at, timezone_name=None, now: datetime, extras: dict | None = None) -> ScheduleInput:
    """Validates one post to schedule; raises ValidationError with a dict naming each bad field."""
    errors = {}
    text = post_text_check(text, errors=errors)
    when = None
    try:
        when = publish_time_clean(publish_at=publish_at, timezone_name=timezone_name, now=now)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return ScheduleInput(text=text, when=when, extras=extras or {})


def draft_input_clean(*, text, timezone_name=None) -> DraftInput:
    errors = {}
    text = post_text_check(text, errors=errors)
    zone = "UTC"
    if timezone_name:
        try:
            zone = zone_get(timezone_name).key
        except ValidationError as error:
            errors["timezone"] = error.messages
    if errors:
        raise ValidationError(errors)
    return DraftInput(text=text, zone=zone)
