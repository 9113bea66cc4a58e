"""The gateway in front of several django-core instances (DJANGO_UPSTREAMS), for real: nginx
rendered from the template, small HTTP servers on loopback ports standing in for the instances.
Requests spread over every instance; one that is down is skipped for reads and writes alike;
a write that reached an instance which then failed is never sent to another one."""

from __future__ import annotations

import socketserver
from pathlib import Path

import requests

from tests.e2e.stack import free_port
from tests.gateway.support import Instance, gateway, serving


class FailingInstance(socketserver.ThreadingTCPServer):
    """An instance that takes the whole request, then dies before answering (the connection is
    closed with no response): what a crash mid-request looks like to the gateway."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        super().__init__(("127.0.0.1", free_port()), _Drop)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Drop(socketserver.StreamRequestHandler):
    server: FailingInstance

    def handle(self) -> None:
        request_line = self.rfile.readline().decode("latin-1").split()
        length = 0
        while line := self.rfile.readline():
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        if request_line:
            self.server.seen.append((request_line[0], request_line[1]))


def test_requests_spread_over_every_instance(tmp_path: Path) -> None:
    instances = [Instance("a"), Instance("b"), Instance("c")]
    with serving(*instances), gateway(tmp_path, [instance.address for instance in instances]) as base:
        answered_by = [requests.get(f"{base}/api/probe/{number}", timeout=5).json()["instance"] for number in range(30)]

    assert {name: answered_by.count(name) for name in "abc"} == {"a": 10, "b": 10, "c": 10}
    assert sorted(path for instance in instances for _method, path in instance.seen) == sorted(
        f"/api/probe/{number}" for number in range(30)
    )


def test_an_instance_that_is_down_is_skipped_for_reads_and_writes(tmp_path: Path) -> None:
    up = Instance("up")
    down = f"127.0.0.1:{free_port()}"  # nothing listens: refused before anything is sent
    with serving(up), gateway(tmp_path, [down, up.address]) as base:
        reads = [requests.get(f"{base}/api/read/{number}", timeout=5) for number in range(5)]
        writes = [requests.post(f"{base}/api/write/{number}", json={}, timeout=5) for number in range(5)]

    assert [response.status_code for response in reads + writes] == [200] * 10
    assert len(up.seen) == 10


def test_a_write_that_reached_a_failing_instance_is_not_sent_again(tmp_path: Path) -> None:
    up, failing = Instance("up"), FailingInstance()
    # In turn, and never set aside: every other request reaches the failing instance first.
    settings = {"GATEWAY_DJANGO_BALANCE": "round_robin", "GATEWAY_UPSTREAM_MAX_FAILS": "0"}
    with serving(up, failing), gateway(tmp_path, [failing.address, up.address], **settings) as base:
        reads = {f"/api/read/{n}": requests.get(f"{base}/api/read/{n}", timeout=5) for n in range(4)}
        writes = {f"/api/write/{n}": requests.post(f"{base}/api/write/{n}", json={}, timeout=5) for n in range(4)}

    # Reads that met the failing instance were answered by the other one.
    assert {path: response.status_code for path, response in reads.items()} == dict.fromkeys(reads, 200)
    lost_writes = {path for method, path in failing.seen if method == "POST"}
    assert lost_writes, "no write reached the failing instance"
    assert any(method == "GET" for method, _path in failing.seen), "no read reached the failing instance"
    for path, response in writes.items():
        if path in lost_writes:
            # The client is told (the gateway's JSON 502) and the write went nowhere else.
            assert response.status_code == 502
            assert response.json()["code"] == "bad_gateway"
            assert ("POST", path) not in up.seen
        else:
            assert response.status_code == 200


def test_a_socket_whose_relay_is_down_leaves_no_ticket_in_nginxs_logs(tmp_path: Path) -> None:
    """nginx's error lines quote the request line: a relay that cannot be reached must not put
    the WebSocket ticket into the error log (the access log hides queries anyway)."""
    with gateway(tmp_path, [f"127.0.0.1:{free_port()}"], REALTIME_UPSTREAMS=f"127.0.0.1:{free_port()}") as base:
        answer = requests.get(
            f"{base}/ws/notifications?ticket=secret-ticket-123",
            headers={"Connection": "Upgrade", "Upgrade": "websocket"},
            timeout=10,
        )
        assert answer.status_code == 502
    errors, access = (tmp_path / "nginx.log").read_text(), (tmp_path / "access.log").read_text()
    assert "/ws/notifications?(query hidden)" in access
    assert "secret-ticket-123" not in errors
    assert "secret-ticket-123" not in access
