from django.contrib import admin

from .models import Delivery, Destination


@admin.register(Destination)
class DestinationAdmin(admin.ModelAdmin):
    # The encrypted secrets are not fields of this page (editable=False), and never shown.
    list_display = ["name", "owner", "kind", "state", "is_default", "created_at"]
    list_filter = ["kind", "state"]
    search_fields = ["name", "owner__username"]
    readonly_fields = ["owner", "kind", "created_at", "updated_at", "state_reason"]
    fields = ["owner", "name", "kind", "config", "state", "state_reason", "is_default", "created_at", "updated_at"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["pk", "post", "destination", "state", "attempts", "last_status", "next_try_at", "delivered_at"]
    list_filter = ["state"]
    search_fields = ["key", "destination__name"]
    list_select_related = ["destination", "post"]
    raw_id_fields = ["post", "scheduled_post", "destination"]
    readonly_fields = [field.name for field in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False
