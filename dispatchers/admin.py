from django.contrib import admin, messages

from .models import DispatcherNode
from .services import node_register, node_remove, node_set_state


@admin.register(DispatcherNode)
class DispatcherNodeAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "weight", "last_seen", "clock_offset_ms"]
    list_filter = ["state"]
    search_fields = ["name"]
    # State changes go through the actions (services); the ticks write last_seen, last_tick_ms
    # and clock_offset_ms.
    readonly_fields = ["state", "last_seen", "last_tick_ms", "clock_offset_ms", "created_at"]
    actions = ["drain", "activate"]

    def get_readonly_fields(self, request, obj=None):
        # No renaming: the name is the node's queue, its tick task and its worker's argument.
        return [*self.readonly_fields, "name"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["weight"])
        else:
            obj.pk = node_register(name=obj.name, weight=obj.weight)[0].pk

    def delete_model(self, request, obj):
        node_remove(node=obj)

    def delete_queryset(self, request, queryset):
        for node in queryset:
            node_remove(node=node)

    def _set_state(self, request, queryset, state):
        nodes = list(queryset)
        for node in nodes:
            node_set_state(node=node, state=state)
        self.message_user(request, f"Now {state}: {', '.join(node.name for node in nodes)}.", messages.SUCCESS)

    @admin.action(description="Drain the selected nodes (no new posts; pending ones move)")
    def drain(self, request, queryset):
        self._set_state(request, queryset, DispatcherNode.State.DRAINING)

    @admin.action(description="Activate the selected nodes")
    def activate(self, request, queryset):
        self._set_state(request, queryset, DispatcherNode.State.ACTIVE)
