"""Turning what people type into an instant: ISO 8601 with an offset, or a local time plus an
IANA zone. DST gaps are errors; DST folds resolve to the first occurrence, and we say so."""
from dataclasses import dataclass
from functools import cache
from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError

UTC = dt_timezone.utc


def zone_get(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("Give an IANA time zone such as Europe/Paris.")
    # Only the zones tzdata lists: ZoneInfo alone also opens files that are not zones
    # (posixrules, localtime) and placeholder zones (Factory).
    if name.strip() not in zone_names():
        suggestion = zone_suggest(name)
        if suggestion:
            raise ValidationError(f"Unknown time zone {name[:100]!r}: did you mean {suggestion}?")
        raise ValidationError(f"Unknown time zone {name[:100]!r}: use an IANA name such as Europe/Paris or UTC.")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(f"Unknown time zone {name[:100]!r}: use an IANA name such as Europe/Paris or UTC.") from None


def zone_suggest(name: str) -> str:
    """The IANA zone a short or differently written name means: "Tokyo" or "tokyo" → "Asia/Tokyo",
    "new york" → "America/New_York"; "" when none or several match."""
    wanted = name.strip().replace(" ", "_").casefold()[:100]
    if not wanted:
        return ""
    matches = sorted(
        zone for zone in zone_choices()
        if zone.casefold() == wanted or zone.rsplit("/", 1)[-1].casefold() == wanted
    )
    return matches[0] if len(matches) == 1 else ""


@cache
def zone_names() -> frozenset[str]:
    """Every IANA zone name we accept: tzdata's list, less its placeholder (Factory) and the
    host's own setting (localtime), which name no place."""
    return frozenset(available_timezones()) - {"Factory", "localtime", "posixrules"}


_ZONES = None


def zone_choices() -> list[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = sorted(z for z in zone_names() if "/" in z or z == "UTC")
    return _ZONES


@dataclass(frozen=True)
class ParsedTime:
    instant: datetime  # aware, UTC
    zone: str
    note: str = ""  # set when a DST fold was resolved


def local_to_instant(local: datetime, zone_name: str) -> ParsedTime:
    """A naive wall-clock time in zone_name, as an instant in UTC."""
    zone = zone_get(zone_name)
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    # A wall time that does not survive the round trip through UTC does not exist (DST gap).
    roundtrip = _in_utc(first).astimezone(zone).replace(tzinfo=None)
    if roundtrip != local:
        raise ValidationError(
            f"{local:%Y-%m-%d %H:%M} does not exist in {zone.key}: the clocks skip it for daylight "
            f"saving time. Pick a time before {local:%H}:00 or after the change."
        )
    note = ""
    if first.utcoffset() != second.utcoffset():
        note = (
            f"{local:%Y-%m-%d %H:%M} happens twice in {zone.key}; psched uses the first one "
            f"(UTC{_offset(first)}), before the clocks go back."
        )
    return ParsedTime(_in_utc(first), zone.key, note)


def _offset(value: datetime) -> str:
    minutes = int(value.utcoffset() / timedelta(minutes=1))
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_publish_at(value, zone_name=None) -> ParsedTime:
    """ISO 8601 text with an offset or Z; or naive text plus zone_name."""
    if isinstance(value, datetime):
        parsed = value
    else:
        if value is None:
            raise ValidationError("This field is required: a date and time in ISO 8601, e.g. 2031-07-01T09:00:00Z.")
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("Give a date and time in ISO 8601, e.g. 2031-07-01T09:00:00Z.")
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(
                f"{value!r} is not a date and time in ISO 8601; write e.g. 2031-07-01T09:00:00+02:00."
            ) from None
    if parsed.tzinfo is None:
        if not zone_name:
            raise ValidationError(
                "This time has no offset. Add one (e.g. 2031-07-01T09:00:00+02:00 or …Z) "
                "or give a timezone field such as Europe/Paris."
            )
        return local_to_instant(parsed, zone_name)
    if not zone_name:
        return ParsedTime(_in_utc(parsed), "UTC")
    if not isinstance(value, datetime):
        _offset_check(parsed, zone_name)
    return ParsedTime(_in_utc(parsed), zone_get(zone_name).key)


def _offset_check(parsed: datetime, zone_name: str) -> None:
    """A written time with both an offset and a zone must be a time of that zone: its wall time
    must exist there, and its offset must be the zone's offset at that wall time (either one,
    in a DST fold, since the offset says which occurrence is meant)."""
    local = parsed.replace(tzinfo=None)
    local_to_instant(local, zone_name)  # refuses a wall time in the zone's DST gap
    zone = zone_get(zone_name)
    offsets = {local.replace(tzinfo=zone, fold=fold).utcoffset() for fold in (0, 1)}
    if parsed.utcoffset() not in offsets:
        expected = " or ".join(sorted({f"UTC{_offset(local.replace(tzinfo=zone, fold=fold))}" for fold in (0, 1)}))
        raise ValidationError(
            f"{local:%Y-%m-%d %H:%M:%S} with offset {_offset(parsed)} is not a time in {zone.key}, where it is "
            f"{expected}. Write the zone's offset, or leave the offset off to use the zone's."
        )


def _in_utc(value: datetime) -> datetime:
    # Near year 1 or 9999 an offset can push the instant out of what datetime holds.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(f"{value.isoformat()} is out of range: pick a time within the next five years.") from None
