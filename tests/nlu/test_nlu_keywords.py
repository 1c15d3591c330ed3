from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nlu.keywords import URGENT_CONFIDENCE, KeywordClassifier
from nlu.rasa_env import CONTENT_DIR
from nlu.types import LANGUAGES

FIXTURES = Path(__file__).parent / "fixtures" / "content"


def urgent_ids(content: Path) -> list[str]:
    meta = content / "topics.yml"
    if meta.is_file():
        topics = (yaml.safe_load(meta.read_text()) or {}).get("topics") or {}
        ids = [i for i, t in topics.items() if (t or {}).get("kind") == "urgent"]
        if ids:
            return ids
    ids: set[str] = set()
    for lang in LANGUAGES:
        path = content / lang / "examples.yml"
        if path.is_file():
            data = yaml.safe_load(path.read_text()) or {}
            ids.update(i for i in data.get("intents") or {} if i.startswith("urgent_"))
    return sorted(ids)


def content_dirs() -> list[Path]:
    dirs = [FIXTURES]
    if any((CONTENT_DIR / lang / "examples.yml").is_file() for lang in LANGUAGES):
        dirs.append(CONTENT_DIR)
    return dirs


async def test_urgent_burmese_message(keyword_classifier: KeywordClassifier) -> None:
    pred = await keyword_classifier.classify("ကယ်ပါ သူဌေးက ကျွန်မကို ရိုက်နေတယ်", "my")
    assert (pred.intent, pred.source) == ("urgent_violence", "keywords")
    assert pred.confidence == URGENT_CONFIDENCE


@pytest.mark.parametrize(
    ("text", "language", "intent"),
    [
        ("ถูกขังอยู่ในห้อง ช่วยด้วย", "th", "urgent_trapped"),
        ("ខ្ញុំ ចេញ មិន បាន", "km", "urgent_trapped"),  # spaces inside the keyword
        ("ຫົວໜ້າທຳຮ້າຍຂ້ອຍ", "lo", "urgent_violence"),
        ("they are HITTING ME", "en", "urgent_violence"),
        # the language guess is wrong (stored en), the Burmese keyword still matches
        ("အဆောင်ထဲမှာ သော့ခတ်ထားတယ်", "en", "urgent_trapped"),
    ],
)
def test_urgent_keywords(
    keyword_classifier: KeywordClassifier, text: str, language: str, intent: str
) -> None:
    assert keyword_classifier.predict(text, language).intent == intent


def test_latin_keywords_match_whole_words(keyword_classifier: KeywordClassifier) -> None:
    assert not keyword_classifier.predict("white meat", "en").intent.startswith("urgent_")


@pytest.mark.parametrize(
    ("text", "language"),
    [("menu", "en"), ("MENU!", "en"), ("เมนู", "th"), ("မီနူး", "my"), ("ម៉ឺនុយ", "km"), ("ເມນູ", "lo")],
)
def test_menu_words(keyword_classifier: KeywordClassifier, text: str, language: str) -> None:
    pred = keyword_classifier.predict(text, language)
    assert (pred.intent, pred.confidence) == ("menu", 0.9)


@pytest.mark.parametrize(
    ("text", "language", "intent"),
    [
        ("นายจ้างไม่จ่ายเงินเดือน", "th", "wage_unpaid"),
        ("လစာ မရဘူး", "my", "wage_unpaid"),
        ("ថៅកែមិនបើកប្រាក់ខែ", "km", "wage_unpaid"),
        ("ນາຍຈ້າງຍຶດໜັງສືຜ່ານແດນ", "lo", "documents_retained"),
        ("boss took my passport", "en", "documents_retained"),
        ("work permit renew", "en", "work_permit"),
    ],
)
def test_topic_match(
    keyword_classifier: KeywordClassifier, text: str, language: str, intent: str
) -> None:
    pred = keyword_classifier.predict(text, language)
    assert pred.intent == intent
    assert 0.35 <= pred.confidence < URGENT_CONFIDENCE
    assert pred.ranking[0] == (pred.intent, pred.confidence)


