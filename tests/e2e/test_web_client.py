"""The web client (gateway/web) in a real browser, headless Chromium driven by Playwright, through
the gateway: the pages emails link to (/invite/accept, /tasks/{id}, /settings/notifications) and
the live notifications on the home page (the WebSocket, no reload).

Uses the system Chromium (`make test` installs it with scripts/ensure_tools.sh); Playwright's own
browser downloads are never used."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.client import PASSWORD, Person, sign_up
from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

INVITE_LINK = re.compile(r"(https?://\S+/invite/accept\?token=[\w.~%-]+)")


def test_invite_live_notification_task_and_preferences(stack: Stack, mail_sink: MailSink, page: Page) -> None:
    gateway = stack.gateways["single"]
    ada = sign_up(gateway.url, "ada")
    bob = sign_up(gateway.url, "bob")

    # Given Ada invites Bob to her project, and the invitation reaches Bob's mailbox
    project_name = f"Web {uuid.uuid4().hex[:6]}"
    project = ada.ok("POST", "/api/projects", {"name": project_name}, status=201)
    ada.ok("POST", f"/api/projects/{project['id']}/invites", {"email": bob.email, "role": "member"}, 201)
    mail = mail_sink.wait_for(bob.email, project_name)
    found = INVITE_LINK.search(mail.get_body(("plain",)).get_content())
    assert found, "no invite link in the invitation mail"
    link = found.group(1)
    assert link.startswith(f"{gateway.url}/invite/accept?token=")

    # When Bob opens the link signed out, he is asked to sign in first
    response = page.goto(link)
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("invited to a project")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("null")
    # (the token leaves the address bar at once, so no Referer header carries it anywhere)
    expect(page).to_have_url(f"{gateway.url}/invite/accept")

    # A wrong password shows the API's error
    page.get_by_label("Email").fill(bob.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")

    # Then he signs in and accepts: he has joined Ada's project
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Accept invitation").click()
    expect(page.get_by_role("status").filter(has_text="You joined")).to_contain_text(f"You joined {project_name}")
    members = ada.ok("GET", f"/api/projects/{project['id']}/members")
    members = members["results"] if isinstance(members, dict) else members
    assert {member["user"]["id"] for member in members} == {ada.id, bob.id}
    token = link.split("token=", 1)[1]
    assert token not in (stack.work_dir / "django.log").read_text(errors="replace")

    # An unknown invite token gets a clear message
    page.goto(f"{gateway.url}/invite/accept?token=no-such-token")
    page.get_by_role("button", name="Accept invitation").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    # When Bob has his notifications open (the live socket connected) ...
    page.goto(f"{gateway.url}/")
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    expect(page.locator("#my-projects")).to_contain_text(project_name)
    expect(page.locator("#live-state")).to_have_text("Live")
    page.evaluate("window.__sameDocument = true")

    # ... and Ada assigns him a task
    task = ada.ok("POST", "/api/tasks", {"project": project["id"], "title": "Ship the web client"}, status=201)
    ada.ok("PATCH", f"/api/tasks/{task['id']}", {"assignee": bob.id})

    # Then the notification appears without a reload, unread, with the unread count
    item = page.locator("#notifications li.unread").filter(has_text="Ship the web client")
    expect(item).to_be_visible()
    stored = [n for n in bob.ok("GET", "/api/notifications")["results"] if n["type"] == "task.assigned"]
    assert len(stored) == 1
    expect(item.locator(".message")).to_contain_text(stored[0]["message"])
    # (the invitation is another unread notification)
    unread = bob.ok("GET", "/api/notifications/unread-count")["count"]
    assert unread == 2
    expect(page.locator("#unread-badge")).to_have_text(str(unread))
    expect(page.locator("[data-unread-count]")).to_have_text(f"{unread} unread")
    expect(page.locator("#my-tasks")).to_contain_text("Ship the web client")
    assert page.evaluate("window.__sameDocument") is True

    # When he opens the task from the notification, he sees it and can comment
    item.get_by_role("link", name="Open task").click()
    expect(page).to_have_url(f"{gateway.url}/tasks/{task['id']}")
    expect(page.get_by_role("heading", name="Ship the web client")).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("To do")
    expect(facts).to_contain_text("Medium")
    expect(facts).to_contain_text(bob.name)
    page.get_by_label("Add a comment").fill("On it: first draft tonight.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator("#comments")).to_contain_text("On it: first draft tonight.")
    comments = bob.ok("GET", f"/api/tasks/{task['id']}/comments")["results"]
    assert [comment["body"] for comment in comments] == ["On it: first draft tonight."]

    # When he turns off email for assignments and saves
    page.get_by_role("link", name="Settings").click()
    checkbox = page.get_by_label("A task is assigned to me: Email")
    expect(checkbox).to_be_checked()
    # (comments are not mailed: no email checkbox is offered for them)
    expect(page.get_by_label("Someone comments on a task: Email")).to_have_count(0)
    expect(page.get_by_label("Someone comments on a task: Telegram")).to_have_count(1)
    checkbox.uncheck()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Preferences saved.")).to_be_visible()

    # Then the API has stored exactly that
    preferences = bob.ok("GET", "/api/notifications/preferences")
    assert preferences["task.assigned"] == {"web": True, "email": False, "telegram": False}
    assert preferences["project.invited"]["email"] is True

    # And a reload of the page shows the stored value
    page.reload()
    expect(page.get_by_label("A task is assigned to me: Email")).not_to_be_checked()

    # When he marks everything read, the count goes to zero (in the page and the API)
    page.get_by_role("link", name="Notifications").click()
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.locator("#notifications li.unread")).to_have_count(0)
    expect(page.locator("#unread-badge")).to_be_hidden()
    assert bob.ok("GET", "/api/notifications/unread-count")["count"] == 0

    # When Bob logs out elsewhere (his API session), the relay closes his sockets with 4401: the
    # page renews its own session, takes a new ticket and reconnects from its cursor
    with page.expect_request(lambda request: request.url.endswith("/api/auth/refresh")):
        bob.ok("POST", "/api/auth/logout", {"refresh": bob.refresh}, status=204)
    expect(page.locator("#live-state")).to_have_text("Live")
    ada.ok("POST", f"/api/tasks/{task['id']}/comments", {"body": "Great, thanks!"}, status=201)
    expect(page.locator("#notifications li.unread")).to_contain_text("Great, thanks!")

    # And signing out ends the session (back to the sign-in form; the refresh token is revoked)
    refresh = page.evaluate("localStorage.getItem('taskflow.refresh')")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("localStorage.getItem('taskflow.refresh')") is None
    rejected = Person(gateway.url, bob.email, bob.name).request("POST", "/api/auth/refresh", {"refresh": refresh})
    assert rejected.status_code == 401
