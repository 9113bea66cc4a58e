"""Wires the bot: Bot API session, dispatcher (Redis FSM storage, middlewares, routers), the push
consumer and the health endpoint, and runs long polling and the push loop side by side until
SIGTERM/SIGINT.

Start-up: deleteWebhook and getMe (retried until Telegram answers: polling needs them), then in
the background the username report to django-core and the per-language command menus, both
retried with backoff, so neither a django-core that is still starting nor a Telegram hiccup
holds polling back.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import BotCommand, BotCommandScopeDefault, LinkPreviewOptions, User
from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from taskflow_contracts import async_client
from taskflow_contracts.logs import configure_logging as taskflow_logging

from taskflow_bot import i18n
from taskflow_bot.config import Settings
from taskflow_bot.core_api import CoreApi, CoreApiError, CoreUnavailable
from taskflow_bot.handlers import routers
from taskflow_bot.health import LoopHealth, health_app, start_health_server
from taskflow_bot.metrics import UpdatesCounted, metrics_routes
from taskflow_bot.middlewares import AccountMiddleware, CoreErrorMiddleware, LanguageMiddleware
from taskflow_bot.push import GROUP, PushConsumer

logger = logging.getLogger("taskflow_bot")

FSM_KEY_PREFIX = "tgbot"
POLLING_TIMEOUT = 10  # seconds one getUpdates long poll waits
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 60.0
SHUTDOWN_DRAIN = 10.0

# The command menu, translated per language when it is set.
COMMANDS = [
    ("mytasks", i18n.__("My open tasks")),
    ("projects", i18n.__("My projects")),
    ("language", i18n.__("Choose the language")),
    ("cancel", i18n.__("Stop writing a comment")),
    ("unlink", i18n.__("Unlink this chat")),
    ("help", i18n.__("What this bot can do")),
]


class FsmStorage(RedisStorage):
    """aiogram's RedisStorage on any topology: its own close() passes `close_connection_pool`,
    which RedisCluster.aclose() does not take."""

    async def close(self) -> None:
        if isinstance(self.redis, RedisCluster):
            await self.redis.aclose()
        else:
            await self.redis.aclose(close_connection_pool=True)


class PollingWatch(BaseRequestMiddleware):
    """Tells the health check whether getUpdates works (aiogram's polling retries by itself and
    only logs its failures)."""

    def __init__(self, health: LoopHealth) -> None:
        self._health = health

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        request: TelegramMethod[TelegramType] = method  # the narrowing below is only for the check
        if not isinstance(method, GetUpdates):
            return await make_request(bot, request)
        try:
            response = await make_request(bot, request)
        except Exception as error:
            self._health.failing(f"getUpdates: {type(error).__name__}")
            raise
        self._health.ok()
        return response


def configure_logging(level: str, log_format: str = "console") -> None:
    taskflow_logging(service="bot", log_format=log_format, level=level)
    numeric = logging.getLevelName(level)
    # Never below INFO for aiogram: request details at DEBUG would include the bot token in the
    # URL. Its per-update "is handled" lines only at LOG_LEVEL=DEBUG.
    logging.getLogger("aiogram").setLevel(max(numeric, logging.INFO))
    logging.getLogger("aiogram.event").setLevel(logging.INFO if numeric <= logging.DEBUG else logging.WARNING)
    logging.getLogger("aiohttp").setLevel(max(numeric, logging.INFO))


async def retry_until(
    what: str, attempt: Callable[[], Awaitable[Any]], stop: asyncio.Event, *, errors: tuple[type[Exception], ...]
) -> Any:
    """Runs `attempt` until it succeeds (exponential backoff, logged once per failure streak);
    None when the process is told to stop first."""
    backoff = BACKOFF_INITIAL
    while not stop.is_set():
        try:
            return await attempt()
        except errors as error:
            log = logger.warning if backoff == BACKOFF_INITIAL else logger.debug
            log("%s failed (%s: %s); retrying in %.0fs", what, type(error).__name__, error, backoff)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), backoff)
        backoff = min(backoff * 2, BACKOFF_MAX)
    return None


async def set_command_menus(bot: Bot) -> None:
    """One menu per language: the default (English, any client) plus one per other language."""
    for code in i18n.supported_languages():
        with i18n.use_language(code):
            commands = [BotCommand(command=name, description=str(text)) for name, text in COMMANDS]
        if code == i18n.SOURCE_LANGUAGE:
            await bot.set_my_commands(commands, scope=BotCommandScopeDefault())
        else:
            await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)


async def run_polling(dp: Dispatcher, bot: Bot, health: LoopHealth, stop: asyncio.Event, **data: Any) -> None:
    """aiogram's polling, restarted if it ever ends by itself (it retries network errors on its
    own; this covers anything that escapes it)."""
    backoff = BACKOFF_INITIAL
    while not stop.is_set():
        health.started()
        try:
            await dp.start_polling(
                bot, polling_timeout=POLLING_TIMEOUT, handle_signals=False, close_bot_session=False, **data
            )
        except Exception as error:
            logger.exception("Polling stopped unexpectedly")
            health.failing(f"polling: {type(error).__name__}")
        finally:
            health.stopped()
        if stop.is_set():
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), backoff)
        backoff = min(backoff * 2, BACKOFF_MAX)


def build_dispatcher(storage: RedisStorage, core: CoreApi) -> Dispatcher:
    dp = Dispatcher(storage=storage)
    dp["core"] = core
    dp.update.outer_middleware(UpdatesCounted())
    dp.update.outer_middleware(CoreErrorMiddleware())
    dp.update.outer_middleware(AccountMiddleware(core))
    dp.update.outer_middleware(LanguageMiddleware())
    dp.include_routers(*routers())
    return dp


async def run(settings: Settings) -> int:
    i18n.configure(settings.bot_locales_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    polling_health, push_health = LoopHealth("polling"), LoopHealth("push")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(PollingWatch(polling_health))
    bot = Bot(
        settings.telegram_bot_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True)),
    )
    core = CoreApi(settings.django_internal_url, settings.telegram_service_token, timeout=settings.core_timeout)
    # Single keys and one-key commands only (XREADGROUP, XAUTOCLAIM, XCLAIM, XACK on the stream;
    # GET/SET/DEL per chat for the conversation state), so the same code runs on a single node,
    # under Sentinel and on a Cluster. Two clients: the dispatcher closes its storage's when
    # polling stops, while the push loop may still be finishing its sends.
    storage = FsmStorage(async_client(settings.topology), key_builder=DefaultKeyBuilder(prefix=FSM_KEY_PREFIX))
    stream_redis: Redis = async_client(
        settings.topology, decode_responses=True, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
    )
    dp = build_dispatcher(storage, core)
    consumer = PushConsumer(bot=bot, core=core, redis=stream_redis, settings=settings, health=push_health)

    health_runner: web.AppRunner | None = None
    if settings.bot_health_port:
        app = health_app(polling_health, push_health, grace=settings.bot_health_grace)
        metrics_routes(app, redis=stream_redis, stream=settings.telegram_stream, group=GROUP)
        health_runner = await start_health_server(app, settings.bot_health_host, settings.bot_health_port)

    background: list[asyncio.Task[Any]] = []
    try:
        telegram_errors = (Exception,)  # whatever Telegram or the network throws: retry
        me: User | None = await retry_until(
            "Connecting to the Bot API", lambda: _connect(bot), stop, errors=telegram_errors
        )
        if me is None:
            return 0
        username = me.username or ""
        logger.info(
            "Bot @%s (id %s) starting: polling and push consumer (Redis %s)",
            username,
            me.id,
            settings.topology.describe(),
        )
        background = [
            asyncio.create_task(
                retry_until(
                    "Reporting the bot's username to django-core",
                    lambda: _register(core, username),
                    stop,
                    errors=(CoreUnavailable, CoreApiError),
                )
            ),
            asyncio.create_task(
                retry_until("Setting the command menus", lambda: set_command_menus(bot), stop, errors=telegram_errors)
            ),
        ]
        polling = asyncio.create_task(run_polling(dp, bot, polling_health, stop))
        push = asyncio.create_task(consumer.run())
        await stop.wait()
        logger.info("Stopping: finishing sends in flight")
        with contextlib.suppress(RuntimeError):  # polling not started yet
            await dp.stop_polling()
        await consumer.stop(SHUTDOWN_DRAIN)
        await asyncio.wait([polling, push], timeout=SHUTDOWN_DRAIN)
        for task in (polling, push):
            task.cancel()
        return 0
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await core.close()
        await stream_redis.aclose()
        await storage.close()
        await bot.session.close()
        if health_runner is not None:
            await health_runner.cleanup()
        logger.info("Stopped")


async def _register(core: CoreApi, username: str) -> None:
    """Reports the username (deep links) and keeps only the languages django-core supports."""
    i18n.restrict(await core.report_username(username))


async def _connect(bot: Bot) -> User:
    await bot.delete_webhook(drop_pending_updates=False)
    return await bot.me()
