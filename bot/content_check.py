"""Validate the content tree (content/, nlu/intents.yml) against docs/content-format.md.

``check_content(root)`` returns human-readable problems; an empty list means the content is
fit to ship. ``python -m bot.content_check [root]`` prints them and exits 1 if there are any.

Lengths are counted in grapheme clusters (what a reader sees as one letter), with
placeholders filled: a hotline by its number, a fact by its value.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

try:  # the `regex` module (a project dependency) knows extended grapheme clusters
    import regex as _regex
except ImportError:  # pragma: no cover - fallback for bare environments
    _regex = None

LANGUAGES: tuple[str, ...] = ("en", "th", "my", "km", "lo")
KINDS: tuple[str, ...] = ("info", "urgent", "dialog")
MIN_EXAMPLES: dict[str, int] = {"info": 20, "urgent": 30, "dialog": 10}
SERVICES: frozenset[str] = frozenset(
    {"legal_aid", "shelter", "health", "labour_complaints", "trafficking_screening", "lgbtqi_safe"}
)
REVIEW_STATUSES: frozenset[str] = frozenset({"draft", "checked"})
TITLE_MAX = 20
TEXT_MAX = 600
STEPS_MIN, STEPS_MAX = 1, 3

PLACEHOLDER_RE = re.compile(r"\{(hotline|fact):([^{}]*)\}")
BRACE_RE = re.compile(r"\{([^{}]*)\}")
# 4 or more digits (any script), optionally separated by single spaces or hyphens.
PHONE_RE = re.compile(r"\d(?:[ \-]?\d){3,}")
URL_RE = re.compile(
    r"(?i)(?:https?://|www\.)\S+"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|info|int|gov|go\.th|or\.th|co\.th|th)\b"
)

Taxonomy = dict[str, dict[str, str]]  # kind -> {intent id: description}


# --------------------------------------------------------------------------- helpers


def grapheme_count(text: str) -> int:
    """Number of user-perceived characters (extended grapheme clusters)."""
    if _regex is not None:
        return len(_regex.findall(r"\X", text))
    return sum(  # pragma: no cover - approximation without `regex`
        1
        for ch in text
        if unicodedata.category(ch) not in ("Mn", "Mc", "Me") and ch not in "\u200c\u200d"
    )


def fill_placeholders(text: str, hotlines: Mapping[str, str], facts: Mapping[str, str]) -> str:
    """Replace {hotline:ID} and {fact:ID} by their values; unknown ids are left as they are."""

    def repl(m: re.Match[str]) -> str:
        table = hotlines if m.group(1) == "hotline" else facts
        return table.get(m.group(2), m.group(0))

    return PLACEHOLDER_RE.sub(repl, text)


def text_problems(
    where: str,
    text: Any,
    hotlines: Mapping[str, str],
    facts: Mapping[str, str],
    *,
    max_len: int | None = TEXT_MAX,
    allow_braces: Iterable[str] = (),
) -> list[str]:
    """Problems of one user-facing text: type, placeholders, bare numbers, URLs, length."""
    if not isinstance(text, str) or not text.strip():
        return [f"{where}: missing or empty text"]
    problems: list[str] = []
    allowed = set(allow_braces)
    for m in BRACE_RE.finditer(text):
        inner = m.group(1)
        pm = PLACEHOLDER_RE.fullmatch(m.group(0))
        if pm:
            kind, ident = pm.groups()
            if ident not in (hotlines if kind == "hotline" else facts):
                problems.append(f"{where}: placeholder {m.group(0)} does not resolve")
        elif inner not in allowed:
            problems.append(f"{where}: unknown placeholder {m.group(0)}")
    bare = BRACE_RE.sub(" X ", text)
    for m in PHONE_RE.finditer(bare):
        problems.append(
            f"{where}: bare number {m.group(0)!r} (phone numbers only via {{hotline:ID}})"
        )
    for m in URL_RE.finditer(bare):
        problems.append(f"{where}: URL or web address {m.group(0)!r} in text")
    if max_len is not None:
        n = grapheme_count(fill_placeholders(text, hotlines, facts).strip())
        if n > max_len:
            problems.append(f"{where}: {n} characters with placeholders filled (max {max_len})")
    return problems


def source_problems(where: str, source: Any) -> list[str]:
    if not isinstance(source, Mapping):
        return [f"{where}: missing source"]
    problems = []
    if not isinstance(source.get("title"), str) or not source["title"].strip():
        problems.append(f"{where}: source without title")
    url = source.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        problems.append(f"{where}: source without a http(s) url")
    return problems


def reviewed_problems(where: str, reviewed: Any) -> list[str]:
    if not isinstance(reviewed, Mapping) or not reviewed.get("date"):
        return [f"{where}: missing reviewed {{date, status}}"]
    if reviewed.get("status") not in REVIEW_STATUSES:
        return [f"{where}: reviewed.status must be one of {sorted(REVIEW_STATUSES)}"]
    return []


def _mapping(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, Mapping) else None
    return dict(value) if isinstance(value, Mapping) else {}


# --------------------------------------------------------------------------- per file


def check_taxonomy(taxonomy: Any) -> list[str]:
    if not isinstance(taxonomy, Mapping) or not all(
        isinstance(taxonomy.get(k), Mapping) for k in KINDS
    ):
        return ["intent taxonomy: needs mappings info, urgent and dialog"]
    seen: set[str] = set()
    problems = []
    for kind in KINDS:
        for ident in taxonomy[kind]:
            if ident in seen:
                problems.append(f"intent taxonomy: id {ident} appears twice")
            seen.add(ident)
    return problems


def _entries(
    path: str, entries: Mapping[str, Any], problems: list[str]
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(where, entry) for each entry of a file of id -> mapping; an entry that is not a
    mapping is added to `problems` (in file order, among the entries' own) and skipped."""
    for ident, entry in entries.items():
        where = f"{path}: {ident}"
        if isinstance(entry, Mapping):
            yield where, entry
        else:
            problems.append(f"{where}: not a mapping")


