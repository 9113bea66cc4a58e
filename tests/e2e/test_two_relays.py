"""Two fastapi-realtime instances behind one gateway (REALTIME_UPSTREAMS with two addresses):
sockets spread over both, every socket of a user gets the user's events whichever instance holds
it, and when an instance goes away its clients reconnect through the same URL to the other one
and miss nothing."""

import pytest

from tests.e2e.client import Socket, sign_up, verify_email
from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def connections(stack: Stack) -> dict[str, int]:
    return {name: relay.health()["connections"] for name, relay in stack.relays.items()}


def test_sockets_spread_over_both_instances_and_each_gets_the_event(stack: Stack, mail_sink: MailSink) -> None:
    gateway = stack.gateways["pair"]
    ada = sign_up(gateway.url, "ada")
    bob = sign_up(gateway.url, "bob")
    verify_email(bob, mail_sink)
    project = ada.ok("POST", "/api/projects", {"name": "Two relays"}, status=201)
    invite = ada.ok("POST", f"/api/projects/{project['id']}/invites", {"email": bob.email, "role": "member"}, 201)
    bob.ok("POST", f"/api/invites/{invite['id']}/accept", status=201)
    before = connections(stack)

    # Given Bob with two tabs open: the gateway balances them by open connections
    tabs = [Socket.open(bob, gateway.ws_url), Socket.open(bob, gateway.ws_url)]
    after = connections(stack)
    assert {name: after[name] - before[name] for name in after} == {"a": 1, "b": 1}

    # When Ada assigns him a task
    task = ada.ok("POST", "/api/tasks", {"project": project["id"], "title": "Balance"}, status=201)
    ada.ok("PATCH", f"/api/tasks/{task['id']}", {"assignee": bob.id})

    # Then both tabs get the same event, one from each instance
    frames = [tab.next_event("task.assigned") for tab in tabs]
    assert frames[0]["event"]["id"] == frames[1]["event"]["id"]
    assert frames[0]["event"]["data"]["task"]["id"] == task["id"]
    for tab in tabs:
        tab.close()


def test_an_instance_going_away_loses_no_event(stack: Stack, mail_sink: MailSink) -> None:
    gateway = stack.gateways["pair"]
    ada = sign_up(gateway.url, "ada")
    bob = sign_up(gateway.url, "bob")
    verify_email(bob, mail_sink)
    project = ada.ok("POST", "/api/projects", {"name": "Failover"}, status=201)
    invite = ada.ok("POST", f"/api/projects/{project['id']}/invites", {"email": bob.email, "role": "member"}, 201)
    bob.ok("POST", f"/api/invites/{invite['id']}/accept", status=201)
    task = ada.ok("POST", "/api/tasks", {"project": project["id"], "title": "Failover", "assignee": bob.id}, 201)
    before = connections(stack)
    socket = Socket.open(bob, gateway.ws_url)
    after = connections(stack)
    (holder,) = [name for name in after if after[name] > before[name]]
    relay = stack.relays[holder]
    socket.cursor = socket.hello["cursor"]

    try:
        # When the instance holding Bob's socket shuts down, the socket is closed with 1001
        relay.process.stop()
        assert socket.wait_closed() == 1001

        # And something happens while Bob is disconnected
        ada.ok("PATCH", f"/api/tasks/{task['id']}", {"status": "in_progress"})

        # Then reconnecting through the same gateway with his cursor reaches the other instance
        # and replays what he missed
        again = Socket.open(bob, gateway.ws_url, cursor=socket.cursor)
        frame = again.next_event("task.status_changed")
        assert frame["event"]["data"]["task"]["id"] == task["id"]
        assert frame["event"]["data"]["task"]["status"] == "in_progress"
        other = "b" if holder == "a" else "a"
        assert stack.relays[other].health()["connections"] >= 1
        again.close()
    finally:
        # The instance comes back on its port, for whatever runs next.
        stack.start_relay(holder, relay.port)
        stack.wait_ready(f"http://127.0.0.1:{relay.port}/ws/health", what=f"relay {holder} again")
