"""The account emails through the whole stack in a browser: the Celery worker mails to the
suite's SMTP sink, the links open the web client's pages."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.client import PASSWORD, Person
from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "e2e-Fresh-pass-2"


def _link(mail, path: str) -> str:
    found = re.search(rf"(https?://\S+{re.escape(path)}\?token=[\w.~%-]+)", mail.get_body(("plain",)).get_content())
    assert found, f"no {path} link in the mail"
    return found.group(1)


def test_sign_up_then_verify_the_address_from_the_mail(stack: Stack, mail_sink: MailSink, page: Page) -> None:
    gateway = stack.gateways["single"]
    email = f"vera-{uuid.uuid4().hex[:10]}@example.com"

    # Given someone signs up in the browser
    page.goto(f"{gateway.url}/")
    page.get_by_role("button", name="Create an account").click()
    page.get_by_label("Name").fill("Vera")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    # Then the home page says the address is unverified, and a verification mail arrives
    expect(page.locator("#verify-notice")).to_contain_text("verify your email address")
    link = _link(mail_sink.wait_for(email, "Confirm your email address"), "/verify-email")
    assert link.startswith(f"{gateway.url}/verify-email?token=")

    # When they open its link: verified, and the token has left the address bar
    page.goto(link)
    expect(page.get_by_role("status").filter(has_text="verified")).to_have_text("Your email address is verified.")
    expect(page).to_have_url(f"{gateway.url}/verify-email")
    person = Person(gateway.url, email, "Vera")
    tokens = person.ok("POST", "/api/auth/login", {"email": email, "password": PASSWORD})
    person.access = tokens["access"]
    assert person.ok("GET", "/api/users/me")["email_verified"] is True

    # And back home the notice is gone
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    expect(page.locator("#verify-notice")).to_have_count(0)

    # The same link again is refused clearly
    page.goto(link)
    expect(page.get_by_role("alert")).to_have_text("This link was already used.")


def test_forgot_password_mail_reset_page_then_sign_in_with_the_new_one(
    stack: Stack, mail_sink: MailSink, page: Page
) -> None:
    gateway = stack.gateways["single"]
    person = Person(gateway.url, f"reset-{uuid.uuid4().hex[:10]}@example.com", "Rosa")
    person.ok("POST", "/api/auth/register", {"email": person.email, "password": PASSWORD, "name": "Rosa"}, 201)
    old = person.ok("POST", "/api/auth/login", {"email": person.email, "password": PASSWORD})

    # Given she forgot her password: the sign-in page links to a form that asks for the mail
    page.goto(f"{gateway.url}/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(f"{gateway.url}/forgot-password")
    page.get_by_label("Email").fill(person.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text("on its way")

    # When she opens the mailed link and chooses a new password
    link = _link(mail_sink.wait_for(person.email, "Reset your TaskFlow password"), "/reset-password")
    page.goto(link)
    expect(page).to_have_url(f"{gateway.url}/reset-password")
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_contain_text("password")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()

    # Then she is asked to sign in, and the new password works while the old session is over
    expect(page.get_by_role("status")).to_have_text("Your password was changed. Sign in with the new one.")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    assert person.request("POST", "/api/auth/refresh", {"refresh": old["refresh"]}).status_code == 401
