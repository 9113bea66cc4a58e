from django.apps import AppConfig


class TelegramConfig(AppConfig):
    name = "telegram"
    verbose_name = "Telegram"
