from dataclasses import asdict

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.http import user_of
from realtime.services import realtime_ticket_issue

TicketSerializer = inline_serializer(
    "RealtimeTicket", {"ticket": serializers.CharField(), "expires_in": serializers.IntegerField()}
)


class TicketApi(APIView):
    """A single-use ticket for `GET /ws/notifications?ticket=…` (valid ≤ 60 s)."""

    @extend_schema(request=None, responses={201: TicketSerializer})
    def post(self, request: Request) -> Response:
        return Response(asdict(realtime_ticket_issue(user=user_of(request))), status=status.HTTP_201_CREATED)
