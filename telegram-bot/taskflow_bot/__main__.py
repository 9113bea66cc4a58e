"""`python -m taskflow_bot` (from telegram-bot/): runs the bot until SIGTERM/SIGINT.

Exits 2 with one line on stderr when it cannot run with this configuration (no
TELEGRAM_BOT_TOKEN: the bot is off; a placeholder secret in production)."""

import asyncio
import sys

from pydantic import ValidationError

from taskflow_bot.config import Settings


def main() -> int:
    try:
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "settings"
        print(f"taskflow_bot: invalid configuration ({where}): {first.get('msg')}", file=sys.stderr)
        return 2
    if not settings.telegram_bot_token:
        print(
            "taskflow_bot: TELEGRAM_BOT_TOKEN is not set, so the Telegram bot is off "
            "(create a bot with @BotFather and put its token in .env; see docs/telegram.md).",
            file=sys.stderr,
        )
        return 2
    # Imported only now: aiogram takes seconds to import, and a bot that is off says so at once.
    from taskflow_bot.main import configure_logging, run

    configure_logging(settings.log_level, settings.log_format)
    return asyncio.run(run(settings))


if __name__ == "__main__":
    sys.exit(main())
