"""A team's first minutes with TaskFlow, driven only through the gateway, as an app would: sign
up, create a project, invite, accept, assign a task, get the live event on the socket, list the
notification, get the invite and assignment mails (sent by the Celery worker to an SMTP sink),
log out (which closes the socket). Once with one relay behind the gateway, once with two."""

import uuid

import pytest

from tests.e2e.client import Person, Socket, sign_up, verify_email
from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("gateway_name", ["single", "pair"])
def test_invite_assign_notify_logout(stack: Stack, mail_sink: MailSink, gateway_name: str) -> None:
    gateway = stack.gateways[gateway_name]

    # Given two people who signed up through the gateway
    ada = sign_up(gateway.url, "ada")
    bob = sign_up(gateway.url, "bob")
    verify_email(bob, mail_sink)
    assert bob.ok("GET", "/api/users/me")["email"] == bob.email

    # When Ada creates a project and invites Bob, and Bob accepts
    project_name = f"Launch {uuid.uuid4().hex[:6]}"
    project = ada.ok("POST", "/api/projects", {"name": project_name}, status=201)
    invite = ada.ok("POST", f"/api/projects/{project['id']}/invites", {"email": bob.email, "role": "member"}, 201)
    assert invite["status"] == "pending"
    # (the invitation reaches Bob's mailbox, through the outbox relay, the worker and SMTP)
    invitation = mail_sink.wait_for(bob.email, project_name)
    assert "invited you" in str(invitation["Subject"])
    # Its link points at the gateway (PUBLIC_URL)
    assert stack.env()["PUBLIC_URL"] in invitation.get_body(("plain",)).get_content()
    pending = bob.ok("GET", "/api/invites")["results"]
    assert [item["id"] for item in pending] == [invite["id"]]
    bob.ok("POST", f"/api/invites/{invite['id']}/accept", status=201)
    members = ada.ok("GET", f"/api/projects/{project['id']}/members")
    members = members["results"] if isinstance(members, dict) else members
    assert {member["user"]["id"]: member["role"] for member in members} == {ada.id: "owner", bob.id: "member"}

    # And Bob has the app open (a WebSocket through the gateway's /ws)
    socket = Socket.open(bob, gateway.ws_url)
    assert socket.hello["user_id"] == bob.id

    # When Ada creates a task and assigns it to Bob
    task = ada.ok("POST", "/api/tasks", {"project": project["id"], "title": "Write the checklist"}, status=201)
    ada.ok("PATCH", f"/api/tasks/{task['id']}", {"assignee": bob.id})

    # Then Bob's socket gets the assignment, with its stored notification
    frame = socket.next_event("task.assigned")
    assert frame["event"]["data"]["task"]["id"] == task["id"]
    assert frame["event"]["data"]["task"]["assignee_id"] == bob.id
    assert frame["event"]["actor"]["id"] == ada.id
    assert frame["notification"] is not None

    # And the same notification is listed over REST
    notifications = bob.ok("GET", "/api/notifications")["results"]
    listed = [item for item in notifications if item["event_id"] == frame["event"]["id"]]
    assert len(listed) == 1
    assert listed[0]["type"] == "task.assigned"
    assert listed[0]["is_read"] is False
    assert bob.ok("GET", "/api/notifications/unread-count")["count"] >= 1

    # And Bob gets the assignment by mail too
    assignment = mail_sink.wait_for(bob.email, f"Write the checklist (#{task['id']})")
    assert f"[{project_name}]" in str(assignment["Subject"])

    # When Bob logs out, his live socket is closed (4401: the session is gone)
    bob.ok("POST", "/api/auth/logout", {"refresh": bob.refresh}, status=204)
    assert socket.wait_closed() == 4401

    # And his refresh token no longer works
    rejected = Person(gateway.url, bob.email, bob.name).request("POST", "/api/auth/refresh", {"refresh": bob.refresh})
    assert rejected.status_code == 401
