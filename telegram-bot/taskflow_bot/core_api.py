"""The client of django-core's internal API (`/internal/telegram/*`, docs/telegram.md).

One aiohttp session for the process. Every call carries `X-Service-Token`; chat-scoped calls
carry `X-Telegram-Chat-Id`, always the chat of the update being handled. An error answer raises
`CoreApiError` with django-core's `code`; a django-core that cannot be reached (refused, timed
out, 5xx, or an answer that is not JSON) raises `CoreUnavailable`, which the handlers turn into a
polite "try again in a minute" and the push consumer into a back-off.
"""

import logging
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

PREFIX = "/internal/telegram"


class CoreApiError(Exception):
    """django-core answered with an error (4xx) for this call."""

    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class CoreUnavailable(Exception):
    """django-core could not be reached or failed (connection refused, timeout, 5xx)."""


class CoreApi:
    def __init__(self, base_url: str, service_token: str, *, timeout: float = 5.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"X-Service-Token": service_token, "Accept": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # Created lazily so it binds to the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self, method: str, path: str, *, chat_id: int | None = None, json: Any = None, params: Any = None
    ) -> Any:
        """The decoded JSON answer (None for 204); raises CoreApiError or CoreUnavailable."""
        headers = {"X-Telegram-Chat-Id": str(chat_id)} if chat_id is not None else None
        url = f"{self._base_url}{PREFIX}{path}"
        try:
            async with self._http().request(method, url, json=json, params=params, headers=headers) as response:
                if response.status >= 500:
                    raise CoreUnavailable(f"{method} {path}: HTTP {response.status}")
                if response.status == 204:
                    return None
                try:
                    body = await response.json(content_type=None)
                except ValueError as error:
                    raise CoreUnavailable(f"{method} {path}: the answer is not JSON") from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise CoreUnavailable(f"{method} {path}: {type(error).__name__} {error}") from error
        if response.status >= 400:
            if not isinstance(body, dict):
                body = {}
            code = body.get("code")
            raise CoreApiError(
                response.status, str(code) if code else f"http_{response.status}", str(body.get("detail") or "")
            )
        return body

    # --- Chat-scoped calls --------------------------------------------------------------------

    async def chat(self, chat_id: int) -> dict[str, Any] | None:
        """The linked account (`{id, name, language, timezone}`), or None when not linked."""
        try:
            body = await self.request("GET", "/chat", chat_id=chat_id)
        except CoreApiError as error:
            if error.code == "not_linked":
                return None
            raise
        return dict(body["user"])

    async def unlink(self, chat_id: int) -> None:
        await self.request("DELETE", "/chat", chat_id=chat_id)

    async def link(self, chat_id: int, token: str) -> dict[str, Any]:
        return dict(await self.request("POST", "/link", chat_id=chat_id, json={"token": token}))

    async def set_language(self, chat_id: int, language: str) -> dict[str, Any]:
        body = await self.request("PUT", "/language", chat_id=chat_id, json={"language": language})
        return dict(body["user"])

    async def tasks(self, chat_id: int, page: int = 1) -> dict[str, Any]:
        return dict(await self.request("GET", "/tasks", chat_id=chat_id, params={"page": str(page)}))

    async def set_task_status(self, chat_id: int, task_id: int, status: str) -> dict[str, Any]:
        body = await self.request("POST", f"/tasks/{task_id}/status", chat_id=chat_id, json={"status": status})
        return dict(body["task"])

    async def comment(self, chat_id: int, task_id: int, body: str) -> dict[str, Any]:
        return dict(await self.request("POST", f"/tasks/{task_id}/comments", chat_id=chat_id, json={"body": body}))

    async def reply(self, chat_id: int, reply_to_message_id: int, body: str) -> dict[str, Any]:
        payload = {"reply_to_message_id": reply_to_message_id, "body": body}
        return dict(await self.request("POST", "/replies", chat_id=chat_id, json=payload))

    async def projects(self, chat_id: int) -> list[dict[str, Any]]:
        body = await self.request("GET", "/projects", chat_id=chat_id)
        return list(body["results"])

    async def answer_invite(self, chat_id: int, invite_id: int, *, accept: bool) -> dict[str, Any]:
        action = "accept" if accept else "decline"
        return dict(await self.request("POST", f"/invites/{invite_id}/{action}", chat_id=chat_id))

    # --- Service calls ------------------------------------------------------------------------

    async def report_username(self, username: str) -> list[str]:
        """Tells django-core the bot's username; answers the languages it supports."""
        body = await self.request("PUT", "/bot", json={"username": username}) or {}
        return [str(code) for code in body.get("languages", [])]

    async def claim(self, delivery_ids: list[int]) -> list[dict[str, Any]]:
        body = await self.request("POST", "/deliveries/claim", json={"ids": delivery_ids})
        return list(body["deliveries"])

    async def report_result(
        self, delivery_id: int, outcome: str, *, message_id: int | None = None, error: str | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"outcome": outcome}
        if message_id is not None:
            payload["message_id"] = message_id
        if error is not None:
            payload["error"] = error
        return dict(await self.request("POST", f"/deliveries/{delivery_id}/result", json=payload))
