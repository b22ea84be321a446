from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse


@extend_schema(exclude=True)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request, format=None):
    return Response({
        "auth/token": reverse("api-token", request=request),
        "posts": reverse("api-posts", request=request),
        "scheduled-posts": reverse("api-scheduled-posts", request=request),
        "dispatchers": reverse("api-dispatchers", request=request),
    })
