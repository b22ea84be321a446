from django.contrib import admin

from .models import DispatcherNode


@admin.register(DispatcherNode)
class DispatcherNodeAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "weight", "last_seen"]
    list_filter = ["state"]
    search_fields = ["name"]
    exclude = ["credential_hash"]
