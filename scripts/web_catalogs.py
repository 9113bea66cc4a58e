"""The web client's catalogs: locales/<lang>/LC_MESSAGES/web.po → gateway/web/locales/<lang>.json.

    python scripts/web_catalogs.py            compile every web.po to JSON (build output, not in git)
    python scripts/web_catalogs.py --extract  first extract locales/web.pot from gateway/web/js
                                              (xgettext) and merge it into every web.po (msgmerge)

A new language: `msginit --no-translator -l xx -i locales/web.pot -o locales/xx/LC_MESSAGES/web.po`,
translate it, add its plural categories to PLURAL_SAMPLES below.

Each <lang>.json is {"language", "plural": {Intl category: gettext form index}, "messages":
{msgid: msgstr, or [forms] for a plural entry (keyed by its singular msgid)}}; index.json lists
the languages (English, the source, first). The browser picks a plural form with
Intl.PluralRules, so the gettext order of the forms is mapped to CLDR's categories here, checked
against the catalog's own Plural-Forms on sample numbers. Fuzzy and untranslated entries are left
out (the page shows the English) and reported; a translation whose `{name}` placeholders differ
from its msgid's is an error. Standard library only (xgettext/msgmerge/msgfmt for --extract and
an optional syntax check).
"""

from __future__ import annotations

import argparse
import ast
import gettext
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
LOCALES_DIR = REPO_DIR / "locales"
JS_DIR = REPO_DIR / "gateway" / "web" / "js"
OUT_DIR = REPO_DIR / "gateway" / "web" / "locales"
POT = LOCALES_DIR / "web.pot"
SOURCE_LANGUAGE = "en"

# CLDR plural categories (what Intl.PluralRules(lang).select(n) answers) with integers that fall
# in each; a string stands for "the same form as that category" (Russian "other" is for
# fractions, which gettext's integer rule cannot see: 1,5 задачи reads like the "few" form).
PLURAL_SAMPLES: dict[str, dict[str, list[int] | str]] = {
    "en": {"one": [1], "other": [0, 2, 5, 11, 100]},
    "es": {"one": [1], "many": [1_000_000], "other": [0, 2, 5, 11, 21, 100]},
    "ru": {
        "one": [1, 21, 31, 101],
        "few": [2, 3, 4, 22, 34, 102],
        "many": [0, 5, 9, 11, 12, 14, 19, 20, 100, 111],
        "other": "few",
    },
}

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if not (len(text) >= 2 and text[0] == '"' and text[-1] == '"'):
        raise ValueError(f"{where}: expected a quoted string, found {text!r}")
    value = ast.literal_eval(text)  # C-style escapes, as in PO files
    assert isinstance(value, str)
    return value


def parse_po(path: Path) -> list[Entry]:
    """The entries of a PO file (obsolete `#~` ones left out); the header is the msgid "" entry."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None  # the field continuation lines add to

    def finish() -> None:
        nonlocal entry, target
        if target is not None:
            entries.append(entry)
        entry, target = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        where = f"{path}:{number}"
        if not line:
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#"):  # a comment starts the next entry
            if target is not None:
                finish()
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith('"'):
            if target is None:
                raise ValueError(f"{where}: a string outside an entry")
            name, index = target
            text = _unquote(line, where)
            if name == "msgstr":
                entry.msgstr[index] += text
            else:
                setattr(entry, name, (getattr(entry, name) or "") + text)
        else:
            keyword, _, rest = line.partition(" ")
            plural_form = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
                finish()
            if keyword in ("msgctxt", "msgid", "msgid_plural"):
                if keyword != "msgid_plural":
                    entry.line = entry.line or number
                setattr(entry, keyword, _unquote(rest, where))
                target = (keyword, 0)
            elif keyword == "msgstr" or plural_form:
                index = int(plural_form.group(1)) if plural_form else 0
                entry.msgstr[index] = _unquote(rest, where)
                target = ("msgstr", index)
            else:
                raise ValueError(f"{where}: unexpected {line!r}")
    finish()
    return entries


def header_fields(entries: list[Entry]) -> dict[str, str]:
    for entry in entries:
        if entry.msgid == "" and entry.msgctxt is None:
            return {
                name.strip(): value.strip()
                for name, _, value in (line.partition(":") for line in entry.msgstr.get(0, "").splitlines())
                if name.strip()
            }
    return {}


def plural_mapping(language: str, plural_forms: str, where: str) -> dict[str, int]:
    """{CLDR category: gettext form index}, checked against the catalog's Plural-Forms rule."""
    samples = PLURAL_SAMPLES.get(language)
    if samples is None:
        raise ValueError(f"{where}: add the CLDR plural categories of {language!r} to PLURAL_SAMPLES")
    found = re.search(r"nplurals\s*=\s*(\d+)\s*;\s*plural\s*=\s*(.+?);?\s*$", plural_forms)
    if not found:
        raise ValueError(f"{where}: no usable Plural-Forms header ({plural_forms!r})")
    nplurals, rule = int(found.group(1)), gettext.c2py(found.group(2))
    mapping: dict[str, int] = {}
    for category, numbers in samples.items():
        if isinstance(numbers, str):
            continue
        indexes = {rule(n) for n in numbers}
        if len(indexes) != 1:
            raise ValueError(f"{where}: Plural-Forms puts the {category!r} numbers {numbers} in forms {indexes}")
        mapping[category] = indexes.pop()
    for category, alias in samples.items():
        if isinstance(alias, str):
            mapping[category] = mapping[alias]
    if sorted(set(mapping.values())) != list(range(nplurals)):
        raise ValueError(f"{where}: the categories {mapping} do not cover the {nplurals} plural forms")
    return mapping


