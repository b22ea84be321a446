"""The timing log (settings.PSCHED_TIMING_LOG): one line per stage record, the instants as JSON,
on the `psched.timing` logger. `make bench` reads it to say where its slowest posts lost
their time."""
import gc
import json
import logging
import time

logger = logging.getLogger("psched.timing")


def timing_enabled() -> bool:
    return logger.isEnabledFor(logging.DEBUG)


def timing_record(what: str, **fields) -> None:
    """`what`: the record's kind ("batch" on a node, "callback" on the web side); `fields`:
    ids and instants (datetimes are written in ISO 8601)."""
    logger.debug("timing:%s %s", what, json.dumps(fields, default=lambda value: value.isoformat()))


def timing_gc_watch() -> None:
    """With the timing log on, records each garbage collection that holds this process for
    2 ms or more (every thread waits for it): generation, duration, and the host's time."""
    if not timing_enabled() or _gc_watch in gc.callbacks:
        return
    gc.callbacks.append(_gc_watch)


_gc_started = {}


def _gc_watch(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_started["at"] = time.perf_counter()
        return
    started = _gc_started.pop("at", None)
    if started is None:
        return
    held_ms = (time.perf_counter() - started) * 1000
    if held_ms >= 2:
        timing_record("gc", generation=info["generation"], ms=round(held_ms, 1), collected=info["collected"],
                      host_time=round(time.time(), 3), ids=[])
