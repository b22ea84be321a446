from django.core.management.base import BaseCommand

from dispatchers.management.nodes import nodes_table
from dispatchers.selectors import node_overview, nodes_health, schedule_status, tick_recent_window


def _ms(value) -> str:
    return "-" if value is None else f"{value} ms"


class Command(BaseCommand):
    help = "One screen: dispatcher nodes, scheduled posts per status, the last hour's lateness, and whether beat ticks."

    def handle(self, *args, **options):
        overview, health, status = node_overview(), nodes_health(), schedule_status()
        counts = status["counts"]
        window = int(tick_recent_window().total_seconds())
        if health["ticking"] and not health["beat_ticking"]:
            beat = (f"SILENT: the nodes tick by themselves (last tick {health['last_tick']:%Y-%m-%d %H:%M:%S}Z), "
                    f"but no tick came from beat in the last {window} s. Start beat (exactly one).")
        elif health["ticking"]:
            beat = f"ticking (last tick {health['last_tick']:%Y-%m-%d %H:%M:%S}Z)"
        elif health["last_tick"]:
            beat = (f"NOT TICKING: no node ticked in the last {window} s (last tick "
                    f"{health['last_tick']:%Y-%m-%d %H:%M:%S}Z). Is beat running, exactly one?")
        else:
            beat = "NOT TICKING: no node has ever ticked. Start beat and a node (see docs/deployment.md)."
        lines = [
            f"beat:       {beat}",
            f"posts:      {counts['pending']} pending, {counts['publishing']} publishing, {counts['failed']} failed, "
            f"{counts['published']} published, {counts['cancelled']} cancelled",
            f"last hour:  {status['published_in_window']} published, lateness p50 {_ms(status['lateness_p50_ms'])}, "
            f"p99 {_ms(status['lateness_p99_ms'])}",
            "",
            nodes_table(overview) if overview else "No dispatcher nodes yet.",
        ]
        self.stdout.write("\n".join(lines))
