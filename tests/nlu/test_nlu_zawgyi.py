from __future__ import annotations

import pytest

from nlu.normalize import normalize
from nlu.zawgyi import is_zawgyi, to_unicode, zawgyi_probability, zawgyi_to_unicode

# (Zawgyi as typed on a Zawgyi phone, the same text in Unicode)
ZAWGYI_SENTENCES = [
    ("ျမန္မာ", "မြန်မာ"),
    ("ေက်းဇူးတင္ပါတယ္", "ကျေးဇူးတင်ပါတယ်"),
    ("သူေဌးက လစာ မေပးေသးဘူး", "သူဌေးက လစာ မပေးသေးဘူး"),
    ("ကယ္ပါ သူေဌးက ႐ိုက္ေနတယ္", "ကယ်ပါ သူဌေးက ရိုက်နေတယ်"),
    ("အလုပ္႐ွင္က ပတ္စ္ပို႔ကို သိမ္းထားတယ္", "အလုပ်ရှင်က ပတ်စ်ပို့ကို သိမ်းထားတယ်"),
    ("ကၽြန္ေတာ္ အလုပ္ထြက္လို႔မရဘူး", "ကျွန်တော် အလုပ်ထွက်လို့မရဘူး"),
]


@pytest.mark.parametrize(("zawgyi", "unicode"), ZAWGYI_SENTENCES)
def test_zawgyi_sentences_convert_exactly(zawgyi: str, unicode: str) -> None:
    assert is_zawgyi(zawgyi)
    assert zawgyi_to_unicode(zawgyi) == unicode
    assert to_unicode(zawgyi) == (unicode, True)


@pytest.mark.parametrize(("zawgyi", "unicode"), ZAWGYI_SENTENCES)
def test_unicode_burmese_is_left_alone(zawgyi: str, unicode: str) -> None:
    assert not is_zawgyi(unicode)
    assert to_unicode(unicode) == (unicode, False)


@pytest.mark.parametrize("text", ["", "hello", "นายจ้าง", "123 😀"])
def test_no_myanmar_text_is_not_zawgyi(text: str) -> None:
    assert zawgyi_probability(text) == 0.0
    assert to_unicode(text) == (text, False)


def test_threshold_is_a_parameter() -> None:
    short = "မဂၤလာပါ"  # "hello" in Zawgyi: too short for a confident call
    assert 0.5 < zawgyi_probability(short) < 0.95
    assert to_unicode(short) == (short, False)
    assert to_unicode(short, threshold=0.5) == ("မင်္ဂလာပါ", True)


@pytest.mark.parametrize("text", ["မရဘူး", "မလိုပါဘူး"])
def test_text_that_reads_the_same_in_both_encodings_is_not_called_zawgyi(text: str) -> None:
    """The detector is confident on these short Unicode words, but converting them changes
    nothing: telling the user their phone uses Zawgyi would be wrong."""
    assert is_zawgyi(text)
    assert to_unicode(text) == (text, False)


def test_text_the_converter_fails_on_is_kept_as_it_came() -> None:
    """PyICU raises SystemError on this (found by atheris): private-use supplementary-plane
    characters around one Myanmar letter, which the detector calls Zawgyi."""
    text = "\U000e0e2a\U0010ff0e\U000e0aa5\U0010fb1d\u1080\U00108044\U00104f02"
    assert is_zawgyi(text)
    assert to_unicode(text) == (text, False)
    assert normalize(text).text == text