@pytest.mark.parametrize("text", ["what is the weather", "🙂", "zzzz qqqq"])
def test_out_of_scope_with_low_confidence(keyword_classifier: KeywordClassifier, text: str) -> None:
    pred = keyword_classifier.predict(text, "en")
    assert pred.intent == "out_of_scope"
    assert pred.confidence <= 0.3


@pytest.mark.parametrize("content", content_dirs(), ids=lambda p: p.name)
def test_every_urgent_intent_has_working_keywords_in_every_language(content: Path) -> None:
    """The safety net: each urgent keyword, alone, yields its own urgent intent."""
    clf = KeywordClassifier.from_content(content)
    ids = urgent_ids(content)
    assert ids
    for lang in LANGUAGES:
        path = content / lang / "examples.yml"
        if not path.is_file():
            continue
        keywords = (yaml.safe_load(path.read_text()) or {}).get("urgent_keywords") or {}
        for intent in ids:
            assert keywords.get(intent), f"{lang}: no urgent_keywords for {intent}"
            for word in keywords[intent]:
                got = clf.predict(word, lang).intent
                assert got == intent, f"{lang}: keyword {word!r} of {intent} gives {got}"


@pytest.fixture(scope="module")
def real_content_classifier() -> KeywordClassifier:
    return KeywordClassifier.from_content(CONTENT_DIR)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("บัตรจะยังใช้ได้ไหม", "th"),  # "จะยัง" (still) is not the keyword "จะยิง" (will shoot)
        ("ถูกตัดเงินเดือน", "th"),  # "ถูกตัด" (cut) is not "ถูกตี" (beaten)
        ("ພາສາອັງກິດ", "lo"),  # "English language" is not "ງູກັດ" (snake bite)
    ],
)
def test_vowel_and_tone_marks_count_in_keywords(
    real_content_classifier: KeywordClassifier, text: str, language: str
) -> None:
    """Words that differ only in their vowel or tone marks are different words."""
    assert real_content_classifier.urgent_match(text, language) is None


@pytest.mark.parametrize(
    ("text", "language", "urgent"),
    [
        # Thai words in the Khmer and Lao lists must be as precise as the Thai list's own:
        ("โดนไล่ออกไม่ได้ค่าชดเชย", "km", None),  # fired, no severance ("ไล่ออก" + "ไม่ได้")
        ("ถ้าถูกจับมีสิทธิอะไรบ้าง", "lo", None),  # "if I am arrested": a question
        ("พาสปอร์ตตกน้ำ เปื่อยหมด", "lo", None),  # the passport fell in the water
        ("ขังไว้ในห้อง ออกไปไม่ได้", "km", "urgent_trapped"),
        ("เพื่อนถูกจับแล้ว", "lo", "urgent_detained"),
        ("มีคนตกน้ำ", "lo", "urgent_at_sea"),
    ],
)
def test_thai_words_in_other_languages_lists_are_precise(
    real_content_classifier: KeywordClassifier, text: str, language: str, urgent: str | None
) -> None:
    assert real_content_classifier.urgent_match(text, language) == urgent


@pytest.mark.parametrize(
    ("text", "language", "urgent"),
    [
        ("boss locked from outside we cant go", "en", "urgent_trapped"),
        ("water coming in the boat", "en", "urgent_at_sea"),
        ("ទឹកចូលទូក ជួយផង", "km", "urgent_at_sea"),  # water is coming into the boat, help
        ("ប្តីខ្ញុំក្អួតឈាម", "km", "urgent_medical"),  # my husband is vomiting blood
        # ordinary questions near urgent words
        ("i give up my job how get severance", "en", None),
        ("tired of living in camp, want change employer", "en", None),
        ("is the stable job visa good", "en", None),  # "stab" only as a word
        ("ថៅកែចាក់សោប៉ាស្ព័រក្នុងទូ", "km", None),  # the boss locked my passport in a cupboard
        ("ប៉ាស្ព័រធ្លាក់ទឹក ខូចអស់", "km", None),  # my passport fell in water, it is ruined
    ],
)
def test_english_and_khmer_urgent_phrases(
    real_content_classifier: KeywordClassifier, text: str, language: str, urgent: str | None
) -> None:
    assert real_content_classifier.urgent_match(text, language) == urgent
