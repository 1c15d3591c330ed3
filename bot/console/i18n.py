"""The console's own strings (strings.yml): English and Thai, English as the fallback."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

CONSOLE_LANGUAGES = ("en", "th")
STRINGS_FILE = Path(__file__).resolve().parent / "strings.yml"


@cache
def strings() -> dict[str, dict[str, str]]:
    data = yaml.safe_load(STRINGS_FILE.read_text(encoding="utf-8")) or {}
    return {lang: dict(data.get(lang) or {}) for lang in CONSOLE_LANGUAGES}


def t(lang: str, key: str, **values: object) -> str:
    table = strings()
    text = table.get(lang, {}).get(key) or table["en"].get(key) or key
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in CONSOLE_LANGUAGES:
        return str(cookie)
    if accept_language and accept_language.strip().lower().startswith("th"):
        return "th"
    return "en"
