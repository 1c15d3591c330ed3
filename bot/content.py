"""The toolkit content, loaded once from content/ and read by handlers.

Answers fall back to English when a language lacks a text, so a missing translation never
leaves a worker without an answer; `draft` tells handlers to say the text is unchecked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from nlu.types import LANGUAGES
from nlu.yamlio import load_yaml

PLACEHOLDER = re.compile(r"\{(fact|hotline):([a-z0-9_]+)\}")


@dataclass(frozen=True, slots=True)
class TopicText:
    topic_id: str
    kind: str  # info | urgent
    language: str  # the language the text is really in (after fallback)
    title: str
    answer: str
    details: str
    steps: tuple[str, ...]
    handover: str
    draft: bool


def _load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = load_yaml(path)
    return data if isinstance(data, dict) else {}


class Content:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.meta: dict[str, dict[str, Any]] = _load(root / "topics.yml").get("topics", {}) or {}
        self.facts: dict[str, dict[str, Any]] = _load(root / "facts.yml").get("facts", {}) or {}
        self.hotlines: dict[str, dict[str, Any]] = (
            _load(root / "hotlines.yml").get("hotlines", {}) or {}
        )
        self.organisations: dict[str, dict[str, Any]] = (
            _load(root / "organisations.yml").get("organisations", {}) or {}
        )
        self.menu_groups: list[dict[str, Any]] = _load(root / "menu.yml").get("groups", []) or []
        self.texts: dict[str, dict[str, dict[str, Any]]] = {}
        self.ui_strings: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            self.texts[lang] = _load(root / lang / "topics.yml").get("topics", {}) or {}
            self.ui_strings[lang] = _load(root / lang / "ui.yml").get("strings", {}) or {}

    @cached_property
    def examples(self) -> dict[str, dict[str, Any]]:
        """content/<lang>/examples.yml as read, on first use: the running bot never reads
        them from here (the keyword classifier reads the files once, and keeps only what it
        built from them); held from start-up they took ~4 MB."""
        return {lang: _load(self.root / lang / "examples.yml") for lang in LANGUAGES}

    def fill(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            kind, key = match.groups()
            table = self.facts if kind == "fact" else self.hotlines
            entry = table.get(key)
            if entry is None:
                return match.group(0)
            return str(entry["value"] if kind == "fact" else entry["number"])

        return PLACEHOLDER.sub(value, text)

    def ui(self, lang: str, key: str, **values: str) -> str:
        text = self.ui_strings.get(lang, {}).get(key) or self.ui_strings["en"].get(key) or key
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return self.fill(text)

    @cached_property
    def topic_ids(self) -> tuple[str, ...]:
        return tuple(self.meta)

    def kind(self, topic_id: str) -> str | None:
        entry = self.meta.get(topic_id)
        return entry.get("kind") if entry else None

    def is_urgent(self, topic_id: str) -> bool:
        return self.kind(topic_id) == "urgent"

    def topic(self, lang: str, topic_id: str) -> TopicText | None:
        meta = self.meta.get(topic_id)
        if meta is None:
            return None
        for candidate in (lang, "en"):
            entry = self.texts.get(candidate, {}).get(topic_id)
            if entry:
                status = (entry.get("reviewed") or {}).get("status", "draft")
                return TopicText(
                    topic_id=topic_id,
                    kind=meta.get("kind", "info"),
                    language=candidate,
                    title=self.fill(str(entry.get("title", topic_id))),
                    answer=self.fill(str(entry.get("answer", "")).strip()),
                    details=self.fill(str(entry.get("details", "") or "").strip()),
                    steps=tuple(self.fill(str(s)) for s in entry.get("steps", []) or []),
                    handover=self.fill(str(entry.get("handover", "") or "")),
                    draft=status != "checked",
                )
        return None

    def title(self, lang: str, topic_id: str) -> str:
        text = self.topic(lang, topic_id)
        return text.title if text else topic_id

    def related(self, topic_id: str) -> list[str]:
        return [t for t in self.meta.get(topic_id, {}).get("related", []) if t in self.meta]

    def urgent_hotlines(self, topic_id: str) -> list[dict[str, Any]]:
        ids = self.meta.get(topic_id, {}).get("hotlines", []) or []
        return [self.hotlines[h] | {"id": h} for h in ids if h in self.hotlines]

    def sources(self, topic_id: str) -> list[dict[str, str]]:
        return list(self.meta.get(topic_id, {}).get("sources", []) or [])
