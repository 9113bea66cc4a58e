"""The fake Bot API behaves like Telegram's where the bot depends on it."""

import contextlib
import threading
import time

import requests

from tests.telegram_bot.botapi import TEST_BOT_TOKEN, FakeBotApi


def call(api: FakeBotApi, method: str, **params: object) -> requests.Response:
    return requests.post(f"{api.base_url}/bot{TEST_BOT_TOKEN}/{method}", json=params, timeout=10)


def test_get_me_answers_the_bot_user(bot_api: FakeBotApi) -> None:
    body = call(bot_api, "getMe").json()

    assert body["ok"] is True
    assert body["result"]["is_bot"] is True
    assert body["result"]["username"] == "taskflow_test_bot"
    assert body["result"]["id"] == 123456


def test_wrong_token_is_unauthorized(bot_api: FakeBotApi) -> None:
    response = requests.post(f"{bot_api.base_url}/bot1:wrong/getMe", timeout=5)

    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_long_polling_returns_an_update_pushed_while_it_waits(bot_api: FakeBotApi) -> None:
    # given a long poll that is already waiting
    threading.Timer(0.3, lambda: bot_api.push_message(7, "hello")).start()
    started = time.monotonic()

    # when an update arrives
    body = call(bot_api, "getUpdates", offset=0, timeout=5).json()

    # then the poll returns it without waiting for its timeout
    assert time.monotonic() - started < 4
    assert [u["message"]["text"] for u in body["result"]] == ["hello"]
    assert body["result"][0]["message"]["chat"] == {"id": 7, "type": "private", "first_name": "Test"}


def test_long_polling_times_out_empty(bot_api: FakeBotApi) -> None:
    started = time.monotonic()

    body = call(bot_api, "getUpdates", timeout=1).json()

    assert body == {"ok": True, "result": []}
    assert time.monotonic() - started >= 0.9


def test_offset_confirms_earlier_updates(bot_api: FakeBotApi) -> None:
    first = bot_api.push_message(7, "one")
    bot_api.push_message(7, "two")

    everything = call(bot_api, "getUpdates", timeout=0).json()["result"]
    after_first = call(bot_api, "getUpdates", offset=first["update_id"] + 1, timeout=0).json()["result"]
    again = call(bot_api, "getUpdates", offset=0, timeout=0).json()["result"]

    assert [u["message"]["text"] for u in everything] == ["one", "two"]
    assert [u["message"]["text"] for u in after_first] == ["two"]
    assert [u["message"]["text"] for u in again] == ["two"]  # "one" was confirmed, so forgotten


