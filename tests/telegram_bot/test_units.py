"""Unit tests of the bot's modules: configuration, catalogs, pacing, formatting."""

import ast
import asyncio
import gettext
import html
import itertools
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.telegram_bot.support import BOT_DIR, LOCALES_DIR

from taskflow_bot import formatting, i18n  # isort: skip (on sys.path through conftest)
from taskflow_bot.config import PLACEHOLDER_SERVICE_TOKEN, Settings  # isort: skip
from taskflow_bot.pacing import Pacer  # isort: skip

TRANSLATED = ("ru", "es")


def settings(**env: object) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


# --- Configuration -------------------------------------------------------------------------------


def test_production_refuses_the_placeholder_service_token() -> None:
    with pytest.raises(ValidationError, match="TELEGRAM_SERVICE_TOKEN"):
        settings(env="production", telegram_service_token=PLACEHOLDER_SERVICE_TOKEN)


def test_production_refuses_a_short_service_token() -> None:
    with pytest.raises(ValidationError, match="shorter than 32"):
        settings(env="production", telegram_service_token="x" * 31)


def test_production_accepts_a_long_random_token() -> None:
    assert settings(env="production", telegram_service_token="x" * 32).is_production


def test_development_runs_on_the_placeholder() -> None:
    assert settings(env="development").telegram_service_token == PLACEHOLDER_SERVICE_TOKEN


