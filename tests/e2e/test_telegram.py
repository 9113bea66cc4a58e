"""Telegram beside the whole stack: a user links their chat from the web client's settings page
(a real browser), turns Telegram on, and an assignment made through the gateway reaches their
chat through the outbox relay, the Redis stream and the bot."""

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.client import PASSWORD, sign_up, verify_email
from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import Stack
from tests.telegram_bot.botapi import BOT_USERNAME, FakeBotApi

pytestmark = pytest.mark.e2e

CHAT = 9_300_000_001


def test_link_from_the_web_client_then_an_assignment_reaches_the_chat(
    stack: Stack, bot_api: FakeBotApi, mail_sink: MailSink, page: Page
) -> None:
    gateway = stack.gateways["single"]
    ada = sign_up(gateway.url, "ada")
    bob = sign_up(gateway.url, "bob")
    verify_email(bob, mail_sink)

    # Given Bob signs in to the web client and asks for a Telegram link on his profile
    page.goto(f"{gateway.url}/settings/profile")
    page.get_by_label("Email").fill(bob.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#telegram-status")).to_have_text("Telegram is not linked.")
    page.locator("#telegram-link").click()
    link = page.locator("#telegram-deep-link")
    expect(link).to_be_visible()
    url = link.get_attribute("href") or ""
    assert url.startswith(f"https://t.me/{BOT_USERNAME}?start=")

    # When he presses Start in Telegram, the bot links his chat and greets him
    bot_api.push_command(CHAT, "start", parse_qs(urlsplit(url).query)["start"][0])
    greeting = bot_api.wait_for_message(CHAT, timeout=20)
    assert bob.name in greeting["text"]
    assert bob.ok("GET", "/api/users/me")["telegram_linked"] is True
    page.reload()
    expect(page.locator("#telegram-status")).to_have_text("Your Telegram account is linked.")

    # And he turns Telegram on for assignments, in his notification preferences
    page.get_by_role("link", name="Notification preferences").click()
    page.get_by_label("A task is assigned to me: Telegram").check()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Preferences saved.")).to_be_visible()

    # Then an assignment Ada makes through the gateway arrives in his chat
    project = ada.ok("POST", "/api/projects", {"name": "Telegram e2e"}, status=201)
    invite = ada.ok("POST", f"/api/projects/{project['id']}/invites", {"email": bob.email, "role": "member"}, 201)
    bob.ok("POST", f"/api/invites/{invite['id']}/accept", status=201)
    seen = len(bot_api.sent(CHAT))
    ada.ok("POST", "/api/tasks", {"project": project["id"], "title": "Launch the bot", "assignee": bob.id}, status=201)

    push = bot_api.wait_for_message(CHAT, lambda m: "Launch the bot" in m["text"], timeout=20, after=seen)
    assert ada.name in push["text"]
