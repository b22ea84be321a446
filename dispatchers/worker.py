"""This process's liveness as a worker of a node: a DispatcherWorker row it beats from a
thread of its own, so that a worker that dies (or is paused, or cut off) is known to be gone
within a few seconds even when its node lives on in another worker. run_dispatcher starts it;
the tick claims with its claim prefix (current_prefix)."""
import logging
import os
import socket
import threading
import time

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
