from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from psched.lib.timeparse import zone_get

from .charts import lateness_chart, per_minute_chart
from .models import DispatcherNode
from .selectors import node_overview, nodes_next_due, schedule_figures_cached
from .services import node_set_state

# What the dashboard's buttons may set; "down" is for the sweep to decide.
STATE_ACTIONS = {"draining": "Drain", "active": "Activate"}


@staff_member_required
def dashboard(request):
    now = timezone.now()
    zone = zone_get(str(getattr(request, "user_zone", "")) or "UTC")  # accounts.middleware sets it
    figures = schedule_figures_cached()  # counted over the whole schedule: a few seconds old
    nodes = node_overview(figures=figures["nodes"])
    next_due = nodes_next_due()
    for row in nodes:
        row["next_due"] = next_due.get(row["node"].pk, [])
    return render(request, "dispatchers/dashboard.html", {
        "nodes": nodes,
        "now": now,
        "lateness_chart": lateness_chart(figures["lateness_histogram"]),
        "per_minute_chart": per_minute_chart(figures["published_per_minute"], zone=zone),
    })


@staff_member_required
@require_POST
def node_state(request, name):
    node = get_object_or_404(DispatcherNode, name=name)
    state = request.POST.get("state")
    if state not in STATE_ACTIONS:
        messages.error(request, f"Choose one of: {', '.join(STATE_ACTIONS)}.")
        return redirect("dispatchers:dashboard")
    moved, _ = node_set_state(node=node, state=state)
    handed_over = f" {moved} pending posts moved to active nodes." if moved else ""
    messages.success(request, f"Node {node.name} is now {state}.{handed_over}")
    return redirect("dispatchers:dashboard")
