"""A local server that speaks the Telegram Bot API well enough for the real bot process.

An aiohttp web server in a background thread on a free loopback port, routes
`/bot<token>/<method>` (JSON, form-encoded and multipart bodies, as aiogram sends them):
getMe, deleteWebhook, getUpdates (real long polling: `offset`, `timeout`, `limit`), sendMessage,
editMessageText, editMessageReplyMarkup, answerCallbackQuery, setMyCommands (recorded per
language_code), and a few more aiogram may call. Answers and errors have the Bot API's real JSON
shape (`{"ok": false, "error_code": 429, "description": …, "parameters": {"retry_after": 1}}`).

The test side is synchronous and thread-safe: `push_message` / `push_command` /
`push_callback` inject updates; `sent`, `calls`, `wait_for_message`, `wait_for_call` read what
the bot did (every call has a monotonic timestamp, for pacing checks); `fail_next` and
`block_chat` inject failures; `hold_chat` and `hold_sends_from` leave sends unanswered (a
Telegram that does not answer) until `release_chat`, `release_sends` or `answer_held`.

A message counts as sent (`sent`, `message`) only once the server has answered it: a request
that is held and whose client goes away (the bot was killed) is recorded as a call that failed,
as a request Telegram never received would be. (Real Telegram may also have received it and
lost only the answer; a test cannot tell the two apart from the bot's side either.)

    api = FakeBotApi().start()
    ... start the bot with TELEGRAM_API_URL=api.base_url ...
    api.push_command(42, "help")
    api.wait_for_message(42, lambda m: "mytasks" in m["text"])
    api.stop()
"""

import asyncio
import contextlib
import html
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TEST_BOT_TOKEN = "123456:TEST-token"
BOT_USERNAME = "taskflow_test_bot"
DEFAULT_TIMEOUT = 10.0

