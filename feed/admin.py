from django.contrib import admin

from .models import Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["id", "author", "short_text", "published_at", "scheduled_for", "dispatcher", "lateness_ms"]
    list_filter = ["dispatcher", ("author", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["text", "author__username"]
    date_hierarchy = "published_at"
    raw_id_fields = ["author", "scheduled_post"]
    list_select_related = ["author", "dispatcher"]
    show_full_result_count = False

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text[:80]