def compile_catalog(path: Path, language: str) -> tuple[dict[str, object], list[str]]:
    """The JSON catalog of one web.po, and the problems that left entries out (in English)."""
    entries = parse_po(path)
    header = header_fields(entries)
    plural = plural_mapping(language, header.get("Plural-Forms", ""), str(path))
    nplurals = len(set(plural.values()))
    messages: dict[str, str | list[str]] = {}
    skipped: list[str] = []
    errors: list[str] = []
    for entry in entries:
        if entry.msgid == "" and entry.msgctxt is None:
            continue
        where = f"{path.relative_to(REPO_DIR)}:{entry.line}"
        key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        forms = [entry.msgstr.get(index, "") for index in range(nplurals if entry.msgid_plural is not None else 1)]
        if "fuzzy" in entry.flags or not all(forms):
            skipped.append(f"{where}: {'fuzzy' if 'fuzzy' in entry.flags else 'untranslated'}: {entry.msgid!r}")
            continue
        expected = set(PLACEHOLDER.findall(entry.msgid)) | set(PLACEHOLDER.findall(entry.msgid_plural or ""))
        for form in forms:
            if set(PLACEHOLDER.findall(form)) != expected:
                errors.append(f"{where}: {form!r} has not the placeholders {sorted(expected)} of {entry.msgid!r}")
        messages[key] = forms if entry.msgid_plural is not None else forms[0]
    if errors:
        raise ValueError("\n".join(errors))
    return {"language": language, "plural": plural, "messages": dict(sorted(messages.items()))}, skipped


def catalogs() -> dict[str, Path]:
    return {po.parent.parent.name: po for po in sorted(LOCALES_DIR.glob("*/LC_MESSAGES/web.po"))}


def run(*command: str) -> None:
    subprocess.run(command, check=True, cwd=REPO_DIR)


def extract() -> None:
    """locales/web.pot from the JS (xgettext parses the modules as they are), merged into each web.po."""
    sources = sorted(str(path.relative_to(REPO_DIR)) for path in JS_DIR.rglob("*.js"))
    run(
        "xgettext",
        "--language=JavaScript",
        "--from-code=UTF-8",
        "--keyword=t",
        "--keyword=nt:1,2",
        "--add-comments=Translators:",
        "--add-location=file",
        "--sort-by-file",
        "--package-name=TaskFlow web client",
        "--msgid-bugs-address=taskflow@example.com",
        "-o",
        str(POT.relative_to(REPO_DIR)),
        *sources,
    )
    for po in catalogs().values():
        run("msgmerge", "--quiet", "--update", "--backup=none", "--no-fuzzy-matching", str(po), str(POT))


def write_if_changed(path: Path, data: object) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extract", action="store_true", help="extract locales/web.pot and merge the catalogs first")
    parser.add_argument("--strict", action="store_true", help="fail on fuzzy or untranslated entries")
    options = parser.parse_args()
    if options.extract:
        extract()
    found = catalogs()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for language, po in found.items():
        if shutil.which("msgfmt"):
            run("msgfmt", "--check-format", "--check-header", "-o", "/dev/null", str(po))
        try:
            catalog, skipped = compile_catalog(po, language)
        except ValueError as error:
            print(f"web_catalogs: {error}", file=sys.stderr)
            return 1
        problems += skipped
        write_if_changed(OUT_DIR / f"{language}.json", catalog)
    languages = [SOURCE_LANGUAGE, *sorted(code for code in found if code != SOURCE_LANGUAGE)]
    write_if_changed(OUT_DIR / "index.json", {"source": SOURCE_LANGUAGE, "languages": languages})
    for problem in problems:
        print(f"web_catalogs: left out (shown in English): {problem}", file=sys.stderr)
    print(f"web_catalogs: {', '.join(languages)} → {OUT_DIR.relative_to(REPO_DIR)}/")
    return 1 if problems and options.strict else 0


if __name__ == "__main__":
    sys.exit(main())
