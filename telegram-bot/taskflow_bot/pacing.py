"""Pacing of sends to Telegram: a global rate and a minimum spacing per chat.

The global limiter is a token bucket one token deep: sends are spaced 1/rate apart overall, and
concurrent senders each book their own slot. A deeper bucket would let a burst plus the steady
rate exceed the limit within one second, and Telegram counts per second.

Per chat, the consumer sends one message at a time (stream order), so the chat's spacing is
simply "not before the previous send to it + 1/TELEGRAM_RATE_PER_CHAT". A send first waits for
its chat, and only then books a global slot: a chat that must wait never holds a slot that
another chat could use. `hold` pushes everything back after a 429 (`retry_after`).

Time comes from the clock passed in and waiting from the `sleep` passed in, so tests run the
arithmetic on a fake clock.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    def __init__(
        self, *, global_rate: float, per_chat_interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._global_interval = 1.0 / global_rate
        self._per_chat_interval = per_chat_interval
        self._clock = clock
        self._next_global = 0.0
        self._held_until = 0.0
        self._not_before: dict[int, float] = {}

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until this chat may get its next message (0 when it may now)."""
        return max(0.0, self._not_before.get(chat_id, 0.0) - self._clock())

    def reserve_global(self) -> float:
        """Books the next global slot; the seconds to wait for it."""
        now = self._clock()
        at = max(now, self._next_global)
        self._next_global = at + self._global_interval
        return at - now

    def mark_sent(self, chat_id: int) -> None:
        """A send to this chat starts now: the next one waits the per-chat interval."""
        now = self._clock()
        self._not_before[chat_id] = max(self._not_before.get(chat_id, 0.0), now + self._per_chat_interval)
        if len(self._not_before) > 4096:
            # Past entries constrain nothing; dropping them bounds memory by the recent chats.
            self._not_before = {chat: at for chat, at in self._not_before.items() if at > now}

    def hold(self, seconds: float, chat_id: int | None = None) -> None:
        """No send (to this chat, or at all when chat_id is None) before `seconds` from now."""
        until = self._clock() + seconds
        if chat_id is None:
            self._held_until = max(self._held_until, until)
            self._next_global = max(self._next_global, until)
        else:
            self._not_before[chat_id] = max(self._not_before.get(chat_id, 0.0), until)

    async def acquire(self, chat_id: int, sleep: Sleep = asyncio.sleep) -> None:
        """Waits until a message may go to this chat, and counts it as sent."""
        while True:
            while (wait := self.chat_wait(chat_id)) > 0:
                await sleep(wait)
            if (wait := self.reserve_global()) > 0:
                await sleep(wait)
            # A 429 while this send waited for its slot holds it back further.
            if self.chat_wait(chat_id) <= 0 and self._clock() >= self._held_until:
                self.mark_sent(chat_id)
                return