# Parameters aiogram sends JSON-encoded inside form fields.
_JSON_FIELDS = {
    "reply_markup",
    "commands",
    "scope",
    "allowed_updates",
    "entities",
    "link_preview_options",
    "reply_parameters",
    "menu_button",
}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "reply_to_message_id"}
_TAG = re.compile(r"<[^>]+>")
_SEND_METHODS = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendChatAction"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Call:
    """One Bot API call as the server received it."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when the request arrived
    ok: bool = True
    error_code: int | None = None
    result: Any = None
    # True once the server has answered (success or error); a held call is not answered yet.
    answered: bool = False
    # For sendMessage: its number among all sendMessage calls (1 = the first).
    send_number: int = 0


@dataclass
class _Failure:
    method: str
    chat_id: int | None
    status: int
    retry_after: int | None
    description: str


@dataclass
class FakeBotApi:
    token: str = TEST_BOT_TOKEN
    username: str = BOT_USERNAME
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _calls: list[Call] = field(default_factory=list)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    _failures: list[_Failure] = field(default_factory=list)
    _blocked: set[int] = field(default_factory=set)
    # Chats whose sends hang (a Telegram that does not answer), until released.
    _held: set[int] = field(default_factory=set)
    # sendMessage calls so far (every chat); from number `_hold_from` on, they hang until released
    # (all of them, or those numbered in `_answer`).
    _send_count: int = 0
    _hold_from: int | None = None
    _answer: set[int] = field(default_factory=set)
    _commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _callback_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    _update_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _user_message_ids: itertools.count = field(default_factory=lambda: itertools.count(500_000))
    _callback_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _loop: asyncio.AbstractEventLoop | None = None
    _new_update: asyncio.Condition | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _closing: bool = False

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_URL should be."""
        return f"http://127.0.0.1:{self.port}"

    # --- Lifecycle ------------------------------------------------------------------------------

    def start(self) -> "FakeBotApi":
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._start_server())
            except BaseException as error:
                errors.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._stop_server())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-bot-api", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    async def _start_server(self) -> None:
        self._new_update = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self.port = self.port or free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop_server(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            # Long polls still waiting (a killed bot's) end now rather than at their timeout.
            self._closing = True
            asyncio.run_coroutine_threadsafe(self._notify(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> "FakeBotApi":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- Test side: updates -----------------------------------------------------------------------

    def user(self, chat_id: int, *, language_code: str | None = "en", first_name: str = "Test") -> dict[str, Any]:
        """The private chat's user (private chats have the user's id)."""
        user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return user

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queues a raw update (its `update_id` is assigned here) for getUpdates."""
        assert self._loop is not None, "start() the server first"
        with self._lock:
            update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
        asyncio.run_coroutine_threadsafe(self._notify(), self._loop).result(5)
        return update

    async def _notify(self) -> None:
        assert self._new_update is not None
        async with self._new_update:
            self._new_update.notify_all()

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        language_code: str | None = "en",
        chat_type: str = "private",
        from_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A text message from the user; `reply_to` is the id of a message the bot sent."""
        sender = self.user(from_id or chat_id, language_code=language_code)
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = sender["first_name"]
        else:
            chat["title"] = "Test group"
        message: dict[str, Any] = {
            "message_id": next(self._user_message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            replied = self.message(reply_to)
            assert replied is not None, f"no message {reply_to} was sent by the bot"
            message["reply_to_message"] = replied
        return self.push_update({"message": message})

    def push_command(self, chat_id: int, command: str, args: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """`/command args`, with the bot_command entity Telegram adds."""
        text = f"/{command}" + (f" {args}" if args else "")
        entity = {"type": "bot_command", "offset": 0, "length": len(command) + 1}
        return self.push_message(chat_id, text, entities=[entity], **kwargs)

    def push_callback(self, chat_id: int, data: str, *, message_id: int, language_code: str | None = "en") -> str:
        """A press on a button of the bot's message `message_id`; returns the callback query id."""
        message = self.message(message_id)
        assert message is not None, f"no message {message_id} was sent by the bot"
        callback_id = str(next(self._callback_ids))
        self.push_update(
            {
                "callback_query": {
                    "id": callback_id,
                    "from": self.user(chat_id, language_code=language_code),
                    "message": message,
                    "chat_instance": str(chat_id),
                    "data": data,
                }
            }
        )
        return callback_id

    # --- Test side: failures ----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        chat_id: int | None = None,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
    ) -> None:
        """The next call of `method` (to `chat_id`, if given) fails with `status`."""
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                400: "Bad Request: chat not found",
                403: "Forbidden: bot was blocked by the user",
                500: "Internal Server Error",
            }.get(status, "Error")
        with self._lock:
            self._failures.append(
                _Failure(method, chat_id, status, retry_after if status == 429 else None, description)
            )

    def block_chat(self, chat_id: int) -> None:
        """Every send to this chat fails with 403, as when the user blocked the bot."""
        with self._lock:
            self._blocked.add(chat_id)

    def hold_chat(self, chat_id: int) -> None:
        """Sends to this chat get no answer until `release_chat` (a hung Telegram): the bot
        waits on them, so a test can kill it mid-send."""
        with self._lock:
            self._held.add(chat_id)

    def release_chat(self, chat_id: int) -> None:
        with self._lock:
            self._held.discard(chat_id)

    def hold_sends_from(self, number: int) -> None:
        """The `number`th sendMessage from now (1 = the next one, whatever its chat) and every
        one after it get no answer until `release_sends`: the bot waits on them mid-batch."""
        with self._lock:
            self._hold_from = self._send_count + number

    def release_sends(self) -> None:
        with self._lock:
            self._hold_from = None

    def answer_held(self, chat_id: int) -> list[Call]:
        """Answers the sends to `chat_id` held now (later ones are held still); returns them."""
        calls = [call for call in self.held_calls() if call.params.get("chat_id") == chat_id]
        with self._lock:
            self._answer.update(call.send_number for call in calls)
        return calls

    def held_calls(self, method: str = "sendMessage") -> list[Call]:
        """Calls of `method` held now: arrived, unanswered, and kept so by a hold."""
        return [call for call in self.calls(method) if not call.answered and self._is_held(call)]

    def unblock_chat(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    # --- Test side: what the bot did --------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if method is None or call.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages sent successfully (sendMessage), oldest first, as recorded then: chat_id,
        message_id, text, parse_mode, reply_markup, link_preview_options, at."""
        return [
            {**call.params, "message_id": call.result["message_id"], "at": call.at}
            for call in self.calls("sendMessage")
            if call.answered and call.ok and (chat_id is None or call.params.get("chat_id") == chat_id)
        ]

    def message(self, message_id: int) -> dict[str, Any] | None:
        """The bot's message as it is now (after edits), in the Bot API's Message shape."""
        with self._lock:
            message = self._messages.get(message_id)
            return json.loads(json.dumps(message)) if message is not None else None

    def commands(self, language_code: str = "") -> list[dict[str, Any]]:
        """The command menu set for this language ("" = the default one)."""
        with self._lock:
            return list(self._commands.get(language_code, []))

    def callback_answer(self, callback_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._callback_answers.get(callback_id)

    def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        after: int = 0,
    ) -> Call:
        """The first call of `method` (from index `after` of its calls) that matches."""
        deadline = time.monotonic() + timeout
        while True:
            for call in self.calls(method)[after:]:
                if predicate is None or predicate(call):
                    return call
            if time.monotonic() > deadline:
                raise AssertionError(f"no {method} call matched within {timeout}s; calls: {self.calls(method)[-5:]}")
            time.sleep(0.02)

    def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        after: int = 0,
    ) -> dict[str, Any]:
        """The first message sent to `chat_id` (from index `after` of those) that matches."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.sent(chat_id)[after:]:
                if predicate is None or predicate(message):
                    return message
            if time.monotonic() > deadline:
                texts = [m["text"] for m in self.sent(chat_id)]
                raise AssertionError(f"no matching message to chat {chat_id} within {timeout}s; sent: {texts}")
            time.sleep(0.02)

    def wait_for_callback_answer(self, callback_id: str, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (answer := self.callback_answer(callback_id)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"callback {callback_id} was not answered within {timeout}s")
            time.sleep(0.02)
        return answer

    # --- Server side ------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            form = await request.post()
            raw.update({key: value for key, value in form.items() if isinstance(value, str)})
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if key in _JSON_FIELDS:
                params[key] = json.loads(value)
            elif key in _INT_FIELDS and value.lstrip("-").isdigit():
                params[key] = int(value)
            elif value in {"true", "false"}:
                params[key] = value == "true"
            else:
                params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params = await self._params(request)
        call = Call(method=method, params=params, at=at)
        with self._lock:
            self._calls.append(call)
            if method == "sendMessage":
                self._send_count += 1
                call.send_number = self._send_count
        try:
            while self._is_held(call):
                if request.transport is None or request.transport.is_closing():
                    break
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            call.ok, call.answered = False, True
            raise
        if request.transport is None or request.transport.is_closing():
            # The client went away while held (it was killed): the message never went out.
            call.ok, call.answered = False, True
            return web.Response(status=499)
        with self._lock:
            failure = self._take_failure(method, params)
        if failure is not None:
            return self._error(call, failure.status, failure.description, failure.retry_after)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._error(call, 404, "Not Found: method not found")
        try:
            result = await handler(params)
        except _ApiError as error:
            return self._error(call, error.status, error.description)
        call.result, call.answered = result, True
        return web.json_response({"ok": True, "result": result})

    def _is_held(self, call: Call) -> bool:
        with self._lock:
            if call.method in _SEND_METHODS and call.params.get("chat_id") in self._held:
                return True
            number, first = call.send_number, self._hold_from
            return bool(number) and first is not None and number >= first and number not in self._answer

    def _take_failure(self, method: str, params: dict[str, Any]) -> _Failure | None:
        chat_id = params.get("chat_id")
        if method in _SEND_METHODS and chat_id in self._blocked:
            return _Failure(method, chat_id, 403, None, "Forbidden: bot was blocked by the user")
        for index, failure in enumerate(self._failures):
            if failure.method == method and (failure.chat_id is None or failure.chat_id == chat_id):
                return self._failures.pop(index)
        return None

    def _error(self, call: Call, status: int, description: str, retry_after: int | None = None) -> web.Response:
        call.ok, call.error_code, call.answered = False, status, True
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "TaskFlow", "username": self.username}

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return {**self._bot_user(), "can_join_groups": True, "can_read_all_group_messages": False}

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    async def _api_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self._commands[str(params.get("language_code") or "")] = list(params.get("commands") or [])
        return True

    async def _api_deleteMyCommands(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self._commands.pop(str(params.get("language_code") or ""), None)
        return True

    async def _api_getMyCommands(self, params: dict[str, Any]) -> Any:
        return self.commands(str(params.get("language_code") or ""))

    async def _api_setChatMenuButton(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        assert self._new_update is not None
        deadline = time.monotonic() + timeout
        async with self._new_update:
            while True:
                with self._lock:
                    # An offset confirms every update before it: Telegram forgets them.
                    if offset:
                        self._updates = [u for u in self._updates if u["update_id"] >= offset]
                    ready = self._updates[:limit]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self._closing:
                    return ready
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), remaining)

    def _chat(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "type": "private" if chat_id > 0 else "group"}

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        text = params.get("text")
        if not isinstance(chat_id, int):
            raise _ApiError(400, "Bad Request: chat not found")
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            "text": _visible_text(str(text), params.get("parse_mode")),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        with self._lock:
            self._messages[message["message_id"]] = message
        return message

    def _edited(self, params: dict[str, Any]) -> dict[str, Any]:
        message_id = params.get("message_id")
        with self._lock:
            message = self._messages.get(message_id) if isinstance(message_id, int) else None
            if message is None or message["chat"]["id"] != params.get("chat_id"):
                raise _ApiError(400, "Bad Request: message to edit not found")
            return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        message = self._edited(params)
        text = _visible_text(str(params.get("text") or ""), params.get("parse_mode"))
        markup = params.get("reply_markup")
        with self._lock:
            if text == message["text"] and markup == message.get("reply_markup"):
                raise _ApiError(400, "Bad Request: message is not modified")
            message["text"] = text
            message["html"] = params.get("text")
            if markup:
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            message["edit_date"] = int(time.time())
            return json.loads(json.dumps(message))

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        message = self._edited(params)
        with self._lock:
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            else:
                message.pop("reply_markup", None)
            return json.loads(json.dumps(message))

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self._callback_answers[str(params.get("callback_query_id"))] = params
        return True


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _visible_text(text: str, parse_mode: Any) -> str:
    """What the user sees: Telegram strips the HTML tags of a parse_mode=HTML text (entities are
    not rebuilt here, so an edit of the message sees plain text, as an old client would)."""
    if str(parse_mode or "").upper() != "HTML":
        return text
    return html.unescape(_TAG.sub("", text))
