"""psched as real processes on 127.0.0.1 (MariaDB, Redis or RabbitMQ, gunicorn, nodes, beat),
for the integration, browser and fuzz tests and the benchmark. It drives processes and talks
HTTP and SQL to them: it imports no psched app."""
from .processes import ARTIFACTS, LIBFAKETIME, MYSQL, ROOT, VENV_BIN, Stack
from .proxy import FaultProxy
from .waiting import at, free_port, port_open, wait_for

__all__ = ["ARTIFACTS", "LIBFAKETIME", "MYSQL", "ROOT", "VENV_BIN", "FaultProxy", "Stack", "at", "free_port", "port_open", "wait_for"]
