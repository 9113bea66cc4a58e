"""The real bot process against the fake Bot API, real Redis, and a django-core that is down
(these need no django-core; the behaviour with a live one is tested with it)."""

import subprocess
import sys
import time
from collections.abc import Callable

import redis

from tests.telegram_bot.botapi import FakeBotApi
from tests.telegram_bot.support import BOT_DIR, BotProcess, bot_env


def wait_unhealthy(bot: BotProcess, timeout: float = 15.0) -> None:
    """Until the bot's /health answers something other than 200 (a loop keeps failing)."""
    deadline = time.monotonic() + timeout
    while bot.health().status_code == 200:
        assert time.monotonic() < deadline, bot.log_tail()
        time.sleep(0.2)


def test_without_a_token_it_exits_2_saying_so() -> None:
    env = bot_env(core_url="http://127.0.0.1:9", service_token="x", redis_url="redis://127.0.0.1:9", api_base="")
    env["TELEGRAM_BOT_TOKEN"] = ""

    result = subprocess.run(
        [sys.executable, "-m", "taskflow_bot"], cwd=BOT_DIR, env=env, capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr


def test_production_refuses_the_placeholder_token_at_start() -> None:
    env = bot_env(core_url="http://127.0.0.1:9", service_token="x", redis_url="redis://127.0.0.1:9", api_base="")
    env.update(
        ENV="production", DJANGO_ENV="production", TELEGRAM_SERVICE_TOKEN="dev-insecure-telegram-token-change-me"
    )

    result = subprocess.run(
        [sys.executable, "-m", "taskflow_bot"], cwd=BOT_DIR, env=env, capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 2
    assert "TELEGRAM_SERVICE_TOKEN" in result.stderr


def test_start_up_sets_the_menus_per_language_and_stops_cleanly(
    make_bot: Callable[..., BotProcess], bot_api: FakeBotApi, closed_port_url: str
) -> None:
    bot = make_bot(core_url=closed_port_url)

    bot_api.wait_for_call("setMyCommands", lambda call: call.params.get("language_code") == "es")

    assert bot.health().json() == {"status": "ok", "polling": True, "push": True}
    assert bot_api.calls("deleteWebhook")[0].params.get("drop_pending_updates") is False
    menus = {code: {c["command"]: c["description"] for c in bot_api.commands(code)} for code in ("", "ru", "es")}
    assert menus[""]["mytasks"] == "My open tasks"
    assert menus["ru"]["mytasks"] == "Мои открытые задачи"
    assert menus["es"]["mytasks"] == "Mis tareas abiertas"
    assert set(menus[""]) == set(menus["ru"]) == set(menus["es"])
    assert bot.stop() == 0
    assert "123456:TEST-token" not in bot.log()
    assert "test-telegram-service-token" not in bot.log()


def test_django_core_down_is_a_polite_answer_in_the_users_language(
    make_bot: Callable[..., BotProcess], bot_api: FakeBotApi, closed_port_url: str
) -> None:
    make_bot(core_url=closed_port_url)

    bot_api.push_command(5001, "mytasks", language_code="ru")
    bot_api.push_message(5002, "hello", language_code="es")
    bot_api.push_command(5003, "help", language_code="de")

    assert bot_api.wait_for_message(5001)["text"] == "TaskFlow сейчас недоступен, попробуйте через минуту."
    assert bot_api.wait_for_message(5002)["text"].startswith("TaskFlow no está disponible")
    assert bot_api.wait_for_message(5003)["text"] == "TaskFlow is unavailable right now, try again in a minute."


def test_a_button_pressed_while_django_core_is_down_gets_an_alert(
    make_bot: Callable[..., BotProcess], bot_api: FakeBotApi, closed_port_url: str
) -> None:
    make_bot(core_url=closed_port_url)
    bot_api.push_command(5004, "help")
    message = bot_api.wait_for_message(5004)

    callback_id = bot_api.push_callback(5004, "mp:2", message_id=message["message_id"])

    answer = bot_api.wait_for_callback_answer(callback_id)
    assert answer["text"] == "TaskFlow is unavailable right now, try again in a minute."
    assert answer["show_alert"] is True


def test_pushes_wait_in_the_stream_while_django_core_is_down(
    make_bot: Callable[..., BotProcess],
    bot_api: FakeBotApi,
    closed_port_url: str,
    redis_client: redis.Redis,
    stream: str,
) -> None:
    bot = make_bot(core_url=closed_port_url)

    # when deliveries arrive and the claim cannot reach django-core
    with redis_client.pipeline(transaction=True) as pipe:  # one read sees both
        pipe.xadd(stream, {"d": "1", "c": "5005"})
        pipe.xadd(stream, {"d": "2", "c": "5005"})
        pipe.execute()

    # then nothing is sent and nothing acknowledged, the health check says which loop fails,
    # and the process keeps running (it resumes by itself when django-core is back)
    wait_unhealthy(bot)
    health = bot.health().json()
    assert (health["polling"], health["push"]) == (True, False)
    assert "django-core unavailable" in health["errors"]["push"]
    assert redis_client.xpending(stream, "bot")["pending"] == 2
    assert bot_api.sent(5005) == []
    assert bot.running
    assert bot.stop() == 0
    assert redis_client.xpending(stream, "bot")["pending"] == 2


def test_metrics_count_updates_and_the_stream_backlog_and_live_differs_from_ready(
    make_bot: Callable[..., BotProcess],
    bot_api: FakeBotApi,
    closed_port_url: str,
    redis_client: redis.Redis,
    stream: str,
) -> None:
    bot = make_bot(core_url=closed_port_url)
    base = bot.health_url.removesuffix("/health")

    # when two commands are handled and two pushes wait (django-core is down: none is claimed)
    bot_api.push_command(5007, "help")
    bot_api.push_command(5007, "mytasks")
    deadline = time.monotonic() + 15
    while len(bot_api.sent(5007)) < 2:  # both answered ("unavailable")
        assert time.monotonic() < deadline, bot.log_tail()
        time.sleep(0.1)
    with redis_client.pipeline(transaction=True) as pipe:  # one read sees both
        pipe.xadd(stream, {"d": "1", "c": "5007", "r": "req-bot-1"})
        pipe.xadd(stream, {"d": "2", "c": "5007"})
        pipe.execute()
    wait_unhealthy(bot)

    # then /metrics counts both updates and the two entries read but not acknowledged
    text = bot.http.get(f"{base}/metrics", timeout=5).text
    values = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(values['taskflow_bot_updates_total{type="message"}']) == 2
    assert float(values["taskflow_bot_stream_pending_entries"]) == 2
    assert float(values["taskflow_bot_stream_lag_entries"]) == 0
    assert float(values["taskflow_bot_messages_sent_total"]) == 0
    # and the process is live but not ready (a dependency does not answer)
    assert bot.http.get(f"{base}/live", timeout=5).status_code == 200
    assert bot.http.get(f"{base}/ready", timeout=5).status_code == 503
