from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import Truncator

from feed.services import post_text_clean
from psched.lib.db import db_now
from psched.lib.errors import Conflict
from psched.lib.timeparse import zone_get

from .models import QueueSlot, ScheduledPost, Series
from .series import series_stop
from .rules import publish_time_clean, schedule_input_clean
from .services import (
    scheduled_post_cancel,
    scheduled_post_delete,
    scheduled_post_retry,
    scheduled_post_update,
    scheduled_posts_create,
)


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


class ScheduledPostAdminForm(forms.ModelForm):
    """Only what a person may change: the text, the time and its zone (and the author of a new
    post). The checks are the services'; saving goes through them too (ScheduledPostAdmin)."""

    class Meta:
        model = ScheduledPost
        fields = ["author", "text", "publish_at", "timezone"]
        labels = {"publish_at": "Publish at (UTC)"}

    def clean(self):
        data = super().clean()
        if self.instance.pk:
            status = ScheduledPost.objects.filter(pk=self.instance.pk).values_list("status", flat=True).first()
            if status in (ScheduledPost.Status.PUBLISHED, ScheduledPost.Status.CANCELLED):
                raise ValidationError(f"This post is {status}; it can no longer be changed.")
        fields = [name for name in ("text", "publish_at", "timezone") if name in self.changed_data or not self.instance.pk]
        try:
            if "text" in fields:
                data["text"] = post_text_clean(data.get("text"))
            if "publish_at" in fields or "timezone" in fields:
                publish_time_clean(publish_at=data.get("publish_at"), timezone_name=data.get("timezone"), now=db_now())
        except ValidationError as error:
            for field, messages_ in (error.message_dict if hasattr(error, "error_dict") else {"text": error.messages}).items():
                self.add_error(field if field in self.fields else None, messages_)
        return data


@admin.register(ScheduledPost)
class ScheduledPostAdmin(admin.ModelAdmin):
    form = ScheduledPostAdminForm
    list_display = ["id", "author", "short_text", "status", "publish_at_utc", "timezone", "publish_at_local", "dispatcher", "attempts", "lateness_ms", "queued", "series"]
    list_filter = ["status", "queued", "dispatcher", ("author", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["text", "author__username", "last_error"]
    date_hierarchy = "publish_at"
    raw_id_fields = ["author", "series"]
    list_select_related = ["author", "dispatcher"]
    # The state machine's fields change only through the services (claims, callbacks, actions).
    # An occurrence of a series edited here becomes a post of its own (series_detached: "only this
    # one", like its page and the API); cancelling one skips it in its series.
    readonly_fields = [
        "status", "dispatcher", "due_at", "version", "attempts", "last_error", "claim_token", "lease_until",
        "published_at", "lateness_ms", "series", "series_index", "series_detached", "created_at", "updated_at",
    ]
    show_full_result_count = False
    actions = ["cancel", "retry"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "author"] if obj else self.readonly_fields

    @admin.display(description="text")
    def short_text(self, obj):
        return Truncator(obj.text).chars(60)

    @admin.display(description="publish at (UTC)", ordering="publish_at")
    def publish_at_utc(self, obj):
        return f"{obj.publish_at:%Y-%m-%d %H:%M:%S}"

    @admin.display(description="local time in its zone")
    def publish_at_local(self, obj):
        try:
            return f"{obj.publish_at.astimezone(zone_get(obj.timezone)):%Y-%m-%d %H:%M:%S %Z}"
        except ValidationError:
            return "—"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            item = schedule_input_clean(
                text=data["text"], publish_at=data["publish_at"], timezone_name=data["timezone"], now=db_now()
            )
            obj.pk = scheduled_posts_create(author=data["author"], inputs=[item])[0].pk
            return
        changed = {"text", "publish_at", "timezone"} & set(form.changed_data)
        if not changed:
            return
        moved = bool({"publish_at", "timezone"} & changed)
        try:
            scheduled_post_update(
                scheduled_post_id=obj.pk, author=None,
                text=data["text"] if "text" in changed else None,
                publish_at=data["publish_at"] if moved else None,
                timezone_name=data["timezone"] if moved else None,
            )
        except (Conflict, ValidationError) as error:  # lost a race with a claim's publish
            self.message_user(request, f"Not saved: {' '.join(getattr(error, 'messages', [str(error)]))}", messages.ERROR)

    def delete_model(self, request, obj):
        scheduled_post_delete(scheduled_post_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            scheduled_post_delete(scheduled_post_id=pk)

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

    list_display = ["id", "author", "rrule", "start", "timezone", "active", "materialized_until", "continues"]
    list_filter = ["active"]
    search_fields = ["text", "author__username", "rrule"]
    raw_id_fields = ["author"]
    readonly_fields = [
        "author", "start", "timezone", "rrule", "active", "error", "materialized_until", "cursor_local", "cursor_index",
        "skipped", "detached", "continues", "created_at", "updated_at",
    ]
    actions = ["stop"]

    @admin.action(description="Stop the selected series and cancel their pending occurrences")
    def stop(self, request, queryset):
        cancelled = sum(series_stop(series_id=series.pk, author=series.author) for series in queryset)
        self.message_user(request, f"Stopped {queryset.count()} series; {cancelled} pending occurrence(s) cancelled.", messages.SUCCESS)

    # Deleting a series stops it first: its occurrences only lose their link (SET_NULL), so
    # without the stop they stayed pending and were published.
    def delete_model(self, request, obj):
        with transaction.atomic():
            series_stop(series_id=obj.pk, author=obj.author)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for series in queryset:
                series_stop(series_id=series.pk, author=series.author)
            super().delete_queryset(request, queryset)
