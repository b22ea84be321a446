from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from psched.lib.db import db_now
from psched.lib.timeparse import zone_get

from .charts import lateness_chart, per_minute_chart
from .models import DispatcherNode
from .selectors import node_overview, nodes_next_due, schedule_figures_cached
from .services import node_set_state

# What the dashboard's buttons may set; "down" is for the sweep to decide.
STATE_ACTIONS = {"draining": "Drain", "active": "Activate"}


def staff_required(view):
    """Anonymous visitors log in on the site's page; a signed-in user who is not staff gets
    the site's 403 page (not the admin's login form)."""
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("The dispatcher pages are for staff.")
        return view(request, *args, **kwargs)
    return wrapped


@staff_required
def dashboard(request):
    now = db_now()
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


@staff_required
@require_http_methods(["GET", "POST"])
def node_state(request, name):
    """GET asks to confirm a drain (it moves every pending post away); POST changes the state."""
    node = get_object_or_404(DispatcherNode, name=name)
    state = (request.POST if request.method == "POST" else request.GET).get("state")
    if state not in STATE_ACTIONS:
        messages.error(request, f"Choose one of: {', '.join(STATE_ACTIONS)}.")
        return redirect("dispatchers:dashboard")
    if request.method == "GET":
        return render(request, "dispatchers/confirm_state.html", {
            "node": node, "state": state, "action": STATE_ACTIONS[state],
            "pending": node.scheduled_posts.filter(status="pending").count(),
        })
    moved, _ = node_set_state(node=node, state=state)
    handed_over = f" {moved} pending posts moved to active nodes." if moved else ""
    messages.success(request, f"Node {node.name} is now {state}.{handed_over}")
    return redirect("dispatchers:dashboard")