def test_form_encoded_send_message_is_recorded_and_numbered(bot_api: FakeBotApi) -> None:
    # aiogram sends form fields, with JSON inside for the structured ones
    markup = '{"inline_keyboard": [[{"text": "Done", "callback_data": "ts:1:done"}]]}'
    data = {"chat_id": "42", "text": "<b>Hi</b> &amp; bye", "parse_mode": "HTML", "reply_markup": markup}
    url = f"{bot_api.base_url}/bot{TEST_BOT_TOKEN}/sendMessage"

    first = requests.post(url, data=data, timeout=5).json()["result"]
    second = requests.post(url, files={k: (None, v) for k, v in data.items()}, timeout=5).json()["result"]

    assert second["message_id"] > first["message_id"]
    assert first["text"] == "Hi & bye"  # what the user sees
    sent = bot_api.sent(42)
    assert [m["text"] for m in sent] == ["<b>Hi</b> &amp; bye"] * 2
    assert sent[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ts:1:done"
    assert sent[0]["parse_mode"] == "HTML"


def test_fail_next_answers_429_in_the_bot_api_shape_once(bot_api: FakeBotApi) -> None:
    bot_api.fail_next("sendMessage", chat_id=42, status=429, retry_after=3)

    other_chat = call(bot_api, "sendMessage", chat_id=43, text="x")
    failed = call(bot_api, "sendMessage", chat_id=42, text="x")
    retried = call(bot_api, "sendMessage", chat_id=42, text="x")

    assert other_chat.status_code == 200
    assert failed.status_code == 429
    assert failed.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert retried.status_code == 200
    assert [c.error_code for c in bot_api.calls("sendMessage")] == [None, 429, None]


def test_blocked_chat_gets_403_on_every_send(bot_api: FakeBotApi) -> None:
    bot_api.block_chat(42)

    answers = [call(bot_api, "sendMessage", chat_id=42, text="x") for _ in range(2)]

    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json()["description"] == "Forbidden: bot was blocked by the user"
    assert bot_api.sent(42) == []


def test_callback_carries_the_message_as_edited(bot_api: FakeBotApi) -> None:
    sent = call(bot_api, "sendMessage", chat_id=42, text="old").json()["result"]
    call(bot_api, "editMessageText", chat_id=42, message_id=sent["message_id"], text="new")

    callback_id = bot_api.push_callback(42, "mp:2", message_id=sent["message_id"])
    update = call(bot_api, "getUpdates", timeout=0).json()["result"][-1]
    call(bot_api, "answerCallbackQuery", callback_query_id=callback_id, text="ok")

    assert update["callback_query"]["message"]["text"] == "new"
    assert update["callback_query"]["data"] == "mp:2"
    assert bot_api.callback_answer(callback_id)["text"] == "ok"


def test_editing_to_the_same_content_is_not_modified(bot_api: FakeBotApi) -> None:
    sent = call(bot_api, "sendMessage", chat_id=42, text="same").json()["result"]

    answer = call(bot_api, "editMessageText", chat_id=42, message_id=sent["message_id"], text="same")

    assert answer.status_code == 400
    assert "message is not modified" in answer.json()["description"]


def test_reply_to_carries_the_bots_message(bot_api: FakeBotApi) -> None:
    sent = call(bot_api, "sendMessage", chat_id=42, text="notification").json()["result"]

    bot_api.push_message(42, "my reply", reply_to=sent["message_id"])
    update = call(bot_api, "getUpdates", timeout=0).json()["result"][-1]

    replied = update["message"]["reply_to_message"]
    assert replied["message_id"] == sent["message_id"]
    assert replied["from"]["is_bot"] is True


def test_set_my_commands_is_recorded_per_language(bot_api: FakeBotApi) -> None:
    call(bot_api, "setMyCommands", commands=[{"command": "help", "description": "Help"}])
    call(bot_api, "setMyCommands", commands=[{"command": "help", "description": "Помощь"}], language_code="ru")

    assert bot_api.commands() == [{"command": "help", "description": "Help"}]
    assert bot_api.commands("ru") == [{"command": "help", "description": "Помощь"}]


def test_sends_held_from_the_nth_are_messages_only_once_answered_and_never_if_the_client_left(
    bot_api: FakeBotApi,
) -> None:
    # given every send from the 2nd on held
    bot_api.hold_sends_from(2)
    call(bot_api, "sendMessage", chat_id=7, text="one")

    # when a held send's client gives up (as a killed bot's connection closes), and another
    # chat's held send is answered on purpose
    with contextlib.suppress(requests.Timeout):
        requests.post(
            f"{bot_api.base_url}/bot{TEST_BOT_TOKEN}/sendMessage", json={"chat_id": 7, "text": "two"}, timeout=0.5
        )
    answered: list[requests.Response] = []
    sender = threading.Thread(target=lambda: answered.append(call(bot_api, "sendMessage", chat_id=8, text="eight")))
    sender.start()
    deadline = time.monotonic() + 5
    while not bot_api.answer_held(8):
        assert time.monotonic() < deadline, "chat 8's send never arrived"
        time.sleep(0.02)
    sender.join(5)

    # then the abandoned one is no message, the answered one is
    while any(c.params["chat_id"] == 7 for c in bot_api.held_calls()):
        assert time.monotonic() < deadline, "the abandoned call is still held"
        time.sleep(0.02)
    assert [m["text"] for m in bot_api.sent(7)] == ["one"]
    assert [m["text"] for m in bot_api.sent(8)] == ["eight"]
    assert answered[0].json()["ok"] is True
    # and once released, sends are answered again
    bot_api.release_sends()
    assert call(bot_api, "sendMessage", chat_id=7, text="three").json()["ok"] is True
    assert [m["text"] for m in bot_api.sent(7)] == ["one", "three"]
