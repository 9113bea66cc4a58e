from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.db_router import reads_from_replica
from common.http import user_of
from common.pagination import PageNumberPagination, paginated_response
from common.query_parameters import UNKNOWN_PARAMETER_NOTE, KnownQueryParametersMixin
from common.throttling import WriteRateThrottle
from projects import selectors, services
from projects.models import Invite, Membership, Project, Role
from projects.serializers import (
    InviteCreateSerializer,
    InviteSerializer,
    InviteTokenSerializer,
    JoinedSerializer,
    MembershipRoleSerializer,
    MembershipSerializer,
    MyInviteSerializer,
    ProjectSerializer,
    ProjectWriteSerializer,
)


def _split_translations(data: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(`name`/`description` in the request language, the per-language columns)."""
    plain = {k: v for k, v in data.items() if k in services.TRANSLATED_PROJECT_FIELDS}
    return plain, {k: v for k, v in data.items() if k not in plain}


class ProjectListApi(KnownQueryParametersMixin, APIView):
    pagination_class = PageNumberPagination  # documents the list envelope in the schema

    @extend_schema(responses=ProjectSerializer(many=True), description=UNKNOWN_PARAMETER_NOTE)
    @reads_from_replica
    def get(self, request: Request) -> Response:
        projects = selectors.project_list_for_user(user=user_of(request))
        return paginated_response(queryset=projects, serializer_class=ProjectSerializer, request=request, view=self)

    @extend_schema(request=ProjectWriteSerializer, responses={201: ProjectSerializer})
    def post(self, request: Request) -> Response:
        serializer = ProjectWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plain, translations = _split_translations(serializer.validated_data)
        project = services.project_create(
            actor=user_of(request),
            name=plain.get("name", ""),
            description=plain.get("description", ""),
            translations=translations,
        )
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    @extend_schema(responses=ProjectSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get_for_user(project_id=project_id, user=user_of(request))
        return Response(ProjectSerializer(project).data)

    @extend_schema(request=ProjectWriteSerializer, responses=ProjectSerializer)
    def patch(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get_for_user(project_id=project_id, user=user_of(request))
        serializer = ProjectWriteSerializer(project, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        project = services.project_update(
            project=project, actor=user_of(request), fields=dict(serializer.validated_data)
        )
        return Response(ProjectSerializer(project).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get_for_user(project_id=project_id, user=user_of(request))
        services.project_delete(project=project, actor=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListApi(KnownQueryParametersMixin, APIView):
    pagination_class = PageNumberPagination  # documents the list envelope in the schema

    @extend_schema(responses=MembershipSerializer(many=True), description=UNKNOWN_PARAMETER_NOTE)
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get_for_user(project_id=project_id, user=user_of(request))
        members = selectors.membership_list(project=project)
        return paginated_response(queryset=members, serializer_class=MembershipSerializer, request=request, view=self)


class MemberDetailApi(APIView):
    def _member(self, request: Request, project_id: int, user_id: int) -> tuple[Project, Membership]:
        project = selectors.project_get_for_user(project_id=project_id, user=user_of(request))
        member = get_object_or_404(Membership.objects.select_related("user"), project=project, user_id=user_id)
        return project, member

    @extend_schema(request=MembershipRoleSerializer, responses=MembershipSerializer)
    def patch(self, request: Request, project_id: int, user_id: int) -> Response:
        project, member = self._member(request, project_id, user_id)
        serializer = MembershipRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = services.membership_change_role(
            project=project,
            actor=user_of(request),
            member=member,
            role=Role(serializer.validated_data["role"]),
        )
        return Response(MembershipSerializer(member).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, user_id: int) -> Response:
        project, member = self._member(request, project_id, user_id)
        services.membership_remove(project=project, actor=user_of(request), member=member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectInviteListApi(KnownQueryParametersMixin, APIView):
    # Each invite sends an email: creating them is rate-limited per user (429), listing is not.
    throttle_classes = [WriteRateThrottle]
    throttle_scope = "invite"
    pagination_class = PageNumberPagination  # documents the list envelope in the schema

    @extend_schema(responses=InviteSerializer(many=True), description=UNKNOWN_PARAMETER_NOTE)
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get_for_user(project_id=project_id, user=user_of(request))
        services.project_require_role(project=project, user=user_of(request), minimum=Role.ADMIN)
        invites = selectors.invite_list_for_project(project=project)
        return paginated_response(queryset=invites, serializer_class=InviteSerializer, request=request, view=self)

    @extend_schema(request=InviteCreateSerializer, responses={201: InviteSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get_for_user(project_id=project_id, user=user_of(request))
        serializer = InviteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.invite_create(
            project=project,
            actor=user_of(request),
            email=serializer.validated_data["email"],
            role=Role(serializer.validated_data["role"]),
        )
        return Response(InviteSerializer(created.invite).data, status=status.HTTP_201_CREATED)


class ProjectInviteDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, invite_id: int) -> Response:
        project = selectors.project_get_for_user(project_id=project_id, user=user_of(request))
        invite = get_object_or_404(Invite, pk=invite_id, project=project)
        services.invite_revoke(invite=invite, actor=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyInviteListApi(KnownQueryParametersMixin, APIView):
    pagination_class = PageNumberPagination  # documents the list envelope in the schema

    @extend_schema(responses=MyInviteSerializer(many=True), description=UNKNOWN_PARAMETER_NOTE)
    def get(self, request: Request) -> Response:
        invites = selectors.invite_list_pending_for_user(user=user_of(request))
        return paginated_response(queryset=invites, serializer_class=MyInviteSerializer, request=request, view=self)


class InviteAcceptApi(APIView):
    @extend_schema(request=None, responses={201: JoinedSerializer})
    def post(self, request: Request, invite_id: int) -> Response:
        invite = selectors.invite_get_for_invitee(invite_id=invite_id, user=user_of(request))
        membership = services.invite_accept(invite=invite, user=user_of(request))
        return Response(JoinedSerializer(membership).data, status=status.HTTP_201_CREATED)


class InviteDeclineApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, invite_id: int) -> Response:
        invite = selectors.invite_get_for_invitee(invite_id=invite_id, user=user_of(request))
        services.invite_decline(invite=invite, user=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InviteAcceptByTokenApi(APIView):
    """Accepts the invite whose emailed token is presented, for the signed-in user."""

    @extend_schema(
        operation_id="invites_accept_by_token", request=InviteTokenSerializer, responses={201: JoinedSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = InviteTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.invite_accept_by_token(token=serializer.validated_data["token"], user=user_of(request))
        return Response(JoinedSerializer(membership).data, status=status.HTTP_201_CREATED)
