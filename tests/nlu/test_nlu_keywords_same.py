"""The compact keyword classifier gives exactly what the one before it gave.

nlu/keywords.py keeps its trigram profiles as an inverted index (a few MB) instead of one
dict per intent (15 MB with 12k examples), and strips characters with a translate table.
Both must be invisible: on every example, urgent keyword, menu word and topic title of the
content (and of the test fixtures), in its own language, the prediction, its confidence
and its ranking, and every topic score, are the same as
tests/nlu/keywords_before.py (the implementation before the change) gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.keywords import KeywordClassifier, _letters, ngrams
from nlu.rasa_env import CONTENT_DIR
from nlu.types import LANGUAGES
from nlu.yamlio import load_yaml
from tests.nlu import keywords_before as before

FIXTURES = Path(__file__).parent / "fixtures" / "content"


def texts_of(content: Path) -> list[tuple[str, str]]:
    """(text, language) for everything the content holds in each language."""
    out: list[tuple[str, str]] = []
    for lang in LANGUAGES:
        path = content / lang / "examples.yml"
        data = (load_yaml(path) or {}) if path.is_file() else {}
        for items in (data.get("intents") or {}).values():
            out.extend((str(t), lang) for t in items or [])
        for words in (data.get("urgent_keywords") or {}).values():
            out.extend((str(w), lang) for w in words or [])
        out.extend((str(w), lang) for w in data.get("menu_words") or [])
        path = content / lang / "topics.yml"
        topics = ((load_yaml(path) or {}).get("topics") or {}) if path.is_file() else {}
        out.extend(
            (str(t["title"]), lang)
            for t in topics.values()
            if isinstance(t, dict) and t.get("title")
        )
    return out


def contents() -> list[Path]:
    dirs = [FIXTURES]
    if any((CONTENT_DIR / lang / "examples.yml").is_file() for lang in LANGUAGES):
        dirs.append(CONTENT_DIR)
    return dirs


@pytest.mark.parametrize("content", contents(), ids=lambda p: p.name)
def test_same_profiles_and_predictions_on_every_example(content: Path) -> None:
    new = KeywordClassifier.from_content(content)
    old = before.KeywordClassifier.from_content(content)
    assert new.profiles == old.profiles
    assert list(new.profiles) == list(old.profiles)  # the order ties are broken in
    assert new.idf == old.idf
    assert new.urgent_order == old.urgent_order
    texts = texts_of(content)
    assert len(texts) > 50
    differ = []
    for text, lang in texts:
        got, want = new.predict(text, lang), old.predict(text, lang)
        if got != want:
            differ.append((text, lang, got, want))
        got_scores, want_scores = new.topic_scores(text), old.topic_scores(text)
        if got_scores != want_scores:  # all of them, not only the five of the ranking
            differ.append((text, "topic_scores", got_scores, want_scores))
    assert not differ, f"{len(differ)} of {len(texts)} differ, e.g. {differ[:3]}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙂🙂 !!",
        "MENU!",
        "ถูกตีที่ทำงาน ช่วยด้วย",
        "ເມນູ",
        "ကယ်ပါ သူဌေးက ရိုက်နေတယ်",
        "ខ្ញុំ ចេញ មិន បាន",
        "I can't get my passport back from my BOSS!!!",
        "café naïve Ǆ ǅ ß ﬁ ½ ² ٣ 〣 ⅷ",
        "\u0301\u0e31 a\u200bb\u00adc",
        "zzzz qqqq",
    ],
)
def test_same_on_odd_texts(text: str) -> None:
    new = KeywordClassifier.from_content(FIXTURES)
    old = before.KeywordClassifier.from_content(FIXTURES)
    assert _letters(text) == before._letters(text)
    assert ngrams(text) == before.ngrams(text)
    for language in ("en", "th", "und"):
        assert new.predict(text, language) == old.predict(text, language)


def test_letters_on_every_code_point_of_the_scripts() -> None:
    """The translate table keeps exactly the characters the per-character test kept."""
    for lo, hi in (
        (0, 0x250),
        (0x300, 0x370),
        (0x0E00, 0x0F00),
        (0x1000, 0x10A0),
        (0x1780, 0x1800),
        (0x19E0, 0x1A00),
        (0x2000, 0x2200),
        (0xA9E0, 0xAA80),
    ):
        chars = "".join(map(chr, range(lo, hi)))
        assert _letters(chars) == before._letters(chars)