def _language_file(lang: str, name: str, data: Any) -> tuple[str, list[str]]:
    """The path of content/<lang>/<name>, and the problem if the file does not say it is
    in that language."""
    path = f"content/{lang}/{name}"
    if not isinstance(data, Mapping) or data.get("language") != lang:
        return path, [f"{path}: language must be {lang}"]
    return path, []


def check_facts(facts: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if not facts:
        return ["content/facts.yml: no facts"]
    for where, fact in _entries("content/facts.yml", facts, problems):
        if not isinstance(fact.get("value"), str) or not fact["value"].strip():
            problems.append(f"{where}: value must be a non-empty quoted string")
        if not fact.get("unit"):
            problems.append(f"{where}: missing unit")
        if "effective" not in fact:
            problems.append(f"{where}: missing effective (null if unknown)")
        problems += source_problems(where, fact.get("source"))
        problems += reviewed_problems(where, fact.get("reviewed"))
    return problems


def check_hotlines(hotlines: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if not hotlines:
        return ["content/hotlines.yml: no hotlines"]
    for where, line in _entries("content/hotlines.yml", hotlines, problems):
        number = line.get("number")
        if not isinstance(number, str) or not re.fullmatch(r"\+?[0-9][0-9 \-]*", number):
            problems.append(f"{where}: number must be a quoted string of digits")
        for key in ("owner", "purpose", "hours"):
            if not line.get(key):
                problems.append(f"{where}: missing {key}")
        langs = line.get("languages")
        if not isinstance(langs, list) or any(x not in LANGUAGES for x in langs):
            problems.append(f"{where}: languages must be a list of {LANGUAGES}")
        problems += source_problems(where, line.get("source"))
        problems += reviewed_problems(where, line.get("reviewed"))
    return problems


def check_topic_meta(
    meta: Mapping[str, Any], taxonomy: Taxonomy, hotline_ids: Iterable[str]
) -> list[str]:
    """content/topics.yml: one entry per info/urgent id, sources, related, hotlines, services."""
    problems = []
    hotline_ids = set(hotline_ids)
    topic_ids = {**taxonomy["info"], **taxonomy["urgent"]}
    for ident in topic_ids:
        if ident not in meta:
            problems.append(f"content/topics.yml: topic {ident} missing")
    for ident, topic in meta.items():
        where = f"content/topics.yml: {ident}"
        if ident not in topic_ids:
            problems.append(f"{where}: not an info or urgent id of the intent taxonomy")
            continue
        if not isinstance(topic, Mapping):
            problems.append(f"{where}: not a mapping")
            continue
        kind = "urgent" if ident in taxonomy["urgent"] else "info"
        if topic.get("kind") != kind:
            problems.append(f"{where}: kind must be {kind}")
        for rel in topic.get("related") or []:
            if rel not in topic_ids:
                problems.append(f"{where}: related id {rel} does not exist")
        sources = topic.get("sources")
        if not isinstance(sources, list) or not sources:
            problems.append(f"{where}: needs at least one source")
        else:
            for i, src in enumerate(sources):
                problems += source_problems(f"{where} sources[{i}]", src)
        problems += reviewed_problems(where, topic.get("reviewed"))
        if kind == "urgent":
            lines = topic.get("hotlines")
            if not isinstance(lines, list) or not lines:
                problems.append(f"{where}: urgent topic needs hotlines")
            else:
                problems += [
                    f"{where}: hotline {h} not in content/hotlines.yml"
                    for h in lines
                    if h not in hotline_ids
                ]
            services = topic.get("services")
            if not isinstance(services, list) or not services:
                problems.append(f"{where}: urgent topic needs services")
            else:
                problems += [f"{where}: unknown service {s}" for s in services if s not in SERVICES]
    return problems


def check_lang_topics(
    lang: str,
    data: Any,
    taxonomy: Taxonomy,
    hotlines: Mapping[str, str],
    facts: Mapping[str, str],
) -> list[str]:
    """content/<lang>/topics.yml: every info/urgent id with title, answer or steps+handover."""
    path, problems = _language_file(lang, "topics.yml", data)
    topics = _mapping(data, "topics")
    for kind in ("info", "urgent"):
        for ident in taxonomy[kind]:
            where = f"{path}: {ident}"
            topic = topics.get(ident)
            if not isinstance(topic, Mapping):
                problems.append(f"{where}: no content in {lang}")
                continue
            problems += text_problems(
                f"{where} title", topic.get("title"), hotlines, facts, max_len=TITLE_MAX
            )
            if topic.get("details") is not None:
                problems += text_problems(
                    f"{where} details", topic["details"], hotlines, facts, max_len=None
                )
            if kind == "info":
                problems += text_problems(f"{where} answer", topic.get("answer"), hotlines, facts)
            else:
                steps = topic.get("steps")
                if not isinstance(steps, list) or not STEPS_MIN <= len(steps) <= STEPS_MAX:
                    problems.append(f"{where}: urgent topic needs {STEPS_MIN} to {STEPS_MAX} steps")
                else:
                    for i, step in enumerate(steps):
                        problems += text_problems(f"{where} steps[{i}]", step, hotlines, facts)
                problems += text_problems(
                    f"{where} handover", topic.get("handover"), hotlines, facts
                )
            problems += reviewed_problems(where, topic.get("reviewed"))
    known = {**taxonomy["info"], **taxonomy["urgent"]}
    problems += [f"{path}: {i} is not an info or urgent id" for i in topics if i not in known]
    return problems


def check_examples(lang: str, data: Any, taxonomy: Taxonomy) -> list[str]:
    """content/<lang>/examples.yml: enough distinct examples per intent, keywords, menu words."""
    path, problems = _language_file(lang, "examples.yml", data)
    intents = _mapping(data, "intents")
    for kind in KINDS:
        for ident in taxonomy[kind]:
            examples = intents.get(ident)
            texts = [e for e in examples or [] if isinstance(e, str) and e.strip()]
            distinct = len({e.strip().casefold() for e in texts})
            if distinct < MIN_EXAMPLES[kind]:
                problems.append(
                    f"{path}: {ident} has {distinct} distinct examples (needs {MIN_EXAMPLES[kind]})"
                )
    all_ids = {i for kind in KINDS for i in taxonomy[kind]}
    problems += [f"{path}: unknown intent {i}" for i in intents if i not in all_ids]
    keywords = _mapping(data, "urgent_keywords")
    for ident in taxonomy["urgent"]:
        words = keywords.get(ident)
        if not isinstance(words, list) or not any(isinstance(w, str) and w for w in words):
            problems.append(f"{path}: urgent_keywords missing for {ident}")
    menu = data.get("menu_words") if isinstance(data, Mapping) else None
    if not isinstance(menu, list) or not menu:
        problems.append(f"{path}: menu_words missing")
    return problems


def check_ui(
    lang: str,
    data: Any,
    en_strings: Mapping[str, Any],
    hotlines: Mapping[str, str],
    facts: Mapping[str, str],
) -> list[str]:
    """content/<lang>/ui.yml: same keys and same {placeholders} as English."""
    path, problems = _language_file(lang, "ui.yml", data)
    problems += reviewed_problems(path, data.get("reviewed") if isinstance(data, Mapping) else None)
    strings = _mapping(data, "strings")
    for key, en_text in en_strings.items():
        if key not in strings:
            problems.append(f"{path}: missing key {key}")
            continue
        text = strings[key]
        expected = set(BRACE_RE.findall(en_text)) if isinstance(en_text, str) else set()
        if isinstance(text, str) and set(BRACE_RE.findall(text)) != expected:
            found = sorted(BRACE_RE.findall(text))
            problems.append(
                f"{path}: {key} placeholders {found} differ from English {sorted(expected)}"
            )
        problems += text_problems(
            f"{path}: {key}", text, hotlines, facts, max_len=None, allow_braces=expected
        )
    problems += [
        f"{path}: key {k} not in content/en/ui.yml" for k in strings if k not in en_strings
    ]
    return problems


def check_organisations(orgs: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for where, org in _entries("content/organisations.yml", orgs, problems):
        if not org.get("name"):
            problems.append(f"{where}: missing name")
        if not isinstance(org.get("provinces"), list) or not org["provinces"]:
            problems.append(f"{where}: needs provinces")
        langs = org.get("languages")
        if not isinstance(langs, list) or any(x not in LANGUAGES for x in langs):
            problems.append(f"{where}: languages must be a list of {LANGUAGES}")
        services = org.get("services")
        if not isinstance(services, list) or any(s not in SERVICES for s in services):
            problems.append(f"{where}: services must be a list of {sorted(SERVICES)}")
        if not isinstance(org.get("verified"), bool):
            problems.append(f"{where}: verified must be true or false")
        problems += source_problems(where, org.get("source"))
    return problems


# --------------------------------------------------------------------------- loading


def _load(path: Path, problems: list[str], root: Path) -> Any:
    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = path
    if not path.is_file():
        problems.append(f"{rel}: file missing")
        return None
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(f"{rel}: does not parse: {exc}")
        return None


def taxonomy_path(root: Path) -> Path:
    """nlu/intents.yml, else ../shared/topics.yml next to the repo, else $TOPICS_FILE."""
    for candidate in (root / "nlu" / "intents.yml", root.parent / "shared" / "topics.yml"):
        if candidate.is_file():
            return candidate
    env = os.environ.get("TOPICS_FILE")
    return Path(env) if env else root / "nlu" / "intents.yml"


def check_content(root: Path) -> list[str]:
    """Every problem of the content tree under repository root ``root``."""
    root = Path(root)
    problems: list[str] = []
    taxonomy = _load(taxonomy_path(root), problems, root)
    tax_problems = check_taxonomy(taxonomy) if taxonomy is not None else []
    if taxonomy is None or tax_problems:
        return problems + tax_problems
    tax: Taxonomy = {k: dict(taxonomy[k]) for k in KINDS}

    content = root / "content"
    facts = _mapping(_load(content / "facts.yml", problems, root), "facts")
    hotlines = _mapping(_load(content / "hotlines.yml", problems, root), "hotlines")
    problems += check_facts(facts) + check_hotlines(hotlines)
    fact_values = {k: str(v.get("value", "")) for k, v in facts.items() if isinstance(v, Mapping)}
    numbers = {k: str(v.get("number", "")) for k, v in hotlines.items() if isinstance(v, Mapping)}

    meta = _mapping(_load(content / "topics.yml", problems, root), "topics")
    problems += check_topic_meta(meta, tax, numbers)
    problems += check_organisations(
        _mapping(_load(content / "organisations.yml", problems, root), "organisations")
    )

    en_ui = _load(content / "en" / "ui.yml", problems, root)
    en_strings = _mapping(en_ui, "strings")
    for lang in LANGUAGES:
        if not (content / lang).is_dir():
            problems.append(f"content/{lang}/: language missing")
            continue
        topics = _load(content / lang / "topics.yml", problems, root)
        if topics is not None:
            problems += check_lang_topics(lang, topics, tax, numbers, fact_values)
        examples = _load(content / lang / "examples.yml", problems, root)
        if examples is not None:
            problems += check_examples(lang, examples, tax)
        ui = en_ui if lang == "en" else _load(content / lang / "ui.yml", problems, root)
        if ui is not None:
            problems += check_ui(lang, ui, en_strings, numbers, fact_values)
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    problems = check_content(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} content problem(s)", file=sys.stderr)
        return 1
    print("content OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
