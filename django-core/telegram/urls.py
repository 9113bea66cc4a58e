from common.urls import optional_slash
from telegram import apis

urlpatterns = [
    *optional_slash("telegram/link", apis.TelegramLinkApi.as_view(), name="telegram-link"),
]
