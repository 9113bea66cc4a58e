"""`manage.py catalogs_check`: every translation catalog in `locales/` is complete and sound, for
every language of settings.LANGUAGES (the one list) and every domain — Django's (`django`), the
bot's (`bot`) and the web client's (`web`). `make test` runs it; it fails on:

- a catalog missing for a supported language (English is the source language: it has none);
- an untranslated entry (empty msgstr, or an empty plural form) or a fuzzy one;
- what `msgfmt --check` refuses: a placeholder mismatch in a python-format entry, a bad header,
  a wrong number of plural forms;
- a message in the code that the catalog does not have (the source was changed and
  `make messages` not run): for the Python domains, extracted with xgettext from the sources;
- an f-string (or a `.format()` call) inside a translation call, which gettext can never match.
"""

import ast
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

REPO_DIR = Path(settings.REPO_DIR)
LOCALES_DIR = REPO_DIR / "locales"
SOURCE_LANGUAGE = "en"
# The functions whose first argument (and second, for plurals) is a message id.
TRANSLATION_CALLS = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}
XGETTEXT_KEYWORDS = [
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext:1,2",
    "ngettext_lazy:1,2",
    "pgettext:1c,2",
    "pgettext_lazy:1c,2",
    "npgettext:1c,2,3",
    "npgettext_lazy:1c,2,3",
]


@dataclass(frozen=True)
class Domain:
    name: str
    # Python sources whose messages the catalog must hold (None: not extracted here; Django's
    # templates and the web client's scripts are covered by their own extraction).
    sources: tuple[Path, ...] | None


DOMAINS = (
    Domain("django", (REPO_DIR / "django-core",)),
    Domain("bot", (REPO_DIR / "telegram-bot" / "taskflow_bot",)),
    Domain("web", None),
)


@dataclass
class Entry:
    msgctxt: str | None
    msgid: str
    msgid_plural: str | None
    msgstr: list[str]
    flags: set[str]
    line: int


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file (the header, msgid "", left out); obsolete ones (#~) skipped."""
    entries: list[Entry] = []
    fields: dict[str, Any] = {}
    flags: set[str] = set()
    current: str | None = None
    start = 0

    def flush() -> None:
        nonlocal fields, flags
        if "msgid" in fields and fields["msgid"] != "":
            plural_forms = [fields[key] for key in sorted(k for k in fields if k.startswith("msgstr["))]
            entries.append(
                Entry(
                    msgctxt=fields.get("msgctxt"),
                    msgid=fields["msgid"],
                    msgid_plural=fields.get("msgid_plural"),
                    msgstr=plural_forms if plural_forms else [fields.get("msgstr", "")],
                    flags=flags,
                    line=start,
                )
            )
        fields, flags = {}, set()

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            flush()
            current = None
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            if "msgid" in fields:
                flush()
            flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr\[\d+\]|msgstr)\s+(".*")$', line)
        if match:
            key, value = match.groups()
            if key in {"msgctxt", "msgid"} and "msgstr" in "".join(fields):
                flush()
            if key == "msgid" and not fields:
                start = number
            fields[key] = _unquote(value)
            current = key
        elif line.startswith('"') and current is not None:
            fields[current] += _unquote(line)
        else:
            raise CommandError(f"{path}:{number}: cannot read this line: {raw!r}")
    flush()
    return entries


def _unquote(quoted: str) -> str:
    return ast.literal_eval(quoted)


def catalog_problems(path: Path) -> list[str]:
    """Untranslated and fuzzy entries, and what msgfmt --check refuses."""
    problems = []
    for entry in parse_po(path):
        where = f"{path.relative_to(REPO_DIR)}:{entry.line}"
        if "fuzzy" in entry.flags:
            problems.append(f"{where}: fuzzy: {entry.msgid!r}")
        elif any(not form for form in entry.msgstr):
            problems.append(f"{where}: untranslated: {entry.msgid!r}")
    checked = subprocess.run(  # noqa: S603 (gettext's own tool, on the PATH)
        ["msgfmt", "--check", "-o", "/dev/null", str(path)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if checked.returncode != 0:
        problems += [f"msgfmt: {line}" for line in checked.stderr.strip().splitlines()]
    return problems


def extracted_messages(sources: tuple[Path, ...]) -> set[tuple[str | None, str]]:
    """(context, msgid) of every message in the Python sources (migrations left out)."""
    files = sorted(str(path) for root in sources for path in root.rglob("*.py") if "migrations" not in path.parts)
    with tempfile.TemporaryDirectory() as directory:
        pot = Path(directory) / "messages.pot"
        command = ["xgettext", "--language=Python", "--from-code=UTF-8", "--no-location", "-o", str(pot)]
        command += [f"--keyword={keyword}" for keyword in XGETTEXT_KEYWORDS]
        subprocess.run([*command, *files], check=True, capture_output=True, text=True)  # noqa: S603
        if not pot.exists():
            return set()
        return {(entry.msgctxt, entry.msgid) for entry in parse_po(pot)}


def formatted_translation_calls(sources: tuple[Path, ...]) -> list[str]:
    """`_(f"...")`, `_("..." .format())` and the like: a message id gettext can never match."""
    found = []
    for root in sources:
        for path in sorted(root.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or _call_name(node.func) not in TRANSLATION_CALLS:
                    continue
                for argument in node.args[:3]:
                    if isinstance(argument, ast.JoinedStr) or (
                        isinstance(argument, ast.Call)
                        and isinstance(argument.func, ast.Attribute)
                        and argument.func.attr == "format"
                    ):
                        found.append(
                            f"{path.relative_to(REPO_DIR)}:{node.lineno}: a formatted string inside a translation call"
                        )
    return found


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def check(languages: list[str]) -> list[str]:
    problems = []
    for domain in DOMAINS:
        if domain.sources is not None:
            problems += formatted_translation_calls(domain.sources)
        wanted = extracted_messages(domain.sources) if domain.sources is not None else None
        for language in languages:
            if language == SOURCE_LANGUAGE:
                continue
            path = LOCALES_DIR / language / "LC_MESSAGES" / f"{domain.name}.po"
            if not path.is_file():
                problems.append(f"{path.relative_to(REPO_DIR)}: missing (every supported language needs it)")
                continue
            problems += catalog_problems(path)
            if wanted is not None:
                present = {(entry.msgctxt, entry.msgid) for entry in parse_po(path)}
                for context, msgid in sorted(wanted - present, key=lambda item: item[1]):
                    label = f"{context}|{msgid}" if context else msgid
                    problems.append(
                        f"{path.relative_to(REPO_DIR)}: not in the catalog (run `make messages`): {label!r}"
                    )
    return problems


class Command(BaseCommand):
    help = "Fails when a translation catalog is incomplete, fuzzy or broken (every language, every domain)."

    def handle(self, *args: Any, **options: Any) -> None:
        languages = [code for code, _name in settings.LANGUAGES]
        problems = check(languages)
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(
                f"{len(problems)} translation problem(s) in locales/: translate them (and run `make messages`)."
            )
        self.stdout.write(
            f"==> Translations complete: {', '.join(languages)} (domains {', '.join(d.name for d in DOMAINS)})"
        )
