"""The web client's own pages in a real browser (headless system Chromium, Playwright) through
the gateway: the task page (edit in two languages, fields, comments, history, live updates, a
viewer's read-only view, delete), the profile (name, language, time zone, password), the home
page's "New project", and the phone layout (375 px wide: no horizontal scroll). Screenshots of
the task page go to docs/screenshots/ (made by this run)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.client import PASSWORD, sign_up
from tests.e2e.conftest import open_context
from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import REPO_DIR, Stack
from tests.e2e.web import join, sign_in, team

pytestmark = pytest.mark.e2e

SCREENSHOTS = REPO_DIR / "docs" / "screenshots"
NEW_PASSWORD = "e2e-Changed-pass-3"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop browser whose own time zone is New York: the pages must use the account's."""
    yield from open_context(browser, viewport={"width": 1280, "height": 900}, timezone_id="America/New_York")


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    yield from open_context(
        browser, viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True, has_touch=True
    )


def no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 375, f"{page.url} is {width} px wide at 375 px"


def test_task_page_edits_fields_in_two_languages_comments_history_and_live(
    stack: Stack, mail_sink: MailSink, page: Page
) -> None:
    gateway = stack.gateways["single"]
    ada, bob, project = team(stack, mail_sink)
    task = ada.ok("POST", "/api/tasks", {"project": project["id"], "title": "Draft the plan"}, status=201)

    # Given Ada has the task open (her account is in Tokyo time, her browser in New York's)
    sign_in(page, gateway.url, ada, f"/tasks/{task['id']}")
    expect(page.get_by_role("heading", name="Draft the plan")).to_be_visible()
    expect(page.get_by_role("link", name=f"← Board: {project['name']}")).to_have_attribute(
        "href", f"/projects/{project['id']}"
    )
    page.evaluate("window.__sameDocument = true")

    # When she writes the title in English and Russian, assigns Bob, and sets priority, status, deadline
    page.get_by_label("Title (English)").fill("Write the launch plan")
    page.get_by_label("Title (Русский)").fill("Написать план запуска")
    page.get_by_label("Description (Русский)").fill("Сроки и ответственные.")
    page.get_by_label("Assignee").select_option(label=bob.name)
    page.get_by_label("Priority").select_option("high")
    page.get_by_label("Status").select_option("in_progress")
    page.get_by_label("Deadline").fill("2030-05-01T09:30")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#task-form [role=status]")).to_have_text("Saved.")

    # Then the API has both languages and every field, the deadline read in Tokyo time
    stored = ada.ok("GET", f"/api/tasks/{task['id']}")
    assert stored["title_en"] == "Write the launch plan"
    assert stored["title_ru"] == "Написать план запуска"
    assert stored["description_ru"] == "Сроки и ответственные."
    assert stored["assignee"]["id"] == bob.id
    assert (stored["priority"], stored["status"]) == ("high", "in_progress")
    assert datetime.fromisoformat(stored["deadline"]) == datetime(2030, 5, 1, 0, 30, tzinfo=UTC)
    russian = ada.request("GET", f"/api/tasks/{task['id']}", **{"Accept-Language": "ru"}).json()
    assert russian["title"] == "Написать план запуска"
    expect(page.get_by_role("heading", name="Write the launch plan")).to_be_visible()
    expect(page.locator("#task-facts")).to_contain_text("High")
    expect(page.locator("#task-facts")).to_contain_text(bob.name)

    # And the history shows the edit, newest first, as the API words it
    history = ada.ok("GET", f"/api/tasks/{task['id']}/activity")["results"]
    assert history, "no activity recorded for the edit"
    expect(page.locator("#activity li").first).to_contain_text(history[0]["message"])

    # A deadline can be cleared
    page.get_by_role("button", name="No deadline").click()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#task-form [role=status]")).to_have_text("Saved.")
    assert ada.ok("GET", f"/api/tasks/{task['id']}")["deadline"] is None

    # An error is shown at the field that caused it
    for code in ("en", "ru", "es"):
        page.get_by_label(f"Title ({'English' if code == 'en' else 'Русский' if code == 'ru' else 'Español'})").fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#task-title-en-error")).to_contain_text("title")
    expect(page.get_by_label("Title (English)")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Title (English)").fill("Write the launch plan")

    # When she comments, then edits and deletes her comment
    page.get_by_label("Add a comment").fill("First pass tonight.")
    page.get_by_role("button", name="Post comment").click()
    comment = page.locator("#comments li").filter(has_text="First pass tonight.")
    expect(comment).to_be_visible()
    comment.get_by_role("button", name="Edit").click()
    page.get_by_label("Edit your comment").fill("First pass tomorrow morning.")
    page.get_by_role("button", name="Save comment").click()
    edited = page.locator("#comments li").filter(has_text="First pass tomorrow morning.")
    expect(edited).to_contain_text("edited")
    [stored_comment] = ada.ok("GET", f"/api/tasks/{task['id']}/comments")["results"]
    assert (stored_comment["body"], stored_comment["edited"]) == ("First pass tomorrow morning.", True)
    edited.get_by_role("button", name="Delete").click()
    edited.get_by_role("button", name="Delete comment").click()
    expect(page.locator("#comments")).not_to_contain_text("First pass")
    assert ada.ok("GET", f"/api/tasks/{task['id']}/comments")["results"] == []

    # When Bob comments and changes the status elsewhere, her open page shows both without a reload
    bob.ok("POST", f"/api/tasks/{task['id']}/comments", {"body": "Can I help with the budget?"}, status=201)
    expect(page.locator("#comments")).to_contain_text("Can I help with the budget?")
    bob.ok("PATCH", f"/api/tasks/{task['id']}", {"status": "review"})
    expect(page.locator("#task-facts")).to_contain_text("In review")
    expect(page.get_by_label("Status")).to_have_value("review")
    assert page.evaluate("window.__sameDocument") is True

    # The task page at desktop width, for the docs
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "task.png"), full_page=True)


