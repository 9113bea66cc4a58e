"""The ceiling of bench.realtime: the least a relay can do. One redis.asyncio pub/sub connection
subscribed (SSUBSCRIBE, as the relay) to the shard channel `user:{7}` while that user has a
socket here (a single Redis node only), feeding the `websockets` library's
own asyncio server directly (compression off); each message goes to the user's sockets with
`websockets.broadcast` (written at once, never awaited; the payload's bytes as a text frame).
No tickets (the user id is read from the query string: `ws://host:port/?user=7`), no history, no
presence, no queues, no metrics.

With `--history` it is the minimal relay that also keeps history: bench.realtime feeds it as it
feeds the relay, through django-core's delivery script (XADD to the user's stream
`user:{7}:events`, then SPUBLISH), and its hello carries the stream's last id as the cursor (one
XREVRANGE per socket), where a client would resume from.

    .venv/bin/python -m bench.minimal_relay --port 8765 --redis-url redis://127.0.0.1:6379/15 [--history]

It speaks the shape of the relay's protocol that the bench needs: `{"type":"hello",...}` first,
then each pub/sub payload as one text frame. Same event loop as uvicorn picks (uvloop when
installed), the same ping interval and maximum message size as the Procfile's relay.
"""

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from urllib.parse import parse_qs, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

CONTROL_CHANNEL = "bench:minimal"
USER_PREFIX, USER_SUFFIX = b"user:{", b"}"


class MinimalRelay:
    def __init__(self, redis_url: str, *, history: bool = False) -> None:
        # Bytes in, bytes out: the payload goes to the sockets as it came (sent as text frames).
        # A burst of handshakes waits for a connection (redis-py's default pool refuses the 101st).
        self.redis = Redis(connection_pool=BlockingConnectionPool.from_url(redis_url, max_connections=64))
        self.history = history
        self.pubsub: PubSub = self.redis.pubsub()
        self.users: dict[int, set[ServerConnection]] = {}

    async def start(self) -> None:
        # The connection is opened (and in pub/sub mode) before any socket arrives.
        await self.pubsub.subscribe(CONTROL_CHANNEL)

    async def handler(self, websocket: ServerConnection) -> None:
        try:
            user_id = int(parse_qs(urlsplit(websocket.request.path).query)["user"][0])  # type: ignore[union-attr]
        except (KeyError, ValueError, IndexError):
            await websocket.close(4401, "unauthorized")
            return
        sockets = self.users.get(user_id)
        if sockets is None:
            sockets = self.users[user_id] = set()
            await self.pubsub.ssubscribe(f"user:{{{user_id}}}")
        sockets.add(websocket)
        try:
            cursor = "0-0"
            if self.history:
                last = await self.redis.xrevrange(f"user:{{{user_id}}}:events", count=1)
                if last:
                    cursor = last[0][0].decode()
            await websocket.send(f'{{"type":"hello","user_id":{user_id},"cursor":"{cursor}"}}')
            async for _ in websocket:
                pass  # clients send nothing the ceiling needs to answer
        except ConnectionClosed:
            pass
        finally:
            sockets.discard(websocket)
            if not sockets and self.users.get(user_id) is sockets:
                del self.users[user_id]
                with contextlib.suppress(Exception):
                    await self.pubsub.sunsubscribe(f"user:{{{user_id}}}")

    async def forward(self) -> None:
        users = self.users
        get_message = self.pubsub.get_message
        while True:
            message = await get_message(ignore_subscribe_messages=True, timeout=None)
            if message is None or message["type"] != "smessage":
                continue
            channel: bytes = message["channel"]
            if not channel.startswith(USER_PREFIX):
                continue
            sockets = users.get(int(channel[len(USER_PREFIX) : -len(USER_SUFFIX)]))
            if sockets:
                broadcast(sockets, message["data"], text=True)


async def main(args: argparse.Namespace) -> None:
    relay = MinimalRelay(args.redis_url, history=args.history)
    await relay.start()
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    forwarder = asyncio.create_task(relay.forward())
    async with serve(
        relay.handler,
        args.host,
        args.port,
        compression=None,
        ping_interval=20,
        ping_timeout=20,
        max_size=65536,
        backlog=2048,  # uvicorn's default
    ):
        print(f"minimal relay on ws://{args.host}:{args.port}/?user=<id>", flush=True)
        await asyncio.wait([stop, forwarder], return_when=asyncio.FIRST_COMPLETED)
    forwarder.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await forwarder
    with contextlib.suppress(Exception):
        await relay.pubsub.aclose()
        await relay.redis.aclose()


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.minimal_relay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--history", action="store_true", help="hello carries the user's last history id")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(args))
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main(args))


if __name__ == "__main__":
    run()
