"""How long something took or how late it was, as people read it; shared by every app's
pages through the template filters (psched/lib/filters.py)."""
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil


def duration_text(value) -> str:
    """412 → "412 ms", 3250 → "3.2 s", 125000 → "2 min 5 s"; None → "—"."""
    if value is None or value == "":
        return "—"
    ms = int(value)
    sign, ms = ("−", -ms) if ms < 0 else ("", ms)
    if ms < 1000:
        return f"{sign}{ms} ms"
    if ms < 60_000:
        return f"{sign}{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{sign}{minutes} min {seconds} s"


def ago_text(value, now) -> str:
    """How long before now value was, for a heartbeat: "0.4 s ago", "2 min 5 s ago"."""
    if value is None:
        return "never"
    return f"{duration_text(round((now - value).total_seconds() * 1000))} ago"


def relative_text(value, now=None) -> str:
    """How far value is from now, in words: "in 20 seconds", "in 3 minutes", "2 hours ago";
    seconds below a minute (Django's timeuntil says "0 minutes" there)."""
    if value is None:
        return ""
    now = now or timezone.now()
    seconds = round((value - now).total_seconds())
    if seconds == 0:
        return "now"
    if abs(seconds) < 60:
        words = f"{abs(seconds)} second{'' if abs(seconds) == 1 else 's'}"
    else:
        words = timeuntil(value, now) if seconds > 0 else timesince(value, now)
    return f"in {words}" if seconds > 0 else f"{words} ago"
