"""`python -m realtime_relay`: uvicorn with every option taken from the settings."""

import uvicorn

from realtime_relay.config import get_settings


def run() -> None:
    settings = get_settings()
    uvicorn.run(
        "realtime_relay.main:app",
        host=settings.realtime_host,
        port=settings.realtime_port,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_timeout,
        ws_per_message_deflate=False,
        # Clients send only pings: anything far bigger is cut off by the protocol layer already.
        ws_max_size=max(65536, settings.ws_max_message_bytes),
        timeout_graceful_shutdown=int(settings.ws_drain_timeout) + 5,
        proxy_headers=True,
        # An access line would carry `?ticket=...`; the gateway logs requests with the query hidden.
        access_log=False,
    )


if __name__ == "__main__":
    run()
