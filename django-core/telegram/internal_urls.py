"""/internal/telegram/…: the bot's API (docs/telegram.md). The gateway never routes /internal."""

from django.urls import re_path

from common.urls import optional_slash
from telegram import internal_apis as apis

urlpatterns = [
    *optional_slash("bot", apis.BotApi.as_view()),
    *optional_slash("chat", apis.ChatAccountApi.as_view()),
    *optional_slash("link", apis.LinkApi.as_view()),
    *optional_slash("language", apis.LanguageApi.as_view()),
    *optional_slash("tasks", apis.TaskListApi.as_view()),
    *optional_slash("tasks/<int:task_id>/status", apis.TaskStatusApi.as_view()),
    *optional_slash("tasks/<int:task_id>/comments", apis.TaskCommentApi.as_view()),
    *optional_slash("replies", apis.ReplyApi.as_view()),
    *optional_slash("projects", apis.ProjectListApi.as_view()),
    re_path(r"^invites/(?P<invite_id>[0-9]+)/(?P<answer>accept|decline)/?$", apis.InviteAnswerApi.as_view()),
    *optional_slash("deliveries/claim", apis.ClaimApi.as_view()),
    *optional_slash("deliveries/<int:delivery_id>/result", apis.ResultApi.as_view()),
]
