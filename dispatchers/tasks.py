import logging
import os

from celery import shared_task

from .tick import run_tick
from .worker import current_prefix

logger = logging.getLogger("dispatchers")


@shared_task(name="dispatchers.tick", ignore_result=True, acks_late=False)
def tick(node_name: str) -> None:
    # A worker runs one node (run_dispatcher sets these); a stray tick for another is dropped.
    if node_name != os.environ.get("PSCHED_NODE_NAME"):
        logger.warning("dropped a tick for node %s on the worker of %s", node_name, os.environ.get("PSCHED_NODE_NAME"))
        return
    run_tick(node_name=node_name, credential=os.environ["PSCHED_NODE_CREDENTIAL"], worker=current_prefix())
