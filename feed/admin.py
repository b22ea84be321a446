from django.contrib import admin

from .models import Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["id", "author", "short_text", "published_at", "scheduled_for", "dispatcher"]
    list_filter = ["dispatcher"]
    search_fields = ["text", "author__username"]
    raw_id_fields = ["author", "scheduled_post"]
    show_full_result_count = False

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text[:80]
