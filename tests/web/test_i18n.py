"""Every visible string of the web app is translated into English, Simplified Chinese and Russian:
the three translation files hold the same keys with the same placeholders, every key the markup
and the scripts use exists, and no script or page carries visible text of its own."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

STATIC = Path(__file__).resolve().parents[2] / "smartfab" / "web" / "static"
LANGUAGES = ("en", "zh", "ru")
SCRIPTS = sorted((STATIC / "js").rglob("*.js"))
PAGES = sorted(STATIC.glob("*.html"))  # the app and its login page


def _load(lang: str) -> dict[str, str]:
    return dict(json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def dicts() -> dict[str, dict[str, str]]:
    return {lang: _load(lang) for lang in LANGUAGES}


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_every_key_in_every_language(dicts: dict[str, dict[str, str]]) -> None:
    en = dicts["en"]
    for lang, d in dicts.items():
        assert set(d) == set(en), f"{lang}: missing {set(en) - set(d)}, extra {set(d) - set(en)}"
        for key, text in d.items():
            assert text.strip(), f"{lang}: {key} is empty"
            assert _placeholders(text) == _placeholders(en[key]), f"{lang}: {key} placeholders"
    # Translated, not copied: most Chinese and Russian strings differ from the English ones
    # (abbreviations such as OEE, SPC or Cpk stay the same in every language).
    for lang in ("zh", "ru"):
        same = [k for k in en if dicts[lang][k] == en[k]]
        assert len(same) < 0.1 * len(en), f"{lang}: untranslated {same}"


def _script_text(path: Path) -> str:
    """The script without comments (a comment is for developers, not shown)."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"(^|[^:\\])//[^\n]*", r"\1", text)


def _literals(code: str) -> list[str]:
    """String literals of a script: quoted strings and the static parts of template literals."""
    found = re.findall(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'', code)
    out = [a or b for a, b in found]
    for template in re.findall(r"`((?:[^`\\]|\\.)*)`", code, flags=re.S):
        out += re.split(r"\$\{[^}]*\}", template)
    return out


def test_keys_used_by_markup_and_scripts_exist(dicts: dict[str, dict[str, str]]) -> None:
    en = dicts["en"]
    html = "".join(p.read_text(encoding="utf-8") for p in PAGES)
    used = set(re.findall(r'data-i18n(?:-title|-placeholder)?="([^"]+)"', html))
    prefixes: set[str] = set()
    for path in SCRIPTS:
        code = _script_text(path)
        used |= set(re.findall(r'\bt\("([^"]+)"', code))
        used |= set(re.findall(r'"data-i18n-placeholder": "([^"]+)"', code))
        # Keys built at run time, e.g. t(`state.${name}`): their family must exist.
        prefixes |= set(re.findall(r"\bt\(`([a-z_.]+)\$\{", code))
        # Keys picked from a list, e.g. ["kpi.oee", ...].map((k) => t(k)).
        used |= {s for s in _literals(code) if re.fullmatch(r"[a-z]+\.[a-z0-9_.]+", s) and s in en}
    missing = sorted(k for k in used if k not in en)
    assert not missing, f"keys used but not translated: {missing}"
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in en), f"no key starts with {prefix!r}"
    for state in ("running", "idle", "setup", "unplanned_down", "planned_stop", "off"):
        assert f"state.{state}" in en
    for state in ("normal", "unacknowledged", "acknowledged", "cleared_unacknowledged", "shelved"):
        assert f"alarm.state.{state}" in en


class _VisibleText(HTMLParser):
    """Text nodes of a page that are not filled in by a translation key."""

    VOID: ClassVar[set[str]] = {"meta", "link", "img", "input", "br", "hr", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []  # (tag, exempt)
        self.untranslated: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        exempt = (
            "data-i18n" in names
            or names.get("translate") == "no"
            or tag in ("script", "style")
            or bool(self.stack and self.stack[-1][1])
        )
        if tag not in self.VOID:
            self.stack.append((tag, exempt))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if data.strip() and not (self.stack and self.stack[-1][1]):
            self.untranslated.append(data.strip())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_has_no_untranslated_text(page: Path) -> None:
    parser = _VisibleText()
    parser.feed(page.read_text(encoding="utf-8"))
    assert parser.untranslated == []


# Literals that look like words but are never shown: key names, CSS and canvas vocabulary.
NOT_TEXT = {"Content-Type", "POST", "GET", "Escape"}


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(STATIC)))
def test_scripts_show_no_text_of_their_own(path: Path) -> None:
    """A capitalised word or any Chinese or Russian letter in a script's string is text meant
    for people, which belongs in the translation files."""
    words = re.compile(r"\b[A-Z][a-z]{2,}|[\u4e00-\u9fff]|[\u0400-\u04ff]")
    offenders = [
        s
        for s in _literals(_script_text(path))
        if s not in NOT_TEXT and not s.startswith("--") and words.search(s)
    ]
    assert offenders == [], f"{path.name}: put these into static/i18n/*.json: {offenders}"


def test_every_known_server_error_is_translated(dicts: dict[str, dict[str, str]]) -> None:
    """api.js names the server errors it recognises by a code; each has its error.<code> text in
    every language, with the parameters the pattern captures."""
    code = (STATIC / "js" / "api.js").read_text(encoding="utf-8")
    table = code.split("const KNOWN_ERRORS = [", 1)[1].split("\n];", 1)[0]
    entries = re.findall(r'^\s*\[/.*/, "(\w+)"(?:, \[([^\]]*)\])?\],$', table, re.MULTILINE)
    assert len(entries) >= 10
    for name, params in entries:
        wanted = set(re.findall(r'"(\w+)"', params))
        for lang in LANGUAGES:
            text = dicts[lang].get(f"error.{name}")
            assert text is not None, f"error.{name} missing in {lang}"
            assert _placeholders(text) == wanted, (lang, name)
    assert "error.invalid" in dicts["en"]  # request validation errors, listed by field
