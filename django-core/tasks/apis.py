from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import user_get_by_id
from common.db_router import reads_from_replica
from common.http import user_of
from common.pagination import PageNumberPagination, paginated_response
from common.query_parameters import UNKNOWN_PARAMETER_NOTE, KnownQueryParametersMixin
from projects.models import Project
from projects.selectors import member_project_ids, membership_list, project_get_for_user
from tasks import selectors, services
from tasks.filters import TaskFilter
from tasks.models import Task
from tasks.serializers import (
    BoardSerializer,
    CommentSerializer,
    TaskActivitySerializer,
    TaskCreateSerializer,
    TaskDetailSerializer,
    TaskMoveSerializer,
    TaskSerializer,
    TaskUpdateSerializer,
)


def _assignee(value: int | None) -> User | None:
    """The user for an `assignee` id; an unknown id gets the same answer as a non-member."""
    if value is None:
        return None
    user = user_get_by_id(user_id=value)
    if user is None or not user.is_active:
        raise exceptions.ValidationError(
            {"assignee": [_("The assignee must be a member (not a viewer) of the task's project.")]}
        )
    return user


def _write_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields = dict(data)
    if "assignee" in fields:
        fields["assignee"] = _assignee(fields["assignee"])
    return fields


def _detail(task: Task, user: User) -> dict[str, Any]:
    task.watcher_users = list(selectors.task_watchers(task=task))  # type: ignore[attr-defined]
    task.is_watching = any(watcher.pk == user.pk for watcher in task.watcher_users)  # type: ignore[attr-defined]
    return TaskDetailSerializer(task).data  # type: ignore[return-value]


TASK_LIST_PARAMETERS = [
    OpenApiParameter("project", int, description="Only tasks of this project."),
    OpenApiParameter("status", str, description="A status, or several separated by commas."),
    OpenApiParameter(
        "priority", str, description="A priority (low, medium, high, urgent), or several separated by commas."
    ),
    OpenApiParameter("assignee", str, description="A user id, `me` or `none`."),
    OpenApiParameter("reporter", str, description="A user id or `me`."),
    OpenApiParameter("deadline_after", str, description="Deadline at or after (ISO 8601)."),
    OpenApiParameter("deadline_before", str, description="Deadline before (ISO 8601)."),
    OpenApiParameter("search", str, description="Substring of title or description, any language."),
    OpenApiParameter(
        "ordering",
        str,
        description="Comma-separated keys among created_at, updated_at, deadline, priority, "
        "status, title, id; prefix - for descending. Default: -created_at.",
    ),
]


class TaskListApi(KnownQueryParametersMixin, APIView):
    pagination_class = PageNumberPagination  # documents the list envelope in the schema
    query_filterset = TaskFilter

    @extend_schema(
        parameters=TASK_LIST_PARAMETERS,
        responses=TaskSerializer(many=True),
        description=UNKNOWN_PARAMETER_NOTE,
    )
    @reads_from_replica
    def get(self, request: Request) -> Response:
        tasks = selectors.task_list_for_user(user=user_of(request))
        # The filter set costs nearly a millisecond even with nothing to filter: only when asked.
        if set(request.query_params) - {"page", "page_size"}:
            filterset = TaskFilter(request.query_params, queryset=tasks, request=request)
            if not filterset.is_valid():
                raise exceptions.ValidationError(filterset.errors)
            tasks = filterset.qs
        return paginated_response(queryset=tasks, serializer_class=TaskSerializer, request=request, view=self)

    @extend_schema(request=TaskCreateSerializer, responses={201: TaskDetailSerializer})
    def post(self, request: Request) -> Response:
        serializer = TaskCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = _write_fields(serializer.validated_data)
        project = Project.objects.filter(pk=fields.pop("project"), pk__in=member_project_ids(user_of(request))).first()
        if project is None:
            raise exceptions.ValidationError({"project": [_("No such project among yours.")]})
        task = services.task_create(actor=user_of(request), project=project, **_split_translations(fields))
        # A new task's watchers are known without a query: its reporter and its assignee
        # (task_create makes them watch it; nobody else can have yet).
        watchers = {person.pk: person for person in (task.reporter, task.assignee) if person is not None}
        task.watcher_users = [watchers[pk] for pk in sorted(watchers)]  # type: ignore[attr-defined]
        task.is_watching = True  # type: ignore[attr-defined]
        return Response(TaskDetailSerializer(task).data, status=status.HTTP_201_CREATED)


def _split_translations(fields: dict[str, Any]) -> dict[str, Any]:
    translations = {key: fields.pop(key) for key in list(fields) if key.startswith(("title_", "description_"))}
    return {**fields, "translations": translations}


