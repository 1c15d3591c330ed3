from __future__ import annotations

import regex

from nlu.normalize import normalize, truncate_clusters


def test_nfc_and_strip() -> None:
    assert normalize("  cafe\u0301 \n").text == "café"
    out = normalize("\u0e19\u0e49\u0e33")  # Thai "water" is already NFC
    assert out.text == "น้ำ"
    assert not out.truncated
    assert not out.was_zawgyi


def test_zawgyi_is_converted() -> None:
    out = normalize("  ကယ္ပါ သူေဌးက ႐ိုက္ေနတယ္ ")
    assert out.text == "ကယ်ပါ သူဌေးက ရိုက်နေတယ်"
    assert out.was_zawgyi


def test_truncation_never_splits_a_cluster() -> None:
    text = "ကျွန်တော် ရိုက်"
    clusters = regex.findall(r"\X", text)
    assert clusters[:2] == ["ကျွ", "န်"]  # consonant + medials + vowel/asat stay together
    boundaries = {0}
    for c in clusters:
        boundaries.add(max(boundaries) + len(c))
    for n in range(len(text) + 1):
        cut = truncate_clusters(text, n)
        assert len(cut) <= n
        assert text.startswith(cut)
        assert len(cut) in boundaries
        assert len(cut) == max(b for b in boundaries if b <= n)
    assert truncate_clusters(text, 4) == "ကျွ"
    assert truncate_clusters(text, 5) == "ကျွန်"


def test_normalize_truncates_thai_khmer_and_emoji_at_boundaries() -> None:
    out = normalize("น้ำท่วม", max_chars=2)  # น้ำ is one cluster of 3 code points
    assert out.truncated
    assert out.text == ""
    out = normalize("น้ำท่วม", max_chars=3)
    assert (out.text, out.truncated) == ("น้ำ", True)
    family = "👨\u200d👩\u200d👧"
    out = normalize("hi " + family, max_chars=6)
    assert (out.text, out.truncated) == ("hi", True)
    out = normalize("ខ្ញុំ", max_chars=4)  # one Khmer cluster of 5 code points
    assert out.text == "" and out.truncated


def test_exact_length_is_not_truncated() -> None:
    out = normalize("hello", max_chars=5)
    assert (out.text, out.truncated) == ("hello", False)
