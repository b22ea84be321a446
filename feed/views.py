from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from accounts.services import user_timezone
from scheduling.services import scheduled_posts_create, schedule_input_clean
from scheduling.timeparse import zone_choices

from .forms import ComposeForm
from .selectors import post_feed_page
from .services import post_create


def _add_errors(form, error: ValidationError, default_field: str):
    for field, messages_ in (error.message_dict.items() if hasattr(error, "error_dict") else [(default_field, error.messages)]):
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)


def index(request):
    zone = user_timezone(user=request.user)
    form = ComposeForm(request.POST or None, initial={"timezone": zone})
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect("login")
        if form.is_valid():
            data = form.cleaned_data
            try:
                if request.POST.get("action") == "schedule":
                    item = schedule_input_clean(
                        text=data["text"], publish_at=data["publish_at"], timezone_name=data["timezone"] or "UTC"
                    )
                    scheduled_posts_create(author=request.user, inputs=[item])
                    note = f" {item.when.note}" if item.when.note else ""
                    messages.success(request, f"Scheduled for {data['publish_at'].replace('T', ' ')} ({item.when.zone}).{note}")
                    return redirect("scheduling:mine")
                post_create(author=request.user, text=data["text"])
                messages.success(request, "Posted.")
                return redirect("feed:index")
            except ValidationError as error:
                _add_errors(form, error, "text")
    author = request.GET.get("author") or None
    try:
        before = int(request.GET.get("before", "")) or None
    except ValueError:
        before = None
    posts, older = post_feed_page(before_id=before, author_username=author)
    return render(request, "feed/index.html", {
        "form": form, "posts": posts, "older": older, "author": author, "zones": zone_choices(), "user_zone": zone,
    })
