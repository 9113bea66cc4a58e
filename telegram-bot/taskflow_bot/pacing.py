"""Pacing of sends to Telegram: a global rate and a minimum spacing per chat.

The global limiter is a gate the senders pass one at a time, each at least 1/rate after the
previous one, measured when it actually goes: a sender the event loop woke late (a stall) does
not let the others through behind it at once, so no one-second window ever holds more than the
rate. (Slots booked ahead, a token bucket, let 3-4 booked sends out back to back after a 100 ms
stall: 29 in one second at 25/s in bench.telegram.) Telegram counts per second.

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
        self._gate = asyncio.Lock()  # FIFO: senders pass in the order they came
        self._last_global = -self._global_interval
        self._held_until = 0.0
        self._not_before: dict[int, float] = {}

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until this chat may get its next message (0 when it may now)."""
        return max(0.0, self._not_before.get(chat_id, 0.0) - self._clock())

    async def _pass_gate(self, sleep: Sleep) -> None:
        """Waits for the global slot: 1/rate after the previous send, and after any global hold."""
        async with self._gate:
            while (wait := max(self._last_global + self._global_interval, self._held_until) - self._clock()) > 0:
                await sleep(wait)
            self._last_global = self._clock()

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
        else:
            self._not_before[chat_id] = max(self._not_before.get(chat_id, 0.0), until)

    async def acquire(self, chat_id: int, sleep: Sleep = asyncio.sleep) -> None:
        """Waits until a message may go to this chat, and counts it as sent. The chat is waited
        for first, and only then the gate: a chat that must wait never holds up the others."""
        while True:
            while (wait := self.chat_wait(chat_id)) > 0:
                await sleep(wait)
            await self._pass_gate(sleep)
            # A 429 for this chat while it waited at the gate holds it back further.
            if self.chat_wait(chat_id) <= 0:
                self.mark_sent(chat_id)
                return
