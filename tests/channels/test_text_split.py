"""Splitting and shortening: table cases per script, and properties over random text."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.text_split import shorten, split_text, strip, utf8_len, utf16_len

SPLITS = [
    (
        "en",
        "Hello world. This is a test! Another one here? Yes.",
        20,
        ["Hello world.", "This is a test!", "Another one here?", "Yes."],
    ),
    ("th", "สวัสดีครับ ผมชื่อสมชาย ทำงานที่ประมง", 25, ["สวัสดีครับ ผมชื่อสมชาย", "ทำงานที่ประมง"]),
    (
        "my",
        "မင်္ဂလာပါ။ ကျွန်တော်က ရေလုပ်သားပါ။ လစာမရပါ။",
        25,
        ["မင်္ဂလာပါ။", "ကျွန်တော်က ရေလုပ်သားပါ။", "လစာမရပါ။"],
    ),
    ("km", "សួស្តី។ ខ្ញុំធ្វើការនៅកសិដ្ឋាន។", 25, ["សួស្តី។", "ខ្ញុំធ្វើការនៅកសិដ្ឋាន។"]),
    ("lo", "ສະບາຍດີ ຂ້ອຍເຮັດວຽກຢູ່ໄທ. ຂ້ອຍບໍ່ໄດ້ຮັບເງິນ.", 20, ["ສະບາຍດີ", "ຂ້ອຍເຮັດວຽກຢູ່ໄທ.", "ຂ້ອຍບໍ່ໄດ້ຮັບເງິນ."]),
    (
        "paragraphs",
        "First line\nSecond line that is long",
        20,
        ["First line", "Second line that is", "long"],
    ),
    ("no-spaces", "a" * 25, 10, ["a" * 10, "a" * 10, "a" * 5]),
    ("emoji-zwj", "👨‍👩‍👧‍👦" * 3, 12, ["👨‍👩‍👧‍👦"] * 3),
    ("fits", "short", 10, ["short"]),
    ("empty", "   ", 10, []),
]


@pytest.mark.parametrize(
    ("text", "limit", "expected"), [c[1:] for c in SPLITS], ids=[c[0] for c in SPLITS]
)
def test_split_table(text: str, limit: int, expected: list[str]) -> None:
    assert split_text(text, limit) == expected


@pytest.mark.parametrize(
    ("label", "limit", "expected"),
    [
        ("Help", 20, "Help"),
        ("Wages and overtime pay", 20, "Wages and overtime…"),
        ("ကျွန်တော်က ရေလုပ်သားပါ", 10, "ကျွန်တော်…"),
        ("ค่าจ้างขั้นต่ำและค่าล่วงเวลา", 8, "ค่าจ้าง…"),
    ],
)
def test_shorten_by_grapheme(label: str, limit: int, expected: str) -> None:
    assert shorten(label, limit) == expected
    assert utf16_len(shorten(label, limit)) <= limit


def test_lengths() -> None:
    assert utf16_len("👍") == 2 and utf8_len("ပ") == 3 and utf16_len("ပ") == 1


def graphemes(text: str) -> list[str]:
    return [g for g in regex.findall(r"\X", text) if not g.isspace()]


ALPHABET = st.sampled_from(
    list("abc .!?\n")
    + list("กขคั้ิ่ ")
    + list("ကခ္ျ်ံ့း။ ")
    + list("កខ្ុំ។ ")
    + list("ກຂັ້ ")
    + ["👨‍👩‍👧", "🇹🇭", "e\u0301"]
)


@given(st.lists(ALPHABET, max_size=300).map("".join), st.integers(min_value=4, max_value=60))
def test_split_properties(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    # a part is within the limit, unless it is one grapheme longer than the limit by itself
    assert all(0 < utf16_len(p) <= limit or len(regex.findall(r"\X", p)) == 1 for p in parts)
    assert all(p == strip(p) for p in parts)
    # no text lost, and no grapheme cluster cut in two
    assert [g for p in parts for g in graphemes(p)] == graphemes(text)
