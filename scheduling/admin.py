from functools import partial

from django.contrib import admin, messages

from .models import ScheduledPost
from .services import Conflict, scheduled_post_cancel, scheduled_post_retry


def _apply(modeladmin, request, queryset, service, done: str):
    """Runs a service on each selected post; a post in the wrong state is reported, not fatal."""
    changed, refused = 0, []
    for pk in queryset.values_list("pk", flat=True):
        try:
            service(scheduled_post_id=pk)
            changed += 1
        except Conflict as error:
            refused.append(f"#{pk}: {error}")
    if changed:
        modeladmin.message_user(request, f"{changed} scheduled post{'s' if changed != 1 else ''} {done}.", messages.SUCCESS)
    for message in refused:
        modeladmin.message_user(request, message, messages.WARNING)


@admin.register(ScheduledPost)
class ScheduledPostAdmin(admin.ModelAdmin):
    list_display = ["id", "author", "status", "publish_at", "timezone", "dispatcher", "attempts", "lateness_ms"]
    list_filter = ["status", "dispatcher", ("author", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["text", "author__username", "last_error"]
    date_hierarchy = "publish_at"
    raw_id_fields = ["author"]
    list_select_related = ["author", "dispatcher"]
    readonly_fields = ["claim_token", "lease_until", "published_at", "lateness_ms", "created_at", "updated_at"]
    show_full_result_count = False
    actions = ["cancel", "retry"]

    @admin.action(description="Cancel the selected scheduled posts")
    def cancel(self, request, queryset):
        _apply(self, request, queryset, partial(scheduled_post_cancel, author=None), "cancelled")

    @admin.action(description="Retry the selected failed posts")
    def retry(self, request, queryset):
        _apply(self, request, queryset, scheduled_post_retry, "queued again")
