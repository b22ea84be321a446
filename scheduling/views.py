from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .models import ScheduledPost
from .selectors import scheduled_posts_visible
from .services import Conflict, scheduled_post_cancel, scheduled_post_retry


@login_required
def mine(request):
    posts = ScheduledPost.objects.filter(author=request.user).select_related("dispatcher", "post")
    upcoming = posts.filter(status__in=["pending", "publishing"]).order_by("publish_at", "id")[:200]
    history = posts.exclude(status__in=["pending", "publishing"]).order_by("-updated_at", "-id")[:100]
    return render(request, "scheduling/mine.html", {"upcoming": upcoming, "history": history})


@login_required
@require_POST
def cancel(request, pk):
    if not scheduled_posts_visible(user=request.user).filter(pk=pk, author=request.user).exists():
        messages.error(request, "No such scheduled post.")
        return redirect("scheduling:mine")
    try:
        scheduled_post_cancel(scheduled_post_id=pk, author=request.user)
        messages.success(request, "Cancelled.")
    except Conflict as error:
        messages.error(request, str(error))
    return redirect("scheduling:mine")


@login_required
@require_POST
def retry(request, pk):
    if not scheduled_posts_visible(user=request.user).filter(pk=pk).exists():
        messages.error(request, "No such scheduled post.")
        return redirect("scheduling:mine")
    try:
        scheduled_post_retry(scheduled_post_id=pk)
        messages.success(request, "Queued again.")
    except Conflict as error:
        messages.error(request, str(error))
    return redirect("scheduling:mine")
