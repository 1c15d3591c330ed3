"""Segmentation tests; run in the Rasa venv: .venv-rasa/bin/python -m pytest nlu/rasa/tests"""

from __future__ import annotations

import pytest

from nlu.rasa.components.segment import myanmar_syllables, script_runs, segment, words


def _offsets_ok(text: str) -> None:
    for word, start in segment(text):
        assert text[start : start + len(word)] == word


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("นายจ้างไม่จ่ายเงินเดือน", ["นายจ้าง", "ไม่", "จ่ายเงินเดือน"]),
        ("ถูกยึดพาสปอร์ต", ["ถูก", "ยึด", "พาสปอร์ต"]),
        ("ນາຍຈ້າງບໍ່ຈ່າຍເງິນ", ["ນາຍຈ້າງ", "ບໍ່", "ຈ່າຍເງິນ"]),
        ("ថៅកែមិនបើកប្រាក់ខែ", ["ថៅកែ", "មិន", "បើក", "ប្រាក់ខែ"]),
        (
            "ကျွန်တော့်ကို သူဌေးက ရိုက်နေတယ်။",
            ["ကျွန်", "တော့်", "ကို", "သူ", "ဌေး", "က", "ရိုက်", "နေ", "တယ်"],
        ),
        ("My boss took my passport!", ["My", "boss", "took", "my", "passport"]),
    ],
)
def test_segment_each_script(text: str, expected: list[str]) -> None:
    assert words(text) == expected
    _offsets_ok(text)


def test_mixed_scripts_each_run_by_its_rules() -> None:
    text = "passport ถูกยึด ပတ်စ်ပို့ ថៅកែ ບໍ່ 500 baht"
    assert [k for k, _, _ in script_runs(text)] == [
        "other",
        "th",
        "my",
        "km",
        "lo",
        "other",
        "other",
    ]
    assert words(text) == ["passport", "ถูก", "ยึด", "ပတ်စ်", "ပို့", "ថៅកែ", "ບໍ່", "500", "baht"]
    _offsets_ok(text)


def test_no_space_between_scripts() -> None:
    assert words("OTไม่จ่าย") == ["OT", "ไม่", "จ่าย"]


def test_burmese_syllables_stacked_consonants_and_digits() -> None:
    # stacked consonant (virama) stays in its syllable; digits stay one token
    assert [s for s, _ in myanmar_syllables("ပစ္စည်းကမ္ဘာ")] == ["ပစ္စည်း", "ကမ္ဘာ"]
    assert [s for s, _ in myanmar_syllables("၂၀၂၄ခုနှစ်")] == ["၂၀၂၄", "ခု", "နှစ်"]
    assert [s for s, _ in myanmar_syllables("ဥပဒေ")] == ["ဥ", "ပ", "ဒေ"]


def test_shan_letters_break_as_consonants() -> None:
    # Shan: "ၵူၼ်း" (person) - U+1075 and U+107C are consonants
    assert [s for s, _ in myanmar_syllables("ၵူၼ်း")] == ["ၵူၼ်း"]


def test_emoji_and_punctuation_are_not_tokens() -> None:
    assert segment("😀!! ...") == []


def test_tokenizer_component_in_rasa() -> None:
    from rasa.shared.nlu.training_data.message import Message

    from nlu.rasa.components.multiscript_tokenizer import MultiScriptTokenizer

    tok = MultiScriptTokenizer(MultiScriptTokenizer.get_default_config())
    msg = Message(data={"text": "นายจ้างไม่จ่าย wage"})
    tokens = tok.tokenize(msg, "text")
    assert [t.text for t in tokens] == ["นายจ้าง", "ไม่", "จ่าย", "wage"]
    assert [(t.start, t.end) for t in tokens] == [(0, 7), (7, 10), (10, 14), (15, 19)]
    assert [t.text for t in tok.tokenize(Message(data={"text": "🙏"}), "text")] == ["🙏"]
