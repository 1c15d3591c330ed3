from __future__ import annotations

import pytest

from nlu.language import detect_language
from nlu.types import LanguageGuess


@pytest.mark.parametrize(
    ("text", "stored", "expected"),
    [
        # each script decides by itself
        ("นายจ้างไม่จ่ายเงินเดือนสองเดือนแล้ว", None, "th"),
        ("ນາຍຈ້າງບໍ່ຈ່າຍເງິນເດືອນສອງເດືອນແລ້ວ", None, "lo"),
        ("ថៅកែមិនបើកប្រាក់ខែពីរខែហើយ", None, "km"),
        ("သူဌေးက လစာ နှစ်လ မပေးသေးဘူး", None, "my"),
        ("My employer took my passport and will not give it back", None, "en"),
        # script beats the stored language
        ("สวัสดี", "my", "th"),
        ("ສະບາຍດີ", "th", "lo"),
        ("សួស្តី", "en", "km"),
        ("မင်္ဂလာပါ", "km", "my"),
        # a real English sentence switches to English even if another language is stored
        ("my boss did not pay my salary", "th", "en"),
        ("how do I renew my work permit", "my", "en"),
        # mixed: the non-Latin script wins over Latin loanwords
        ("passport ถูกยึด", "my", "th"),
        ("OT ไม่จ่าย", None, "th"),
        ("work permit ကုန်သွားပြီ", None, "my"),
        ("visa ផុតកំណត់", None, "km"),
        # short or ambiguous: the stored language
        ("ok", "lo", "lo"),
        ("hi", "my", "my"),
        ("1546", "km", "km"),
        ("😀🙏", "th", "th"),
        ("?", "my", "my"),
        # Latin that is not English (romanised Burmese, Thai karaoke): stored language
        ("sayar kyay zu tin par tal", "my", "my"),
        ("nai jang mai jai ngern duean", "th", "th"),
        # nothing known: English for Latin letters, und otherwise
        ("hello", None, "en"),
        ("1546", None, "und"),
        ("😀", None, "und"),
        ("", None, "und"),
        ("", "xx", "und"),  # an unknown stored value is ignored
    ],
)
def test_detect_language(text: str, stored: str | None, expected: str) -> None:
    assert detect_language(text, stored) == LanguageGuess(expected)


@pytest.mark.parametrize(
    "text",
    [
        "ၽႃႇသႃႇတႆး",  # Shan: "Shan language"
        "ၵူၼ်းတႆး ယူႇတီႈလႂ်",  # Shan
        "တၢ်မၤ ပှၤကညီ",  # Sgaw Karen
        "ကၠောန်ဂၠိုင်",  # Mon (medial la)
    ],
)
def test_other_myanmar_languages_are_flagged(text: str) -> None:
    assert detect_language(text) == LanguageGuess("my", other_myanmar_language=True)


def test_zawgyi_burmese_is_not_mistaken_for_shan() -> None:
    # Zawgyi reuses Shan/Karen code points (U+107D, U+1090, U+1094 ...)
    assert detect_language("ကၽြန္ေတာ္ အလုပ္ထြက္လို႔မရဘူး") == LanguageGuess("my")
