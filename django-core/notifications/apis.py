from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.http import user_of
from common.pagination import CountedPageNumberPagination, PageNumberPagination, paginated_response
from common.query_parameters import UNKNOWN_PARAMETER_NOTE, KnownQueryParametersMixin
from notifications import selectors, services
from notifications.preferences import preferences_table
from notifications.serializers import (
    NotificationSerializer,
    PreferencesSerializer,
    ReadAllSerializer,
    UnreadCountSerializer,
)

PREFERENCES_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "properties": {k: {"type": "boolean"} for k in ("web", "email", "telegram")},
        "additionalProperties": False,
    },
}


class NotificationListApi(KnownQueryParametersMixin, APIView):
    pagination_class = PageNumberPagination  # documents the list envelope in the schema
    query_parameters = ("unread",)

    @extend_schema(
        parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only unread ones.")],
        responses=NotificationSerializer(many=True),
        description=UNKNOWN_PARAMETER_NOTE,
    )
    def get(self, request: Request) -> Response:
        unread_only = request.query_params.get("unread", "").lower() in ("1", "true", "yes")
        notifications = selectors.notification_list(user=user_of(request), unread_only=unread_only)
        return paginated_response(
            queryset=notifications,
            serializer_class=NotificationSerializer,
            request=request,
            view=self,
            paginator_class=CountedPageNumberPagination,
        )


class UnreadCountApi(APIView):
    @extend_schema(responses=UnreadCountSerializer)
    def get(self, request: Request) -> Response:
        return Response({"count": selectors.notification_unread_count(user=user_of(request))})


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses=NotificationSerializer)
    def patch(self, request: Request, notification_id: int) -> Response:
        notification = selectors.notification_get(notification_id=notification_id, user=user_of(request))
        notification = services.notification_mark_read(notification=notification)
        return Response(NotificationSerializer(notification).data)


class ReadAllApi(APIView):
    @extend_schema(request=None, responses=ReadAllSerializer)
    def post(self, request: Request) -> Response:
        return Response({"updated": services.notifications_mark_all_read(user=user_of(request))})


class PreferencesApi(APIView):
    @extend_schema(responses={200: PREFERENCES_SCHEMA})
    def get(self, request: Request) -> Response:
        return Response(preferences_table(user_id=user_of(request).pk))

    @extend_schema(request={"application/json": PREFERENCES_SCHEMA}, responses={200: PREFERENCES_SCHEMA})
    def put(self, request: Request) -> Response:
        serializer = PreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        table = services.preferences_update(user=user_of(request), changes=serializer.validated_data)
        return Response(table, status=status.HTTP_200_OK)
