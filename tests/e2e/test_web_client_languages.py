# ruff: noqa: RUF001 (Russian and Spanish text, not look-alike letters)
"""The web client in Russian and Spanish (gateway/web/js/i18n.js, catalogs compiled from
locales/<lang>/LC_MESSAGES/web.po by scripts/web_catalogs.py): the language chosen on the settings
page is the account's (PATCH /api/users/me) and everything is drawn again in it, plural forms
included; signed out, the browser's language applies, and the footer's selector changes it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.client import PASSWORD, Person, sign_up, verify_email
from tests.e2e.conftest import open_context
from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import REPO_DIR, Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", autouse=True)
def web_catalogs() -> None:
    """The JSON catalogs are build output (`make messages`): compiled here as well."""
    subprocess.run([sys.executable, str(REPO_DIR / "scripts" / "web_catalogs.py"), "--strict"], check=True)


def invite(owner: Person, person: Person, count: int) -> None:
    """`count` invitations to new projects of `owner`: one unread notification each for `person`."""
    for _ in range(count):
        project = owner.ok("POST", "/api/projects", {"name": f"Proj {uuid.uuid4().hex[:6]}"}, status=201)
        owner.ok("POST", f"/api/projects/{project['id']}/invites", {"email": person.email, "role": "member"}, 201)


def sign_in(page: Page, base_url: str, person: Person, path: str = "/settings/profile") -> None:
    page.goto(f"{base_url}{path}")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def choose_language(page: Page, code: str, button: str) -> None:
    page.locator("#language").select_option(code)
    page.get_by_role("button", name=button).click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def test_settings_switch_to_russian_with_its_plural_forms(stack: Stack, mail_sink: MailSink, page: Page) -> None:
    gateway = stack.gateways["single"]
    ada = sign_up(gateway.url, "ada")
    olga = sign_up(gateway.url, "olga")
    verify_email(olga, mail_sink)  # invitations are listed for verified addresses
    invite(ada, olga, 2)

    # Given Olga signs in, in English (her account's language)
    sign_in(page, gateway.url, olga)
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#unread-badge")).to_have_attribute("aria-label", "2 unread")

    # When she picks Russian on her profile and saves
    choose_language(page, "ru", "Save language")

    # Then the page is drawn again in Russian, and her account keeps the choice
    expect(page.get_by_role("heading", name="Настройки", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Профиль")).to_be_visible()
    expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    expect(page.locator("#telegram-status")).to_have_text("Telegram не привязан.")
    expect(page.locator("#unread-badge")).to_have_attribute("aria-label", "2 непрочитанных уведомления")
    assert olga.ok("GET", "/api/users/me")["language"] == "ru"
    # And so are her notification preferences
    page.get_by_role("link", name="Настройки уведомлений").click()
    expect(page.get_by_role("button", name="Сохранить настройки")).to_be_visible()
    expect(page.get_by_label("Мне назначена задача: Эл. почта")).to_be_checked()

    # And her notifications count in Russian: 2 (few), then 5 (many) live, then 1 (one)
    page.get_by_role("link", name="Уведомления").click()
    expect(page.get_by_role("heading", name="Уведомления", exact=True)).to_be_visible()
    counter = page.locator("[data-unread-count]")
    expect(counter).to_have_text("2 непрочитанных уведомления")
    expect(page.get_by_role("heading", name="Приглашения")).to_be_visible()
    expect(page.get_by_role("button", name="Принять").first).to_be_visible()
    expect(page.locator("#live-state")).to_have_text("На связи")
    invite(ada, olga, 3)
    expect(counter).to_have_text("5 непрочитанных уведомлений")
    unread = [n for n in olga.ok("GET", "/api/notifications")["results"] if not n["is_read"]]
    for notification in unread[1:]:
        olga.ok("PATCH", f"/api/notifications/{notification['id']}/read")
    page.reload()  # the language comes from the account, not from the page's memory
    expect(counter).to_have_text("1 непрочитанное уведомление")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("button", name="Отметить все как прочитанные")).to_be_visible()


def test_settings_switch_to_spanish(stack: Stack, mail_sink: MailSink, page: Page) -> None:
    gateway = stack.gateways["single"]
    ada = sign_up(gateway.url, "ada")
    pablo = sign_up(gateway.url, "pablo")
    verify_email(pablo, mail_sink)
    invite(ada, pablo, 1)

    # Given Pablo reads TaskFlow in Russian, when he switches to Spanish
    sign_in(page, gateway.url, pablo)
    choose_language(page, "ru", "Save language")
    choose_language(page, "es", "Сохранить язык")

    # Then the page is in Spanish
    expect(page.get_by_role("heading", name="Ajustes", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Perfil")).to_be_visible()
    expect(page.get_by_role("button", name="Vincular Telegram")).to_be_visible()
    assert pablo.ok("GET", "/api/users/me")["language"] == "es"
    page.get_by_role("link", name="Preferencias de notificaciones").click()
    expect(page.get_by_role("button", name="Guardar preferencias")).to_be_visible()

    # And his notifications count in Spanish: 1 (one), then 2 (other) live
    page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name="Notificaciones").click()
    counter = page.locator("[data-unread-count]")
    expect(counter).to_have_text("1 notificación sin leer")
    expect(page.locator("#live-state")).to_have_text("En directo")
    invite(ada, pablo, 1)
    expect(counter).to_have_text("2 notificaciones sin leer")
    expect(page.get_by_role("button", name="Aceptar").first).to_be_visible()


@pytest.fixture
def spanish_page(browser: Browser) -> Iterator[Page]:
    """A browser whose language is Spanish (navigator.languages = es-ES, es)."""
    yield from open_context(browser, locale="es-ES")


def test_signed_out_pages_follow_the_browser_and_the_footer_selector(stack: Stack, spanish_page: Page) -> None:
    gateway = stack.gateways["single"]
    page = spanish_page

    # A Spanish browser gets the sign-in page in Spanish (the API's errors are shown as it words them)
    page.goto(f"{gateway.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    expect(page.get_by_role("link", name="Documentación de la API")).to_be_visible()
    page.get_by_label("Correo electrónico").fill("nobody@example.com")
    page.get_by_label("Contraseña").fill("not-the-password")
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page.get_by_role("alert")).to_be_visible()

    # The footer's selector switches to Russian, and the choice is kept on this device
    page.locator("#footer-language-select").select_option("ru")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", name="Войти")).to_be_visible()
    expect(page.get_by_role("button", name="Создать аккаунт")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Войти")).to_be_visible()
