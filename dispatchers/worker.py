"""This process's liveness as a worker of a node: a DispatcherWorker row it beats from a
thread of its own, so that a worker that dies (or is paused, or cut off) is known to be gone
within a few seconds even when its node lives on in another worker. run_dispatcher starts it;
the tick claims with its claim prefix (current_prefix).

And its ticks when beat's stop coming (beat killed or restarting, the broker restarting or
reconnecting, beat's host cut off): a thread of its own ticks the node itself, through the
database alone, until beat's ticks arrive again. Extra ticks are safe: a tick that follows
another within half an interval is dropped (services.node_heartbeat), and claims are taken
by a conditional UPDATE with a token, so a self-tick and beat's never claim a post twice."""
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, connection

from .models import DispatcherNode
from .services import down_after, worker_heartbeat, worker_register

logger = logging.getLogger("dispatchers")

_current = {"prefix": None}


def current_prefix() -> str | None:
    """The claim prefix of this process's worker; None outside a worker (tests, shells)."""
    return _current["prefix"]


def _register(node: DispatcherNode) -> str:
    worker = worker_register(node=node, process=f"{socket.gethostname()} pid {os.getpid()}")
    _current["prefix"] = worker.claim_prefix
    return worker.claim_prefix


def liveness_start(*, node: DispatcherNode) -> str:
    """Registers this process as a worker of `node` and starts its heartbeat thread."""
    prefix = _register(node)
    threading.Thread(target=_beat_forever, args=(node,), name="psched-worker-heartbeat", daemon=True).start()
    return prefix


def _beat_forever(node: DispatcherNode) -> None:
    every = down_after().total_seconds() / 5
    while True:
        time.sleep(every)
        try:
            if not worker_heartbeat(claim_prefix=_current["prefix"]):
                # Judged gone (paused, cut off, starved): its claims were released. A new prefix;
                # the old one's claims in flight are refused by their tokens.
                old = _current["prefix"]
                logger.warning("worker %s of node %s was judged gone; registering again", old, node.name)
                _register(node)
        except DatabaseError as error:
            logger.warning("worker heartbeat failed: %s", error)
            connection.close()  # a new connection at the next beat


# When this worker last received a tick from beat (monotonic seconds).
_beat = {"last": time.monotonic()}


def beat_tick_received() -> None:
    _beat["last"] = time.monotonic()


def beat_silent_after() -> float:
    """After this long without a tick from beat, the worker ticks by itself: long enough that a
    tick merely queued behind busy threads is not taken for silence, short next to the 10 s
    that posts may be late by under faults."""
    return max(2.0, 2.0 * settings.PSCHED_TICK_SECONDS)


# Self-ticks that may run at once, as beat's run in the worker's threads: a tick waiting for a
# slow callback (a web server that drops its packets) holds back neither the next tick nor the
# node's heartbeat, which its ticks carry (a node whose one tick thread hung for 7 s was judged
# down, and its posts waited).
SELF_TICK_THREADS = 4


def self_ticks_start(*, node_name: str, tick) -> None:
    """Starts the thread that has tick(node_name, from_beat=False) called every tick interval
    while beat is silent, each in a thread of a small pool."""
    threading.Thread(target=_tick_while_beat_is_silent, args=(node_name, tick), name="psched-self-tick", daemon=True).start()


def _self_tick(node_name: str, tick) -> None:
    try:
        tick(node_name, from_beat=False)
    except Exception as error:  # the database or the broker away: the next interval tries again
        logger.warning("node %s: a tick of its own: %s", node_name, error)
        connection.close()


def _tick_while_beat_is_silent(node_name: str, tick, stop: threading.Event | None = None) -> None:
    """`stop`: ends the loop when set (tests)."""
    interval = float(settings.PSCHED_TICK_SECONDS)
    _beat["last"] = time.monotonic()  # beat gets its chance first
    silent = False
    next_at = time.monotonic() + interval
    pool = ThreadPoolExecutor(max_workers=SELF_TICK_THREADS, thread_name_prefix="psched-self-tick")
    running = []
    while stop is None or not stop.is_set():
        # A fixed rate, not a sleep after each tick: a tick runs up to an interval (it waits
        # for the posts due before the next one), and posts due in a gap would wait.
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at = max(next_at + interval, time.monotonic())
        quiet = time.monotonic() - _beat["last"]
        if quiet < beat_silent_after():
            if silent:
                logger.warning("node %s: ticks from beat again; no longer ticking by itself", node_name)
            silent = False
            continue
        if not silent:
            logger.warning("node %s: no tick from beat for %.1f s; ticking by itself until they come back", node_name, quiet)
        silent = True
        running = [future for future in running if not future.done()]
        if len(running) >= SELF_TICK_THREADS:
            continue  # every thread waits on a slow tick: this interval's is skipped, not queued
        running.append(pool.submit(_self_tick, node_name, tick))
