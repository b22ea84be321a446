"""Destination kinds: one module per kind, each with one Kind subclass (see base.py for the
interface and its rules), registered here by name. To add a network: write kinds/<name>.py
with `@kind_register class MyKind(Kind): name = "<name>" …` and import it at the end of this
file."""
from .base import DeliveryJob, Kind, Outcome

KINDS: dict[str, Kind] = {}


def kind_register(cls: type[Kind]) -> type[Kind]:
    if not cls.name or cls.name in KINDS:
        raise ValueError(f"kind {cls.name!r} has no name or is registered twice")
    KINDS[cls.name] = cls()
    return cls


def kind_get(name: str) -> Kind:
    """The registered kind; KeyError for an unknown one."""
    return KINDS[name]


def kind_choices() -> list[tuple[str, str]]:
    """Kinds a user can add (the feed is built in)."""
    return [(name, kind.label) for name, kind in KINDS.items() if name != "feed"]


from . import bluesky, feed, webhook  # noqa: E402,F401  (each registers itself)

__all__ = ["KINDS", "DeliveryJob", "Kind", "Outcome", "kind_choices", "kind_get", "kind_register"]
