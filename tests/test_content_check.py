"""Tests of bot/content_check.py: the real content, and one small fixture per failure kind."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.content_check import (  # noqa: E402
    LANGUAGES,
    check_content,
    grapheme_count,
    taxonomy_path,
)

OTHER_LANGUAGES = [lang for lang in LANGUAGES if lang != "en"]
REV = {"date": "2026-11-29", "status": "draft"}
SRC = {"title": "Labour Protection Act B.E. 2541 s.118", "url": "https://example.org/lpa"}


# ---------------------------------------------------------------- the real content


def test_real_content_is_complete_and_valid() -> None:
    """The shipped content: every language, every topic, every rule. No exceptions."""
    problems = check_content(ROOT)
    assert problems == [], "\n".join(problems)


def test_real_shared_and_english_content_is_valid() -> None:
    """Shared files and English alone (useful while translations are being added)."""
    problems = [
        p
        for p in check_content(ROOT)
        if not any(p.startswith(f"content/{lang}/") for lang in OTHER_LANGUAGES)
    ]
    assert problems == [], "\n".join(problems)


def test_repo_copy_of_intents_matches_shared_file() -> None:
    shared = ROOT.parent / "shared" / "topics.yml"
    if not shared.is_file():
        pytest.skip("../shared/topics.yml is not present in this checkout layout")
    ours = yaml.safe_load((ROOT / "nlu" / "intents.yml").read_text(encoding="utf-8"))
    assert ours == yaml.safe_load(shared.read_text(encoding="utf-8"))


def test_eval_set_does_not_repeat_training_examples() -> None:
    """The message names the training lines by intent and position, never the held-out
    text: whoever writes examples must not learn the held-out set from a failing test."""
    for lang in LANGUAGES:
        eval_file = ROOT / "nlu" / "eval" / f"{lang}.yml"
        examples_file = ROOT / "content" / lang / "examples.yml"
        if not (eval_file.is_file() and examples_file.is_file()):
            continue
        train = yaml.safe_load(examples_file.read_text(encoding="utf-8"))["intents"]
        held_out = yaml.safe_load(eval_file.read_text(encoding="utf-8"))["intents"]
        unseen = {e.strip().casefold() for texts in held_out.values() for e in texts}
        repeated = [
            f"{intent} #{position}"
            for intent, texts in train.items()
            for position, text in enumerate(texts, start=1)
            if text.strip().casefold() in unseen
        ]
        assert repeated == [], (
            f"content/{lang}/examples.yml: these examples repeat held-out lines, write other "
            f"ones: {repeated}"
        )


# ---------------------------------------------------------------- fixture tree

TAXONOMY = {
    "info": {"wage_minimum": "Minimum wage.", "complaint_filing": "Complaints."},
    "urgent": {"urgent_trapped": "Cannot leave."},
    "dialog": {"greet": "Hello."},
}


def _lang_files(lang: str) -> dict[str, Any]:
    return {
        f"content/{lang}/topics.yml": {
            "language": lang,
            "topics": {
                "wage_minimum": {
                    "title": "Minimum wage",
                    "answer": "At least {fact:min_wage_bangkok} baht. Ask {hotline:dlpw_1546}.",
                    "reviewed": REV,
                },
                "complaint_filing": {
                    "title": "Complaints",
                    "answer": "Call {hotline:dlpw_1546}.",
                    "reviewed": REV,
                },
                "urgent_trapped": {
                    "title": "Cannot leave",
                    "steps": ["Call {hotline:police_191}.", "Stay safe."],
                    "handover": "A person will contact you if you say yes.",
                    "reviewed": REV,
                },
            },
        },
        f"content/{lang}/examples.yml": {
            "language": lang,
            "intents": {
                "wage_minimum": [f"wage question {i}" for i in range(20)],
                "complaint_filing": [f"complaint question {i}" for i in range(20)],
                "urgent_trapped": [f"help me {i}" for i in range(30)],
                "greet": [f"hello {i}" for i in range(10)],
            },
            "urgent_keywords": {"urgent_trapped": ["locked in"]},
            "menu_words": ["menu"],
        },
        f"content/{lang}/ui.yml": {
            "language": lang,
            "reviewed": REV,
            "strings": {"welcome": "Hello.", "help_now": "In danger? Call {number}."},
        },
    }


def valid_tree() -> dict[str, Any]:
    files: dict[str, Any] = {
        "nlu/intents.yml": TAXONOMY,
        "content/facts.yml": {
            "facts": {
                "min_wage_bangkok": {
                    "value": "400",
                    "unit": "THB/day",
                    "effective": "2025-07-01",
                    "source": SRC,
                    "reviewed": REV,
                }
            }
        },
        "content/hotlines.yml": {
            "hotlines": {
                hid: {
                    "number": number,
                    "owner": "Owner",
                    "hours": "unknown",
                    "languages": ["th"],
                    "purpose": "Help",
                    "source": SRC,
                    "reviewed": REV,
                }
                for hid, number in (("dlpw_1546", "1546"), ("police_191", "191"))
            }
        },
        "content/topics.yml": {
            "topics": {
                "wage_minimum": {
                    "kind": "info",
                    "related": ["complaint_filing"],
                    "sources": [SRC],
                    "reviewed": REV,
                },
                "complaint_filing": {
                    "kind": "info",
                    "related": ["wage_minimum"],
                    "sources": [SRC],
                    "reviewed": REV,
                },
                "urgent_trapped": {
                    "kind": "urgent",
                    "related": [],
                    "hotlines": ["police_191"],
                    "services": ["legal_aid"],
                    "sources": [SRC],
                    "reviewed": REV,
                },
            }
        },
        "content/organisations.yml": {
            "organisations": {
                "org": {
                    "name": "Org",
                    "provinces": ["national"],
                    "languages": ["my"],
                    "sectors": ["all"],
                    "services": ["legal_aid"],
                    "contacts": [],
                    "source": SRC,
                    "verified": False,
                }
            }
        },
    }
    for lang in LANGUAGES:
        files.update(_lang_files(lang))
    return files


def write_tree(root: Path, files: dict[str, Any]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return root


def problems_after(tmp_path: Path, mutate: Callable[[dict[str, Any]], None]) -> list[str]:
    files = valid_tree()
    mutate(files)
    return check_content(write_tree(tmp_path / "repo", files))


def test_valid_fixture_has_no_problems(tmp_path: Path) -> None:
    assert check_content(write_tree(tmp_path / "repo", valid_tree())) == []


def _topic(files: dict[str, Any], lang: str, ident: str) -> dict[str, Any]:
    return files[f"content/{lang}/topics.yml"]["topics"][ident]


def _set_answer(lang: str, text: str) -> Callable[[dict[str, Any]], None]:
    def mutate(files: dict[str, Any]) -> None:
        _topic(files, lang, "wage_minimum")["answer"] = text

    return mutate


# (mutation, expected fragment of one problem)
FAILURES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "topic without content in one language": (
        lambda f: f["content/km/topics.yml"]["topics"].pop("complaint_filing"),
        "content/km/topics.yml: complaint_filing: no content in km",
    ),
    "title too long": (
        lambda f: _topic(f, "th", "wage_minimum").update(title="x" * 21),
        "title: 21 characters",
    ),
    "answer too long after placeholders": (
        _set_answer("en", "a" * 597 + " {hotline:dlpw_1546}"),  # 602 when filled
        "answer: 602 characters with placeholders filled (max 600)",
    ),
    "fact without source": (
        lambda f: f["content/facts.yml"]["facts"]["min_wage_bangkok"].pop("source"),
        "content/facts.yml: min_wage_bangkok: missing source",
    ),
    "fact without reviewed": (
        lambda f: f["content/facts.yml"]["facts"]["min_wage_bangkok"].pop("reviewed"),
        "content/facts.yml: min_wage_bangkok: missing reviewed",
    ),
    "hotline without source": (
        lambda f: f["content/hotlines.yml"]["hotlines"]["dlpw_1546"].pop("source"),
        "content/hotlines.yml: dlpw_1546: missing source",
    ),
    "hotline without reviewed": (
        lambda f: f["content/hotlines.yml"]["hotlines"]["police_191"].pop("reviewed"),
        "content/hotlines.yml: police_191: missing reviewed",
    ),
    "topic without sources": (
        lambda f: f["content/topics.yml"]["topics"]["wage_minimum"].update(sources=[]),
        "content/topics.yml: wage_minimum: needs at least one source",
    ),
    "topic without reviewed": (
        lambda f: f["content/topics.yml"]["topics"]["wage_minimum"].pop("reviewed"),
        "content/topics.yml: wage_minimum: missing reviewed",
    ),
    "language topic without reviewed": (
        lambda f: _topic(f, "lo", "wage_minimum").pop("reviewed"),
        "content/lo/topics.yml: wage_minimum: missing reviewed",
    ),
    "bare hotline number": (_set_answer("en", "Call 1546 now."), "bare number '1546'"),
    "phone number with spaces and hyphens": (
        _set_answer("my", "Call 1-800-010 180."),
        "bare number '1-800-010 180'",
    ),
    "phone number in Thai digits": (_set_answer("th", "โทร ๑๕๔๖"), "bare number '๑๕๔๖'"),
    "url in text": (_set_answer("en", "See https://example.org/x."), "URL or web address"),
    "web address without scheme": (_set_answer("km", "See labour.go.th today."), "labour.go.th"),
    "number in ui string": (
        lambda f: f["content/th/ui.yml"]["strings"].update(welcome="Call 1694"),
        "content/th/ui.yml: welcome: bare number",
    ),
    "unresolved hotline placeholder": (
        _set_answer("en", "Call {hotline:nope_123}."),
        "placeholder {hotline:nope_123} does not resolve",
    ),
    "unresolved fact placeholder": (
        _set_answer("lo", "Pay {fact:nope}."),
        "placeholder {fact:nope} does not resolve",
    ),
    "unknown placeholder kind": (_set_answer("en", "Hi {name}."), "unknown placeholder {name}"),
    "related id that does not exist": (
        lambda f: f["content/topics.yml"]["topics"]["wage_minimum"].update(related=["nope"]),
        "related id nope does not exist",
    ),
    "too few info examples": (
        lambda f: f["content/en/examples.yml"]["intents"].update(wage_minimum=["a"] * 25),
        "content/en/examples.yml: wage_minimum has 1 distinct examples (needs 20)",
    ),
    "too few urgent examples": (
        lambda f: f["content/my/examples.yml"]["intents"]["urgent_trapped"].pop(),
        "urgent_trapped has 29 distinct examples (needs 30)",
    ),
    "dialog intent without examples": (
        lambda f: f["content/th/examples.yml"]["intents"].pop("greet"),
        "content/th/examples.yml: greet has 0 distinct examples (needs 10)",
    ),
    "ui key missing": (
        lambda f: f["content/km/ui.yml"]["strings"].pop("welcome"),
        "content/km/ui.yml: missing key welcome",
    ),
    "ui placeholder differs from English": (
        lambda f: f["content/lo/ui.yml"]["strings"].update(help_now="Call {numbre}."),
        "content/lo/ui.yml: help_now placeholders ['numbre'] differ from English ['number']",
    ),
    "urgent topic without steps": (
        lambda f: _topic(f, "en", "urgent_trapped").update(steps=[]),
        "urgent_trapped: urgent topic needs 1 to 3 steps",
    ),
    "urgent topic with four steps": (
        lambda f: _topic(f, "th", "urgent_trapped").update(steps=["a", "b", "c", "d"]),
        "urgent_trapped: urgent topic needs 1 to 3 steps",
    ),
    "urgent topic without handover": (
        lambda f: _topic(f, "my", "urgent_trapped").pop("handover"),
        "urgent_trapped handover: missing or empty text",
    ),
    "urgent metadata with unknown hotline": (
        lambda f: f["content/topics.yml"]["topics"]["urgent_trapped"].update(hotlines=["x_1"]),
        "hotline x_1 not in content/hotlines.yml",
    ),
    "urgent metadata with unknown service": (
        lambda f: f["content/topics.yml"]["topics"]["urgent_trapped"].update(services=["spa"]),
        "unknown service spa",
    ),
    "topic metadata missing": (
        lambda f: f["content/topics.yml"]["topics"].pop("complaint_filing"),
        "content/topics.yml: topic complaint_filing missing",
    ),
}


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_each_failure_kind_is_detected(tmp_path: Path, name: str) -> None:
    mutate, expected = FAILURES[name]
    problems = problems_after(tmp_path, mutate)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("lang", LANGUAGES)
def test_missing_language_is_detected(tmp_path: Path, lang: str) -> None:
    files = {k: v for k, v in valid_tree().items() if not k.startswith(f"content/{lang}/")}
    problems = check_content(write_tree(tmp_path / "repo", files))
    assert f"content/{lang}/: language missing" in problems


def test_missing_file_in_language_is_detected(tmp_path: Path) -> None:
    problems = problems_after(tmp_path, lambda f: f.pop("content/th/examples.yml"))
    assert "content/th/examples.yml: file missing" in problems


def test_yaml_that_does_not_parse_is_reported(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", valid_tree())
    (root / "content" / "km" / "topics.yml").write_text("topics: [unclosed", "utf-8")
    assert any("content/km/topics.yml: does not parse" in p for p in check_content(root))


def test_titles_count_grapheme_clusters_not_code_points() -> None:
    assert grapheme_count("ค่าจ้าง") == 5  # Thai "wage": 7 code points
    assert grapheme_count("လုပ်ခ") == 3  # Burmese: 5 code points


def test_title_of_20_clusters_passes_though_longer_in_code_points(tmp_path: Path) -> None:
    title = "ค่าจ้าง" * 4  # 28 code points, 20 grapheme clusters
    problems = problems_after(
        tmp_path, lambda f: _topic(f, "th", "wage_minimum").update(title=title)
    )
    assert problems == []


def test_answer_is_measured_with_placeholders_filled(tmp_path: Path) -> None:
    text = "a" * 595 + " {hotline:dlpw_1546}"  # 615 as written, 600 when filled
    assert problems_after(tmp_path, _set_answer("en", text)) == []


def test_numbers_below_four_digits_and_placeholders_are_allowed(tmp_path: Path) -> None:
    text = "Work 8 hours, 48 a week, 1-3 years: 90 days. Call {hotline:dlpw_1546}."
    assert problems_after(tmp_path, _set_answer("en", text)) == []


def test_taxonomy_falls_back_to_shared_then_env(tmp_path: Path, monkeypatch: Any) -> None:
    files = valid_tree()
    files.pop("nlu/intents.yml")
    root = write_tree(tmp_path / "repo", files)
    monkeypatch.delenv("TOPICS_FILE", raising=False)
    other = write_tree(tmp_path / "elsewhere", {"topics.yml": TAXONOMY}) / "topics.yml"
    monkeypatch.setenv("TOPICS_FILE", str(other))
    assert taxonomy_path(root) == other
    assert check_content(root) == []
    write_tree(tmp_path, {"shared/topics.yml": TAXONOMY})
    assert taxonomy_path(root) == tmp_path / "shared" / "topics.yml"


def test_cli_exit_codes(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", valid_tree())
    cmd = [sys.executable, "-m", "bot.content_check", str(root)]
    ok = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (root / "content" / "lo" / "topics.yml").unlink()
    bad = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert "content/lo/topics.yml: file missing" in bad.stdout