def test_django_env_production_counts_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENV", raising=False)
    monkeypatch.setenv("DJANGO_ENV", "production")
    monkeypatch.delenv("TELEGRAM_SERVICE_TOKEN", raising=False)

    with pytest.raises(ValidationError, match="TELEGRAM_SERVICE_TOKEN"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEGRAM_API_URL", "DJANGO_INTERNAL_URL", "REDIS_URL", "TELEGRAM_STREAM", "BOT_HEALTH_PORT"):
        monkeypatch.delenv(name, raising=False)

    config = settings()

    assert config.telegram_api_url == "https://api.telegram.org"
    assert config.django_internal_url == "http://127.0.0.1:8000"
    assert config.redis_url == "redis://127.0.0.1:6379/0"
    assert config.telegram_stream == "telegram:deliveries"
    assert config.bot_health_port == 8002
    assert config.per_chat_interval == 1.0


@pytest.fixture
def no_redis_topology(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "REDIS_URL",
        "REDIS_SENTINELS",
        "REDIS_SENTINEL_MASTER",
        "REDIS_SENTINEL_PASSWORD",
        "REDIS_CLUSTER_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_redis_is_a_single_node_by_default(no_redis_topology: None) -> None:
    topology = settings(redis_url="redis://cache:6380/4").topology

    assert (topology.mode, topology.url) == ("single", "redis://cache:6380/4")


def test_redis_sentinels_name_the_primary(no_redis_topology: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:secret@ignored:6379/3")
    monkeypatch.setenv("REDIS_SENTINELS", "s1:26379, s2:26380")
    monkeypatch.setenv("REDIS_SENTINEL_MASTER", "taskflow")
    monkeypatch.setenv("REDIS_SENTINEL_PASSWORD", "sentinel-secret")

    topology = settings().topology

    assert topology.mode == "sentinel"
    assert topology.sentinels == (("s1", 26379), ("s2", 26380))
    assert (topology.master, topology.sentinel_password) == ("taskflow", "sentinel-secret")
    assert topology.url == "redis://:secret@ignored:6379/3"  # database and password of the primary


def test_redis_sentinels_without_a_master_name_are_refused(no_redis_topology: None) -> None:
    with pytest.raises(ValidationError, match="REDIS_SENTINEL_MASTER"):
        settings(redis_sentinels="s1:26379")


def test_a_redis_cluster_wins_over_the_other_variables(
    no_redis_topology: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_SENTINELS", "s1:26379")
    monkeypatch.setenv("REDIS_SENTINEL_MASTER", "taskflow")
    monkeypatch.setenv("REDIS_CLUSTER_URL", "redis://node-1:7000")

    topology = settings().topology

    assert (topology.mode, topology.url) == ("cluster", "redis://node-1:7000")


def test_the_bot_speaks_its_catalogs_languages_that_django_core_supports() -> None:
    i18n.configure(LOCALES_DIR)
    try:
        assert i18n.supported_languages()[0] == "en"
        assert {"ru", "es"} <= set(i18n.supported_languages())

        # django-core's one list decides: a catalog for a language it does not offer is not offered
        i18n.restrict(["en", "ru"])

        assert i18n.supported_languages() == ("en", "ru")
        assert i18n.negotiate("es", None) == "en"
    finally:
        i18n.configure(LOCALES_DIR)


def test_pacing_off_drops_only_the_per_chat_spacing() -> None:
    config = settings(telegram_pacing=False, telegram_rate_global=10)

    assert config.per_chat_interval == 0.0
    assert config.telegram_rate_global == 10


# --- Catalogs ------------------------------------------------------------------------------------


def catalog_entries(language: str) -> dict[str | tuple[str, int], str]:
    """Every msgid of the compiled catalog with its translation (plural forms keyed by index)."""
    translation = gettext.GNUTranslations((LOCALES_DIR / language / "LC_MESSAGES" / "bot.mo").open("rb"))
    return {key: value for key, value in translation._catalog.items() if key != ""}  # type: ignore[attr-defined]


def source_msgids() -> set[str]:
    """The msgids the bot's code passes to _(), __(), gettext, lazy_gettext and ngettext."""
    names = {"_", "__", "gettext", "lazy_gettext", "ngettext"}
    found: set[str] = set()
    for path in (BOT_DIR / "taskflow_bot").rglob("*.py"):
        if path.name == "i18n.py":
            continue  # defines the functions
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name not in names:
                continue
            # The catalog is keyed by the singular msgid (msgfmt checks msgid_plural pairs).
            for arg in node.args[:1]:
                where = f"{path.name}:{node.lineno}"
                assert isinstance(arg, ast.Constant), f"{where}: a msgid must be a literal string"
                assert isinstance(arg.value, str), f"{where}: a msgid must be a literal string"
                found.add(arg.value)
    return found


def po_entries(language: str) -> list[tuple[bool, str]]:
    """(fuzzy, msgid) of every entry of the .po file."""
    entries, fuzzy = [], False
    for line in (LOCALES_DIR / language / "LC_MESSAGES" / "bot.po").read_text().splitlines():
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("msgid "):
            entries.append((fuzzy, ast.literal_eval(line[6:])))
            fuzzy = False
    return entries


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_msgid_has_a_non_empty_non_fuzzy_translation(language: str) -> None:
    entries = catalog_entries(language)
    msgids = {key if isinstance(key, str) else key[0] for key in entries}

    assert all(value.strip() for value in entries.values())
    assert not [msgid for fuzzy, msgid in po_entries(language) if fuzzy and msgid]
    # the .mo holds only translated entries: every msgid of the .po is in it
    assert {msgid for _fuzzy, msgid in po_entries(language) if msgid} <= msgids


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_of_the_code_is_in_the_catalog(language: str) -> None:
    entries = catalog_entries(language)
    msgids = {key if isinstance(key, str) else key[0] for key in entries}

    assert source_msgids() - msgids == set()


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    import re

    placeholder = re.compile(r"%\(\w+\)[sd]")
    translation = gettext.GNUTranslations((LOCALES_DIR / language / "LC_MESSAGES" / "bot.mo").open("rb"))
    for key, value in translation._catalog.items():  # type: ignore[attr-defined]
        msgid = key if isinstance(key, str) else key[0]
        if msgid:
            assert set(placeholder.findall(value)) == set(placeholder.findall(msgid)), (msgid, value)


@pytest.fixture
def catalogs_loaded() -> None:
    i18n.configure(LOCALES_DIR)


@pytest.mark.usefixtures("catalogs_loaded")
@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 открытая задача"),
        (2, "2 открытые задачи"),
        (5, "5 открытых задач"),
        (11, "11 открытых задач"),
        (21, "21 открытая задача"),
        (22, "22 открытые задачи"),
        (112, "112 открытых задач"),
    ],
)
def test_russian_plural_forms(count: int, expected: str) -> None:
    with i18n.use_language("ru"):
        text = i18n.ngettext("%(count)d open task", "%(count)d open tasks", count) % {"count": count}

    assert text == expected


@pytest.mark.usefixtures("catalogs_loaded")
def test_language_lives_in_the_context() -> None:
    with i18n.use_language("es"):
        spanish = i18n.gettext("Cancelled.")
        with i18n.use_language("ru"):
            russian = i18n.gettext("Cancelled.")
        back = i18n.gettext("Cancelled.")

    assert (spanish, russian, back) == ("Cancelado.", "Отменено.", "Cancelado.")
    assert i18n.gettext("Cancelled.") == "Cancelled."


@pytest.mark.usefixtures("catalogs_loaded")
def test_negotiation_prefers_the_account_then_telegram_then_english() -> None:
    assert i18n.negotiate("es", "ru") == "es"
    assert i18n.negotiate(None, "ru-RU") == "ru"
    assert i18n.negotiate("de", "pt-br") == "en"
    assert i18n.negotiate("", None) == "en"


@pytest.mark.usefixtures("catalogs_loaded")
def test_lazy_text_translates_when_rendered() -> None:
    text = i18n.lazy_gettext("My projects")

    with i18n.use_language("ru"):
        assert str(text) == "Мои проекты"
    assert str(text) == "My projects"


# --- Pacing --------------------------------------------------------------------------------------


class FakeClock:
    """Time that passes only when someone sleeps; concurrent sleepers wake in time order."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        self._sleepers.append((self.now + max(seconds, 0.0), self._seq, future))
        await future

    async def run(self, *coroutines: object) -> None:
        """Runs the coroutines, advancing time to the next wake-up whenever all are asleep."""
        tasks = [asyncio.ensure_future(c) for c in coroutines]  # type: ignore[call-overload]
        while not all(task.done() for task in tasks):
            for _ in range(20):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if self._sleepers:
                self._sleepers.sort(key=lambda s: (s[0], s[1]))
                wake_at, _seq, future = self._sleepers.pop(0)
                self.now = max(self.now, wake_at)
                future.set_result(None)
        for task in tasks:
            task.result()


def run_sends(pacer: Pacer, clock: FakeClock, plan: dict[int, int]) -> list[tuple[float, int]]:
    """Sends `plan[chat]` messages to each chat, one sender per chat; (time, chat) of each."""
    log: list[tuple[float, int]] = []

    async def sender(chat: int, count: int) -> None:
        for _ in range(count):
            await pacer.acquire(chat, clock.sleep)
            log.append((clock.now, chat))

    asyncio.run(clock.run(*(sender(chat, count) for chat, count in plan.items())))
    return log


def test_one_chat_gets_one_message_per_interval() -> None:
    clock = FakeClock()
    pacer = Pacer(global_rate=25, per_chat_interval=1.0, clock=clock)

    times = [at for at, _chat in run_sends(pacer, clock, {1: 4})]

    assert times == pytest.approx([0.0, 1.0, 2.0, 3.0])


def test_the_global_rate_spaces_sends_to_many_chats() -> None:
    clock = FakeClock()
    pacer = Pacer(global_rate=10, per_chat_interval=1.0, clock=clock)

    log = run_sends(pacer, clock, dict.fromkeys(range(1, 31), 2))
    times = sorted(at for at, _chat in log)

    # no two sends closer than 1/10 s, so at most 10 in any one-second window
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(times))
    assert max(sum(1 for t in times if start <= t < start + 1 - 1e-6) for start in times) <= 10
    # and per chat the spacing holds too
    for chat in range(1, 31):
        first, second = (at for at, c in log if c == chat)
        assert second - first >= 1.0 - 1e-9
    # nothing waited longer than it had to: 60 sends at 10/s take 5.9 s
    assert times[-1] == pytest.approx(5.9)


def test_a_waiting_chat_does_not_hold_back_the_others() -> None:
    clock = FakeClock()
    pacer = Pacer(global_rate=100, per_chat_interval=1.0, clock=clock)

    log = run_sends(pacer, clock, {1: 3, 2: 1, 3: 1})

    assert [at for at, chat in log if chat in {2, 3}] == pytest.approx([0.01, 0.02])
    assert [at for at, chat in log if chat == 1] == pytest.approx([0.0, 1.0, 2.0])


def test_hold_after_a_429_delays_the_chat_and_everyone() -> None:
    clock = FakeClock()
    pacer = Pacer(global_rate=100, per_chat_interval=0.0, clock=clock)
    pacer.hold(3.0, chat_id=1)
    pacer.hold(3.0)

    log = run_sends(pacer, clock, {1: 1, 2: 1})

    assert min(at for at, _chat in log) >= 3.0


def test_a_stalled_event_loop_does_not_let_sends_out_in_a_bunch() -> None:
    # given senders for 50 chats at 25/s, and a clock that jumps 0.3 s while they wait (the event
    # loop was busy elsewhere and woke everyone late)
    clock = FakeClock()
    pacer = Pacer(global_rate=25, per_chat_interval=1.0, clock=clock)
    log: list[float] = []

    async def sender(chat: int) -> None:
        await pacer.acquire(chat, clock.sleep)
        log.append(clock.now)

    async def stall() -> None:
        await clock.sleep(0.1)
        clock.now += 0.3

    asyncio.run(clock.run(stall(), *(sender(chat) for chat in range(50))))

    # then, after the stall too, no two sends are closer than 1/25 s
    times = sorted(log)
    assert all(b - a >= 0.04 - 1e-9 for a, b in itertools.pairwise(times))
    assert max(sum(1 for t in times if start <= t < start + 1 - 1e-6) for start in times) <= 25


def test_pacing_off_leaves_the_global_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(global_rate=4, per_chat_interval=0.0, clock=clock)

    times = [at for at, _chat in run_sends(pacer, clock, {1: 5})]

    assert times == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


# --- Formatting ----------------------------------------------------------------------------------

EVIL = '<script>alert("x")</script> & <b>bold</b>'


def task(**overrides: object) -> dict[str, object]:
    return {
        "id": 7,
        "title": EVIL,
        "status": "todo",
        "status_label": "To do",
        "priority_label": "High",
        "deadline_display": "<tomorrow>",
        "project": {"id": 1, "name": "R&D <team>"},
        "url": 'http://example.test/t/7?a=1&b="2"',
        "statuses": [{"value": "in_progress", "label": "In progress"}, {"value": "done", "label": "Done"}],
        **overrides,
    }


def assert_escaped(text: str) -> None:
    assert "<script>" not in text
    assert "<b>bold</b>" not in text
    assert html.escape(EVIL, quote=False) in text


@pytest.mark.usefixtures("catalogs_loaded")
def test_task_list_escapes_titles_and_names() -> None:
    text, markup = formatting.my_tasks({"count": 6, "page": 2, "pages": 2, "results": [task()]})

    assert_escaped(text)
    assert "R&amp;D &lt;team&gt;" in text
    assert "&lt;tomorrow&gt;" in text
    assert 'href="http://example.test/t/7?a=1&amp;b=&quot;2&quot;"' in text
    assert markup is not None
    buttons = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert buttons == ["mt:2:7:in_progress", "mt:2:7:done", "mp:1"]
    assert text.startswith("You have 6 open tasks. Page 2 of 2.")
    assert "<b>6. " in text  # numbered across pages


@pytest.mark.usefixtures("catalogs_loaded")
def test_callback_data_over_64_bytes_is_left_out() -> None:
    long_status = {"value": "x" * 70, "label": "Too long"}

    _text, markup = formatting.my_tasks({"count": 1, "page": 1, "pages": 1, "results": [task(statuses=[long_status])]})

    assert markup is None


@pytest.mark.usefixtures("catalogs_loaded")
def test_help_and_greeting_escape_the_users_name() -> None:
    account = {"name": EVIL, "language": "en"}

    assert_escaped(formatting.help_text(account))
    assert_escaped(formatting.greeting(account, moved=True))


@pytest.mark.usefixtures("catalogs_loaded")
def test_projects_escape_names_and_use_plurals() -> None:
    with i18n.use_language("ru"):
        text = formatting.projects(
            [{"id": 1, "name": EVIL, "role_label": "<Owner>", "open_tasks": 3, "url": "http://x.test/p/1"}]
        )

    assert_escaped(text)
    assert "&lt;Owner&gt;" in text
    assert "3 открытые задачи" in text


@pytest.mark.usefixtures("catalogs_loaded")
def test_error_details_from_django_core_are_escaped() -> None:
    assert formatting.core_error_text("invalid", "<b>too long</b>") == "That did not work: &lt;b&gt;too long&lt;/b&gt;"


@pytest.mark.usefixtures("catalogs_loaded")
def test_pressing_status_twice_replaces_the_note_and_keeps_other_buttons() -> None:
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    push = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Done", callback_data="ts:7:done")],
            [InlineKeyboardButton(text="Comment", callback_data="cm:7")],
        ]
    )
    once = formatting.push_with_status("<b>Task</b> assigned", task(status_label="Done"))
    twice = formatting.push_with_status(once, task(status_label="<In progress>"))
    markup = formatting.push_keyboard_with_status(push, task(statuses=[{"value": "todo", "label": "To do"}]))

    assert twice == "<b>Task</b> assigned\n\n✅ Status changed to &lt;In progress&gt;."
    assert markup is not None
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [["ts:7:todo"], ["cm:7"]]


def test_push_buttons_follow_the_claim() -> None:
    markup = formatting.push_keyboard(
        [[{"text": "Done", "callback_data": "ts:1:done"}, {"text": "Open", "url": "https://t.example/1"}], []]
    )

    assert markup is not None
    assert [(b.text, b.callback_data, b.url) for b in markup.inline_keyboard[0]] == [
        ("Done", "ts:1:done", None),
        ("Open", None, "https://t.example/1"),
    ]
    assert formatting.push_keyboard([]) is None


def test_every_bot_module_says_what_it_does() -> None:
    for path in (BOT_DIR / "taskflow_bot").rglob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text())), f"{Path(path).name} has no module docstring"
