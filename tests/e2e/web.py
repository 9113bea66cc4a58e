"""What the web client's browser tests share: signing in through the page, and a small team in
a new project (made over the API, as a teammate elsewhere would)."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page

from tests.e2e.client import PASSWORD, Person, sign_up, verify_email
from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import Stack


def sign_in(page: Page, base_url: str, person: Person, path: str) -> None:
    page.goto(f"{base_url}{path}")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def join(owner: Person, person: Person, project_id: int, role: str, mail_sink: MailSink) -> None:
    """`person` becomes a member of the project with `role` (an invitation, accepted by id)."""
    verify_email(person, mail_sink)
    invite = owner.ok("POST", f"/api/projects/{project_id}/invites", {"email": person.email, "role": role}, 201)
    person.ok("POST", f"/api/invites/{invite['id']}/accept", status=201)


def team(stack: Stack, mail_sink: MailSink) -> tuple[Person, Person, dict]:
    """Ada (owner, in Tokyo time) and Bob (member) in a new project."""
    gateway = stack.gateways["single"]
    ada = sign_up(gateway.url, "ada")
    bob = sign_up(gateway.url, "bob")
    ada.ok("PATCH", "/api/users/me", {"timezone": "Asia/Tokyo"})
    project = ada.ok("POST", "/api/projects", {"name": f"Pages {uuid.uuid4().hex[:6]}"}, status=201)
    join(ada, bob, project["id"], "member", mail_sink)
    return ada, bob, project
