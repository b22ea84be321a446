from rest_framework import generics, permissions, serializers
from rest_framework.response import Response

from .selectors import node_overview, schedule_figures_cached


class NodeOverviewSerializer(serializers.Serializer):
    name = serializers.CharField()
    queue = serializers.CharField()
    state = serializers.CharField()
    weight = serializers.IntegerField()
    last_tick = serializers.DateTimeField(allow_null=True)
    pending = serializers.IntegerField()
    publishing = serializers.IntegerField()
    published_last_hour = serializers.IntegerField()
    lateness_p50_ms = serializers.IntegerField(allow_null=True)
    lateness_p99_ms = serializers.IntegerField(allow_null=True)
    lateness_max_ms = serializers.IntegerField(allow_null=True)


class DispatcherListApi(generics.GenericAPIView):
    """Dispatcher nodes with state, last tick, pending count, and the last hour's figures."""

    permission_classes = [permissions.IsAdminUser]
    serializer_class = NodeOverviewSerializer
    pagination_class = None

    def get(self, request):
        overview = node_overview(figures=schedule_figures_cached()["nodes"])
        return Response(NodeOverviewSerializer(overview, many=True).data)
