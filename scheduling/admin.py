from django.contrib import admin

from .models import ScheduledPost


@admin.register(ScheduledPost)
class ScheduledPostAdmin(admin.ModelAdmin):
    list_display = ["id", "author", "status", "publish_at", "timezone", "dispatcher", "attempts"]
    list_filter = ["status", "dispatcher"]
    search_fields = ["text", "author__username"]
    raw_id_fields = ["author"]
    readonly_fields = ["claim_token", "lease_until", "published_at", "lateness_ms", "created_at", "updated_at"]
    show_full_result_count = False
