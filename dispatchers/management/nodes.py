"""What the dispatcher_* commands share: finding a node by name, and the node table."""
from django.core.management.base import CommandError

from dispatchers.models import DispatcherNode
from dispatchers.selectors import node_get


def node_or_error(name: str) -> DispatcherNode:
    node = node_get(name=name)
    if node is None:
        known = ", ".join(DispatcherNode.objects.values_list("name", flat=True)) or "none yet"
        raise CommandError(f"No dispatcher node named {name!r} (known: {known}). dispatcher_list shows them.")
    return node


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}Z" if value else "never"


def nodes_table(overview: list[dict]) -> str:
    """overview is node_overview()'s list; one line per node, columns aligned."""
    header = ("NAME", "STATE", "WEIGHT", "LAST TICK", "CLOCK OFFSET", "PENDING", "PUBLISHING")
    rows = [
        (node["name"], node["state"], str(node["weight"]), _when(node["last_tick"]), node["clock_offset"],
         str(node["pending"]), str(node["publishing"]))
        for node in overview
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
    return "\n".join(lines)
