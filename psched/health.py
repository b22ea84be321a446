"""What /healthz checks: the database, the broker, and whether the nodes tick."""
import logging

from django.conf import settings
from django.db import DatabaseError, connection
from kombu import Connection

from dispatchers.selectors import nodes_health

from .celery import app

logger = logging.getLogger("psched")


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except DatabaseError as error:
        logger.error("health: database unreachable: %s", error)
        return f"error: {error.__class__.__name__}"


def broker_check(timeout: float | None = None) -> str:
    """Opens (and closes) a connection to the broker, with a short timeout and no waiting
    between attempts. The URL is read from settings each time, not from Celery's cached config."""
    timeout = settings.PSCHED_HEALTH_BROKER_TIMEOUT if timeout is None else timeout
    try:
        url = settings.CELERY_BROKER_URL
        # The embedded broker's transport class goes with a filesystem:// URL only; any other URL
        # names its own transport (Celery's connection would pair it with the configured class).
        conn = app.connection_for_write(url) if url.startswith("filesystem://") else Connection(url)
        with conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        return "ok"
    except Exception as error:  # kombu raises a different error class per transport
        logger.error("health: broker unreachable: %s", error)
        return f"error: {error.__class__.__name__}"


def health_report() -> tuple[bool, dict]:
    """(healthy, report). Healthy means database and broker answer and some node ticked
    recently; a single node being down is shown but is the sweep's job, not an outage, and a
    node's clock offset is listed under "warnings" without making it unhealthy."""
    report = {"database": database_check(), "broker": broker_check(), "nodes": {}, "ticking": False}
    if report["database"] == "ok":
        try:
            nodes = nodes_health()
        except DatabaseError as error:
            report["database"] = f"error: {error.__class__.__name__}"
        else:
            report["ticking"] = nodes["ticking"]
            report["nodes"] = {
                name: {**node, "last_tick": node["last_tick"].isoformat() if node["last_tick"] else None}
                for name, node in nodes["nodes"].items()
            }
            # Clock offsets are warnings: psched works the same, the host's NTP needs a look.
            warnings = [f"node {name}: {node['warning']}" for name, node in nodes["nodes"].items() if "warning" in node]
            # Without beat the nodes tick by themselves, so posts still go out: a warning too,
            # but one that needs someone to start beat.
            if nodes["ticking"] and not nodes["beat_ticking"]:
                warnings.append("beat: no tick from beat recently; the nodes are ticking by themselves: start beat")
            if warnings:
                report["warnings"] = warnings
    healthy = report["database"] == "ok" and report["broker"] == "ok" and report["ticking"]
    return healthy, report
