"""How long something took or how late it was, as people read it; shared by every app's
pages through each app's template filters."""


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
