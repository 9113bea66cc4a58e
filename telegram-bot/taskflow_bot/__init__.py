"""TaskFlow's Telegram bot (aiogram 3): commands and buttons over django-core's internal API,
and pushes from the Redis stream `telegram:deliveries`. See docs/telegram.md."""
