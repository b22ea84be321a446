from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from psched.lib.forms import add_service_errors
from psched.lib.timeparse import zone_choices

from .forms import ComposeForm
from .selectors import post_feed_page
from .services import post_create


def index(request):
    """The feed, and the compose form's "Post now". Its "Schedule" button posts to a view of
    scheduling (the button's formaction); an old form that still sends it here is passed on."""
    form = ComposeForm(request.POST or None, initial={"timezone": str(getattr(request, "user_zone", ""))})
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.POST.get("action") == "schedule":
            return redirect(reverse("scheduling:compose"), permanent=False, preserve_request=True)
        if form.is_valid():
            try:
                post_create(author=request.user, text=form.cleaned_data["text"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Posted.")
                return redirect("feed:index")
    return feed_page(request, form)


def feed_page(request, form: ComposeForm):
    """The feed page around a compose form (scheduling renders it too, with its errors)."""
    author = request.GET.get("author", "").strip() or None
    try:
        before = max(0, int(request.GET.get("before", ""))) or None
    except ValueError:
        before = None
    posts, older = post_feed_page(before_id=before, author_username=author)
    return render(request, "feed/index.html", {
        "form": form, "posts": posts, "older": older, "author": author, "before": before, "zones": zone_choices(),
    })
