"""`manage.py catalogs_check` (run by `make test`): the catalogs as they are pass, and each kind
of problem fails the check — shown on copies of the catalogs and of a source file."""

import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from common.management.commands import catalogs_check
from common.management.commands.catalogs_check import Domain


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of locales/ the check reads instead of the real one."""
    copy = tmp_path / "locales"
    shutil.copytree(catalogs_check.LOCALES_DIR, copy, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(catalogs_check, "LOCALES_DIR", copy)
    monkeypatch.setattr(catalogs_check, "REPO_DIR", tmp_path)
    return copy


def _problems() -> list[str]:
    return catalogs_check.check(["en", "ru", "es"])


def _replace_first(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_catalogs_as_they_are_pass(capsys):
    call_command("catalogs_check")

    assert "Translations complete" in capsys.readouterr().out


def test_an_untranslated_entry_fails(locales):
    po = locales / "es" / "LC_MESSAGES" / "django.po"
    text = po.read_text(encoding="utf-8")
    start = text.index('msgid "Not found."')
    end = text.index("\n\n", start)
    po.write_text(text[:start] + 'msgid "Not found."\nmsgstr ""' + text[end:], encoding="utf-8")

    assert any("untranslated: 'Not found.'" in problem for problem in _problems())


def test_a_fuzzy_entry_fails(locales):
    _replace_first(locales / "ru" / "LC_MESSAGES" / "bot.po", "\n\nmsgid ", "\n\n#, fuzzy\nmsgid ")

    assert any("fuzzy" in problem and "bot.po" in problem for problem in _problems())


def test_a_placeholder_mismatch_fails(locales):
    po = locales / "ru" / "LC_MESSAGES" / "django.po"
    text = po.read_text(encoding="utf-8")
    start = text.index('msgid "%(actor)s created “%(task)s”."')
    end = text.index("\n\n", start)
    po.write_text(
        text[:start] + 'msgid "%(actor)s created “%(task)s”."\nmsgstr "%(actor)s создаёт задачу."' + text[end:],
        encoding="utf-8",
    )

    assert any(problem.startswith("msgfmt:") for problem in _problems())


def test_a_language_without_its_catalog_fails(locales):
    (locales / "es" / "LC_MESSAGES" / "bot.po").unlink()

    assert any("es/LC_MESSAGES/bot.po: missing" in problem for problem in _problems())


def test_a_message_the_catalogs_lack_and_an_f_string_in_a_translation_call_fail(
    locales, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    sources = tmp_path / "source"
    sources.mkdir()
    (sources / "views.py").write_text(
        "from django.utils.translation import gettext as _\n"
        "name = 'x'\n"
        "A = _('A message nobody translated yet')\n"
        "B = _(f'Hello {name}')\n"
        "C = _('Hello {name}'.format(name=name))\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(catalogs_check, "DOMAINS", (Domain("django", (sources,)),))

    problems = _problems()

    assert any("not in the catalog" in p and "A message nobody translated yet" in p for p in problems)
    assert sum("formatted string inside a translation call" in p for p in problems) == 2
    with pytest.raises(CommandError, match="translation problem"):
        call_command("catalogs_check")