class TaskDetailApi(APIView):
    @extend_schema(responses=TaskDetailSerializer)
    def get(self, request: Request, task_id: int) -> Response:
        task = selectors.task_get_for_user(task_id=task_id, user=user_of(request))
        return Response(_detail(task, user_of(request)))

    @extend_schema(request=TaskUpdateSerializer, responses=TaskDetailSerializer)
    def patch(self, request: Request, task_id: int) -> Response:
        task = selectors.task_get_for_user(task_id=task_id, user=user_of(request))
        serializer = TaskUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "title" in serializer.validated_data and not serializer.validated_data["title"]:
            raise exceptions.ValidationError({"title": [_("The title cannot be empty.")]})
        task = services.task_update(task=task, actor=user_of(request), fields=_write_fields(serializer.validated_data))
        task = selectors.task_get_for_user(task_id=task.pk, user=user_of(request))
        return Response(_detail(task, user_of(request)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, task_id: int) -> Response:
        task = selectors.task_get_for_user(task_id=task_id, user=user_of(request))
        services.task_delete(task=task, actor=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BoardApi(APIView):
    @extend_schema(
        responses=BoardSerializer,
        description="A project's board in one request: the project (with `my_role`), its members and one "
        "column per status in workflow order, each with its first 500 cards by rank and its total `count`. "
        "Live changes arrive on the WebSocket as board events (DESIGN.md, Live boards).",
    )
    def get(self, request: Request, project_id: int) -> Response:
        user = user_of(request)
        project = project_get_for_user(project_id=project_id, user=user)
        board = {
            "project": project,
            "members": list(membership_list(project=project)),
            "columns": selectors.board_columns(project_id=project.pk),
        }
        return Response(BoardSerializer(board).data)


class TaskMoveApi(APIView):
    @extend_schema(
        request=TaskMoveSerializer,
        responses=TaskDetailSerializer,
        description="Moves a card on the board: into the column `status` (default: its own), right below "
        "the task `after` and/or right above the task `before` (tasks of that column), or to the end of the "
        "column when neither is given. A change of column emits `task.status_changed`, a new place within "
        "it `task.moved`. Member or above.",
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = selectors.task_get_for_user(task_id=task_id, user=user_of(request))
        serializer = TaskMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        task = services.task_move(
            task=task,
            actor=user_of(request),
            status=data.get("status"),
            after_id=data.get("after"),
            before_id=data.get("before"),
        )
        task = selectors.task_get_for_user(task_id=task.pk, user=user_of(request))
        return Response(_detail(task, user_of(request)))


class TaskWatchApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, task_id: int) -> Response:
        task = selectors.task_get_for_user(task_id=task_id, user=user_of(request))
        services.task_watch(task=task, user=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, task_id: int) -> Response:
        task = selectors.task_get_for_user(task_id=task_id, user=user_of(request))
        services.task_unwatch(task=task, user=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommentListApi(KnownQueryParametersMixin, APIView):
    pagination_class = PageNumberPagination  # documents the list envelope in the schema

    @extend_schema(responses=CommentSerializer(many=True), description=UNKNOWN_PARAMETER_NOTE)
    def get(self, request: Request, task_id: int) -> Response:
        task = selectors.task_get_for_user(task_id=task_id, user=user_of(request))
        return paginated_response(
            queryset=selectors.comment_list(task=task), serializer_class=CommentSerializer, request=request, view=self
        )

    @extend_schema(request=CommentSerializer, responses={201: CommentSerializer})
    def post(self, request: Request, task_id: int) -> Response:
        task = selectors.task_get_for_user(task_id=task_id, user=user_of(request))
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_create(task=task, author=user_of(request), body=serializer.validated_data["body"])
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class TaskActivityApi(KnownQueryParametersMixin, APIView):
    pagination_class = PageNumberPagination  # documents the list envelope in the schema

    @extend_schema(
        responses=TaskActivitySerializer(many=True),
        description="The task's history, newest first: one entry per task event (created, assigned, "
        "unassigned, status changed, updated, commented) with a `message` in the request language. "
        "Any member of the project, viewers included. " + UNKNOWN_PARAMETER_NOTE,
    )
    def get(self, request: Request, task_id: int) -> Response:
        task = selectors.task_get_for_user(task_id=task_id, user=user_of(request))
        return paginated_response(
            queryset=selectors.task_activity_list(task=task),
            serializer_class=TaskActivitySerializer,
            request=request,
            view=self,
        )


class CommentDetailApi(APIView):
    @extend_schema(
        request=CommentSerializer,
        responses=CommentSerializer,
        description="Changes the comment's body; `edited` becomes true. Its author only, while a member "
        "(not a viewer) of the project. No event is emitted.",
    )
    def patch(self, request: Request, task_id: int, comment_id: int) -> Response:
        comment = selectors.comment_get_for_user(task_id=task_id, comment_id=comment_id, user=user_of(request))
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_update(
            comment=comment, actor=user_of(request), body=serializer.validated_data["body"]
        )
        return Response(CommentSerializer(comment).data)

    @extend_schema(
        responses={204: None},
        description="Deletes the comment: its author (a member, not a viewer) or a project admin or owner. "
        "No event is emitted; the task's activity keeps that a comment was made, without its text.",
    )
    def delete(self, request: Request, task_id: int, comment_id: int) -> Response:
        comment = selectors.comment_get_for_user(task_id=task_id, comment_id=comment_id, user=user_of(request))
        services.comment_delete(comment=comment, actor=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
