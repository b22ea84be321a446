from functools import partial

from django.contrib import admin, messages

from .models import QueueSlot, ScheduledPost, Series
from .series import series_stop
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
    list_display = ["id", "author", "status", "publish_at", "timezone", "dispatcher", "attempts", "lateness_ms", "queued", "series"]
    list_filter = ["status", "queued", "dispatcher", ("author", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["text", "author__username", "last_error"]
    date_hierarchy = "publish_at"
    raw_id_fields = ["author", "series"]
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


@admin.register(QueueSlot)
class QueueSlotAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "weekday", "time"]
    list_filter = ["weekday"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    """Read the rule here; change it through the page or the API, which check it and re-place
    the occurrences."""

    list_display = ["id", "author", "rrule", "start", "timezone", "active", "materialized_until"]
    list_filter = ["active"]
    search_fields = ["text", "author__username", "rrule"]
    raw_id_fields = ["author"]
    readonly_fields = ["author", "start", "timezone", "rrule", "active", "materialized_until", "created_at", "updated_at"]
    actions = ["stop"]

    @admin.action(description="Stop the selected series and cancel their pending occurrences")
    def stop(self, request, queryset):
        cancelled = sum(series_stop(series_id=series.pk, author=series.author) for series in queryset)
        self.message_user(request, f"Stopped {queryset.count()} series; {cancelled} pending occurrence(s) cancelled.", messages.SUCCESS)
