from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.selectors import CHECK_OK, CHECK_UNAVAILABLE, HEALTH_WORDS, dependency_checks

# Public (the gateway routes /api): fixed words only, never an error's text or a host name.
# Operators read the errors on /internal/ready and in the log.


def _health_serializer(name: str) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "status": serializers.ChoiceField(choices=HEALTH_WORDS),
            "checks": serializers.DictField(
                child=serializers.ChoiceField(choices=HEALTH_WORDS),
                help_text="`database` and `redis`: `ok` or `unavailable`.",
            ),
        },
    )


class HealthApi(APIView):
    """Liveness and dependencies: 200 when every check is ok, 503 naming the failing one."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            (200, "application/json"): _health_serializer("Health"),
            (503, "application/json"): _health_serializer("HealthDown"),
        }
    )
    def get(self, request: Request) -> Response:
        checks = dependency_checks()
        healthy = all(value == CHECK_OK for value in checks.values())
        return Response(
            {"status": CHECK_OK if healthy else CHECK_UNAVAILABLE, "checks": checks},
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
        )
