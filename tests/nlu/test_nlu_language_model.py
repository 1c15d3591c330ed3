"""nlu.language's sparse langdetect model gives langdetect's own probabilities, bit for bit.

The reference is langdetect's stock DetectorFactory and Detector loaded with the same 31
Latin-script profiles (langdetect's dense model, a list of floats per n-gram); the texts
are every Latin-script text of the repository that reaches langdetect (nlu/eval and the
content's examples, long enough and not decided by the common English words), and a few
odd ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlu.language import (
    _EN_WORDS,
    LATIN_PROFILES,
    MIN_LATIN_LETTERS,
    MIN_LATIN_WORDS,
    _detector_factory,
)
from nlu.rasa_env import CONTENT_DIR
from nlu.types import LANGUAGES
from nlu.yamlio import load_yaml

ROOT = Path(__file__).resolve().parents[2]


def latin_texts() -> list[str]:
    paths = sorted((ROOT / "nlu" / "eval").glob("*.yml"))
    paths += [CONTENT_DIR / lang / "examples.yml" for lang in LANGUAGES]
    texts: set[str] = set()
    for path in paths:
        if not path.is_file():
            continue
        for items in ((load_yaml(path) or {}).get("intents") or {}).values():
            texts.update(str(t) for t in items or [])
    out = []
    for text in sorted(texts):
        letters = sum(1 for ch in text if ch.isalpha())
        if letters and all(ord(ch) < 0x250 for ch in text if ch.isalpha()):
            words = [w for w in text.split() if any(c.isalpha() for c in w)]
            if len(words) >= MIN_LATIN_WORDS and letters >= MIN_LATIN_LETTERS:
                out.append(text)
    return [t for t in out if not _decided_by_common_words(t)]


def _decided_by_common_words(text: str) -> bool:
    """latin_is_english's first rule, which answers without langdetect."""
    words = [w.strip('.,!?;:"()').lower() for w in text.split()]
    common = sum(w in _EN_WORDS for w in words)
    return common >= 2 and common * 4 >= len(words)


@pytest.fixture(scope="module")
def stock_factory():  # type: ignore[no-untyped-def]
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.set_seed(0)
    profiles = [(Path(PROFILES_DIRECTORY) / lang).read_text("utf-8") for lang in LATIN_PROFILES]
    factory.load_json_profile(profiles)
    return factory


def probabilities(factory, text: str) -> list[tuple[str, float]] | str:  # type: ignore[no-untyped-def]
    from langdetect.lang_detect_exception import LangDetectException

    detector = factory.create()
    detector.append(text)
    try:
        return [(lang.lang, lang.prob) for lang in detector.get_probabilities()]
    except LangDetectException as error:
        return f"error: {error}"


def test_same_model(stock_factory) -> None:  # type: ignore[no-untyped-def]
    sparse = _detector_factory()
    assert sparse.langlist == stock_factory.langlist == list(LATIN_PROFILES)
    assert sparse.word_lang_prob_map.keys() == stock_factory.word_lang_prob_map.keys()


def test_same_probabilities_on_every_latin_text(stock_factory) -> None:  # type: ignore[no-untyped-def]
    odd = ["ok ok ok ok ok ok", "1234 5678 !!!! ????", "Œuvre ǅemal Ǆ ß straße naïve café"]
    # every third text (all 2,325 of them agreed when this was written; 25 s of CPU)
    texts = [*latin_texts()[::3], *odd, "Mingalaba, kyay zu tin ba de", "sawasdee krub, pom mai"]
    assert len(texts) > 500
    differ = []
    sparse = _detector_factory()
    for text in texts:
        got, want = probabilities(sparse, text), probabilities(stock_factory, text)
        if got != want:
            differ.append((text, got, want))
    assert not differ, json.dumps(differ[:3], ensure_ascii=False)
