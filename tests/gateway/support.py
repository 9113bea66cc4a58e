"""A real nginx rendered from the gateway's template, in front of small HTTP servers on loopback
ports standing in for django-core instances."""

from __future__ import annotations

import contextlib
import json
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from tests.e2e.stack import free_port

REPO_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_DIR / "gateway"))
import render  # noqa: E402


class Instance(ThreadingHTTPServer):
    """A django-core instance as the gateway sees it: answers every request with its name, and
    keeps what it was asked (method, path) and the headers it was sent."""

    daemon_threads = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[tuple[str, str]] = []
        self.headers_seen: list[dict[str, str]] = []
        super().__init__(("127.0.0.1", free_port()), _Answer)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream connections use it
    server: Instance

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.command, self.path))
        self.server.headers_seen.append(dict(self.headers.items()))
        body = json.dumps({"instance": self.server.name}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(*servers: socketserver.BaseServer) -> Iterator[None]:
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@contextlib.contextmanager
def gateway(tmp_path: Path, upstreams: list[str], **settings: str) -> Iterator[str]:
    """nginx with DJANGO_UPSTREAMS=`upstreams`; its base URL. What nginx writes (its error log)
    goes to `tmp_path / "nginx.log"`."""
    port = free_port()
    env = {
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "DJANGO_UPSTREAMS": ",".join(upstreams),
        "GATEWAY_RUNTIME_DIR": str(tmp_path / "runtime"),
        "GATEWAY_ACCESS_LOG": str(tmp_path / "access.log"),
        "GATEWAY_WORKER_PROCESSES": "1",
        **settings,
    }
    config = render.write(tmp_path / "conf", env)
    command = render.nginx_command(render.find_nginx(env), config, env["GATEWAY_RUNTIME_DIR"], "-g", "daemon off;")
    log_path = tmp_path / "nginx.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(f"{base}/gateway/health", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "nginx did not start"
                assert process.poll() is None, log_path.read_text()
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
