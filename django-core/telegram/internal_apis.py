"""django-core's internal API for the Telegram bot (docs/telegram.md), under /internal/telegram/:
not routed by the gateway, authenticated by the service token. Each chat-scoped view resolves
the chat's account and calls the same selectors and services as the public API, in that
account's language, so permissions, translations and events are the same."""

import math
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from mailing import links
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.services import user_update
from projects.models import Membership, Role
from projects.selectors import invite_get_for_invitee
from projects.services import invite_accept, invite_decline
from tasks import services as task_services
from tasks.models import TaskStatus
from tasks.selectors import task_get_for_user
from telegram import selectors, services
from telegram.authentication import BotCaller, ServiceTokenAuthentication
from telegram.messages import task_payload

TASKS_PAGE_SIZE = 5


def _caller(request: Request) -> BotCaller:
    caller = request.user
    assert isinstance(caller, BotCaller)
    return caller


def _chat_id(request: Request) -> int:
    chat_id = _caller(request).chat_id
    if chat_id is None:
        raise exceptions.ValidationError({"detail": _("X-Telegram-Chat-Id is required."), "code": "chat_required"})
    return chat_id


def _user_json(user: User) -> dict[str, Any]:
    return {"id": user.pk, "name": user.name, "language": user.language, "timezone": user.timezone}


@extend_schema(exclude=True)
class InternalApi(APIView):
    authentication_classes = [ServiceTokenAuthentication]


class ChatApi(InternalApi):
    """A view speaking for the chat's linked account, in its language."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.account = selectors.chat_user(chat_id=_chat_id(request))
        translation.activate(self.account.language)
        request.LANGUAGE_CODE = self.account.language


class BotApi(InternalApi):
    class Input(serializers.Serializer):
        username = serializers.RegexField(r"^@?[A-Za-z0-9_]{5,32}$")

    def put(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        services.telegram_bot_register(username=data.validated_data["username"])
        # The one list of languages (settings.LANGUAGES): the bot offers those it has catalogs for.
        return Response({"languages": [code for code, _name in settings.LANGUAGES]})


class ChatAccountApi(ChatApi):
    def get(self, request: Request) -> Response:
        return Response({"user": _user_json(self.account)})

    def delete(self, request: Request) -> Response:
        services.telegram_unlink(user=self.account)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LinkApi(InternalApi):
    class Input(serializers.Serializer):
        token = serializers.CharField(max_length=128)

    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        user, moved = services.telegram_link_consume(token=data.validated_data["token"], chat_id=_chat_id(request))
        return Response({"user": _user_json(user), "moved": moved})


class LanguageApi(ChatApi):
    class Input(serializers.Serializer):
        language = serializers.ChoiceField(choices=settings.LANGUAGES)

    def put(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_update(user=self.account, language=data.validated_data["language"])
        return Response({"user": _user_json(user)})


class TaskListApi(ChatApi):
    def get(self, request: Request) -> Response:
        try:
            page = max(int(request.query_params.get("page", "1")), 1)
        except ValueError:
            raise exceptions.ValidationError({"page": [_("A page number is a positive integer.")]}) from None
        tasks = selectors.open_tasks_assigned(user=self.account)
        count = tasks.count()
        pages = max(math.ceil(count / TASKS_PAGE_SIZE), 1)
        page = min(page, pages)
        rows = list(tasks[(page - 1) * TASKS_PAGE_SIZE : page * TASKS_PAGE_SIZE])
        # The user's role in each task's project (an assignee demoted to viewer keeps the task
        # but may not move it), in one query for the page.
        roles = dict(
            Membership.objects.filter(user=self.account, project_id__in={t.project_id for t in rows}).values_list(
                "project_id", "role"
            )
        )
        results = [task_payload(task, self.account, role=roles.get(task.project_id)) for task in rows]
        return Response({"count": count, "page": page, "pages": pages, "results": results})


class TaskStatusApi(ChatApi):
    class Input(serializers.Serializer):
        status = serializers.ChoiceField(choices=TaskStatus.choices)

    def post(self, request: Request, task_id: int) -> Response:
        task = task_get_for_user(task_id=task_id, user=self.account)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["status"] != task.status:
            task = task_services.task_update(
                task=task, actor=self.account, fields={"status": data.validated_data["status"]}
            )
        return Response({"task": task_payload(task, self.account)})


class CommentInput(serializers.Serializer):
    body = serializers.CharField(max_length=10_000, trim_whitespace=True)


def _comment(account: User, task_id: int, body: str) -> Response:
    task = task_get_for_user(task_id=task_id, user=account)
    comment = task_services.comment_create(task=task, author=account, body=body)
    return Response(
        {"task": task_payload(task, account), "comment": {"id": comment.pk}}, status=status.HTTP_201_CREATED
    )


class TaskCommentApi(ChatApi):
    def post(self, request: Request, task_id: int) -> Response:
        data = CommentInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _comment(self.account, task_id, data.validated_data["body"])


class ReplyApi(ChatApi):
    class Input(CommentInput):
        reply_to_message_id = serializers.IntegerField(min_value=1)

    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        task_id = selectors.task_id_of_message(
            chat_id=_chat_id(request), message_id=data.validated_data["reply_to_message_id"]
        )
        if task_id is None:
            raise exceptions.NotFound(_("That message is not a task notification."), "unknown_message")
        return _comment(self.account, task_id, data.validated_data["body"])


class ProjectListApi(ChatApi):
    def get(self, request: Request) -> Response:
        # Annotated with my_role and open_tasks (projects_with_open_tasks).
        projects: list[Any] = list(selectors.projects_with_open_tasks(user=self.account))
        results = [
            {
                "id": project.pk,
                "name": project.name,
                "role": project.my_role,
                "role_label": str(Role(project.my_role).label),
                "open_tasks": project.open_tasks,
                "url": links.app_url(),
            }
            for project in projects
        ]
        return Response({"results": results})


class InviteAnswerApi(ChatApi):
    def post(self, request: Request, invite_id: int, answer: str) -> Response:
        invite = invite_get_for_invitee(invite_id=invite_id, user=self.account)
        if answer == "accept":
            invite_accept(invite=invite, user=self.account)
            answered = "accepted"
        else:
            invite_decline(invite=invite, user=self.account)
            answered = "declined"
        return Response({"project": {"id": invite.project_id, "name": invite.project.name}, "status": answered})


class ClaimApi(InternalApi):
    class Input(serializers.Serializer):
        ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=200)

    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        claimed = services.telegram_deliveries_claim(ids=data.validated_data["ids"])
        return Response({"deliveries": [c.as_json() for c in claimed]})


class ResultApi(InternalApi):
    class Input(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=["sent", "blocked", "failed"])
        message_id = serializers.IntegerField(required=False, min_value=1)
        error = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs["outcome"] == "sent" and "message_id" not in attrs:
                raise serializers.ValidationError({"message_id": [_("A sent message has an id.")]})
            return attrs

    def post(self, request: Request, delivery_id: int) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = services.telegram_delivery_result(
            delivery_id=delivery_id,
            outcome=data.validated_data["outcome"],
            message_id=data.validated_data.get("message_id"),
            error=data.validated_data["error"],
        )
        return Response({"status": outcome.status, "retry": outcome.retry})
