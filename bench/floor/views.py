import json
import os
from datetime import datetime

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import APIView

NODE_ID = int(os.environ.get("FLOOR_NODE_ID", "0")) or None


@csrf_exempt
def bare(request):
    """A Django view that parses the JSON body and answers: the ceiling of any endpoint."""
    body = json.loads(request.body)
    return JsonResponse({"text": body["text"]}, status=201)


class DrfInsert(APIView):
    """Token auth, the body parsed by DRF, one INSERT of a routed scheduled post, its id back:
    the floor of POST /api/scheduled-posts/ (no validation, no transaction, no answer built)."""

    def post(self, request):
        when = datetime.fromisoformat(request.data["publish_at"].replace("Z", "+00:00")).replace(tzinfo=None)
        now = datetime.utcnow()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO scheduling_scheduledpost (author_id, text, publish_at, due_at, timezone, status, "
                "dispatcher_id, version, attempts, last_error, claim_token, created_at, updated_at, queued, series_detached) "
                "VALUES (%s, %s, %s, %s, 'UTC', 'pending', %s, 1, 0, '', '', %s, %s, 0, 0)",
                [request.user.pk, request.data["text"], when, when, NODE_ID, now, now],
            )
            pk = cursor.lastrowid
        return Response({"id": pk}, status=201)
