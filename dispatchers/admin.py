from django.contrib import admin, messages

from .models import DispatcherNode
from .services import node_set_state


@admin.register(DispatcherNode)
class DispatcherNodeAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "weight", "last_seen", "clock_offset_ms"]
    list_filter = ["state"]
    search_fields = ["name"]
    readonly_fields = ["last_seen", "last_tick_ms", "clock_offset_ms"]
    actions = ["drain", "activate"]

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