def test_a_viewer_reads_the_task_but_cannot_change_it(stack: Stack, mail_sink: MailSink, page: Page) -> None:
    gateway = stack.gateways["single"]
    ada, _bob, project = team(stack, mail_sink)
    vic = sign_up(gateway.url, "vic")
    join(ada, vic, project["id"], "viewer", mail_sink)
    task = ada.ok("POST", "/api/tasks", {"project": project["id"], "title": "Read me"}, status=201)
    ada.ok("POST", f"/api/tasks/{task['id']}/comments", {"body": "Context for readers."}, status=201)

    # When Vic, a viewer, opens the task
    sign_in(page, gateway.url, vic, f"/tasks/{task['id']}")
    expect(page.get_by_role("heading", name="Read me")).to_be_visible()

    # Then he sees everything, and nothing he could change
    expect(page.locator("#read-only-notice")).to_contain_text("viewer")
    expect(page.locator("#comments")).to_contain_text("Context for readers.")
    expect(page.get_by_label("Title (English)")).to_have_value("Read me")
    for label in ("Title (English)", "Assignee", "Priority", "Status", "Deadline"):
        expect(page.get_by_label(label)).to_be_disabled()
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    expect(page.get_by_label("Add a comment")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete task")).to_have_count(0)
    expect(page.locator("#comments").get_by_role("button")).to_have_count(0)

    # But he may watch it
    page.get_by_role("button", name="Watch", exact=True).click()
    expect(page.locator("#watchers")).to_contain_text(vic.name)
    expect(page.locator("#watch-toggle")).to_have_attribute("aria-pressed", "true")
    watchers = ada.ok("GET", f"/api/tasks/{task['id']}")["watchers"]
    assert vic.id in {watcher["id"] for watcher in watchers}


def test_the_reporter_deletes_the_task_and_lands_on_the_board(stack: Stack, mail_sink: MailSink, page: Page) -> None:
    gateway = stack.gateways["single"]
    ada, bob, project = team(stack, mail_sink)
    task = bob.ok("POST", "/api/tasks", {"project": project["id"], "title": "Short-lived"}, status=201)

    sign_in(page, gateway.url, bob, f"/tasks/{task['id']}")
    page.get_by_role("button", name="Delete task").click()
    page.get_by_role("group", name="Delete this task for everyone?").get_by_role("button", name="Delete task").click()
    expect(page).to_have_url(f"{gateway.url}/projects/{project['id']}")
    assert ada.request("GET", f"/api/tasks/{task['id']}").status_code == 404


def test_a_task_deleted_elsewhere_is_said_so_on_its_open_page(stack: Stack, mail_sink: MailSink, page: Page) -> None:
    gateway = stack.gateways["single"]
    ada, bob, project = team(stack, mail_sink)
    task = ada.ok("POST", "/api/tasks", {"project": project["id"], "title": "Going away", "assignee": bob.id}, 201)

    sign_in(page, gateway.url, bob, f"/tasks/{task['id']}")
    expect(page.get_by_role("heading", name="Going away")).to_be_visible()
    expect(page.locator("#live-state")).to_have_text("Live")
    ada.ok("DELETE", f"/api/tasks/{task['id']}", status=204)
    expect(page.get_by_role("alert")).to_have_text(f"{ada.name} deleted this task.")


def test_profile_name_time_zone_password_and_language(stack: Stack, page: Page) -> None:
    gateway = stack.gateways["single"]
    rosa = sign_up(gateway.url, "rosa")
    old_refresh = rosa.refresh

    # Given Rosa opens her profile (Settings → Profile)
    sign_in(page, gateway.url, rosa, "/settings/profile")
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    expect(page.get_by_role("navigation", name="Settings").get_by_role("link", name="Profile")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("#live-state")).to_have_text("Live")

    # When she changes her name and time zone
    page.get_by_label("Name").fill("Rosa María")
    page.get_by_label("Time zone").select_option("America/Mexico_City")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    me = rosa.ok("GET", "/api/users/me")
    assert (me["name"], me["timezone"]) == ("Rosa María", "America/Mexico_City")

    # When she mistypes her current password, the error is at that field
    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-current-error")).to_be_visible()
    # (two different new passwords are caught before anything is sent)
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-again-error")).to_be_visible()

    # When she changes it for real, she stays signed in here: the live connection, closed by the
    # revocation, comes back with the new session
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    with page.expect_request(lambda request: request.url.endswith("/api/realtime/ticket")):
        page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Password changed.")).to_be_visible()
    expect(page.locator("#live-state")).to_have_text("Live")
    assert page.evaluate("localStorage.getItem('taskflow.refresh')") != old_refresh
    page.reload()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Rosa María")
    # Then her other sessions have ended, and the new password signs in
    assert rosa.request("POST", "/api/auth/refresh", {"refresh": old_refresh}).status_code == 401
    assert rosa.request("POST", "/api/auth/login", {"email": rosa.email, "password": NEW_PASSWORD}).status_code == 200

    # When she switches to Russian, the page is drawn again in it, and her account keeps it
    page.locator("#language").select_option("ru")
    page.get_by_role("button", name="Save language").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", name="Профиль")).to_be_visible()
    expect(page.get_by_role("heading", name="Настройки", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Сохранить язык")).to_be_visible()
    expect(page.get_by_role("button", name="Привязать Telegram")).to_be_visible()
    expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    relogged = rosa.ok("POST", "/api/auth/login", {"email": rosa.email, "password": NEW_PASSWORD})
    rosa.access = relogged["access"]
    assert rosa.ok("GET", "/api/users/me")["language"] == "ru"


def test_home_page_creates_a_project_and_opens_its_board(stack: Stack, page: Page) -> None:
    gateway = stack.gateways["single"]
    nina = sign_up(gateway.url, "nina")
    name = f"Garden {uuid.uuid4().hex[:6]}"

    sign_in(page, gateway.url, nina, "/")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    expect(page.locator("#my-projects")).to_contain_text("No projects yet.")
    page.get_by_role("button", name="Create project").click()  # no name: the browser asks for one
    expect(page).to_have_url(f"{gateway.url}/")
    form = page.get_by_role("form", name="New project")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Description").fill("Beds, seeds and a shed.")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r".*/projects/\d+$"))

    [project] = nina.ok("GET", "/api/projects")["results"]
    assert (project["name"], project["description"], project["my_role"]) == (name, "Beds, seeds and a shed.", "owner")
    expect(page).to_have_url(f"{gateway.url}/projects/{project['id']}")

    # And back home the project is listed, as a link to its board
    page.go_back()
    expect(page.locator("#my-projects").get_by_role("link", name=name)).to_have_attribute(
        "href", f"/projects/{project['id']}"
    )
    expect(page.locator("#my-projects")).to_contain_text("owner")


def test_phone_width_task_page_and_settings_fit(stack: Stack, mail_sink: MailSink, phone: Page) -> None:
    gateway = stack.gateways["single"]
    ada, bob, project = team(stack, mail_sink)
    task = ada.ok(
        "POST",
        "/api/tasks",
        {
            "project": project["id"],
            "title": "A rather long task title that has to wrap on a phone screen without scrolling sideways",
            "description": "Steps:\n1. measure\n2. " + "averyveryverylongwordwithoutanyspaces" * 3,
            "assignee": bob.id,
            "deadline": "2030-06-01T12:00:00+00:00",
        },
        status=201,
    )
    bob.ok("POST", f"/api/tasks/{task['id']}/comments", {"body": "Looks good on my phone. " * 8}, status=201)

    sign_in(phone, gateway.url, ada, f"/tasks/{task['id']}")
    expect(phone.get_by_role("heading", name="A rather long task title")).to_be_visible()
    expect(phone.locator("#comments")).to_contain_text("Looks good on my phone.")
    expect(phone.locator("#activity li").first).to_be_visible()
    no_horizontal_scroll(phone)
    # Tap targets: every button and form control is at least 40 px high
    short = phone.evaluate(
        """[...document.querySelectorAll('main button, main select, main input, main textarea')]
             .filter((element) => element.offsetParent !== null && element.getBoundingClientRect().height < 40)
             .map((element) => element.id || element.textContent)"""
    )
    assert short == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "task-phone.png"))

    for path in ("/", "/settings/profile", "/settings/notifications"):
        phone.goto(f"{gateway.url}{path}")
        expect(phone.locator("main h1")).to_be_visible()
        no_horizontal_scroll(phone)

    # Dark mode: the theme's variables change the page's colours
    phone.emulate_media(color_scheme="dark")
    assert phone.evaluate("getComputedStyle(document.documentElement).backgroundColor") == "rgb(18, 21, 28)"
