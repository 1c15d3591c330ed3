"""Property tests: normalisation, language detection and every channel's parse never crash
on any input, and keep their promises (bounded, idempotent, 400 or events)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nlu.language import detect_language
from nlu.normalize import normalize
from nlu.types import LANGUAGES
from tests.fuzz.targets import channels, parse_or_reject

# Scripts the bot meets, weighted so Myanmar (incl. Zawgyi-range code points), Thai, Lao and
# Khmer, combining marks and odd whitespace come up often, plus anything at all.
SCRIPTS = st.one_of(
    st.characters(min_codepoint=0x1000, max_codepoint=0x109F),  # Myanmar
    st.characters(min_codepoint=0x0E00, max_codepoint=0x0EFF),  # Thai, Lao
    st.characters(min_codepoint=0x1780, max_codepoint=0x17FF),  # Khmer
    st.characters(min_codepoint=0xAA60, max_codepoint=0xAA7F),  # Myanmar Extended-A
    st.sampled_from(" \t\n\r\u200b\u200c\u200d\ufeff\u00a0\u0301\u0e31\u102d"),
    st.characters(),
)
TEXT = st.text(SCRIPTS, max_size=600) | st.text(max_size=200)
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(text=TEXT, limit=st.integers(min_value=1, max_value=700))
@example(text="က" * 10 + "\u1031" * 5, limit=3)
@example(text="\u200b" * 50, limit=100)
def test_normalize_is_bounded_and_idempotent(text: str, limit: int) -> None:
    once = normalize(text, limit)
    assert isinstance(once.text, str)
    assert len(once.text) <= limit
    assert once.text == once.text.strip()
    twice = normalize(once.text, limit)
    assert not twice.truncated
    if not once.truncated:  # a prefix of a text may read as another encoding
        assert twice.text == once.text
        assert not twice.was_zawgyi


# Found by atheris (docs/fuzzing.md): short mixed text judged Zawgyi was converted, and the
# converted text judged Zawgyi again and converted differently.
def test_normalize_is_idempotent_after_zawgyi_conversion() -> None:
    once = normalize("\u0200\u107b\u24ff\x00\u102f\u1000", 481)
    assert normalize(once.text, 481).text == once.text


@FUZZ
@given(text=TEXT, stored=st.sampled_from([None, "und", "xx", *LANGUAGES]))
def test_detect_language_always_answers_a_known_code(text: str, stored: str | None) -> None:
    guess = detect_language(text, stored)
    assert guess.language in {*LANGUAGES, "und"}
    assert isinstance(guess.other_myanmar_language, bool)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=25,
)
# Bodies shaped like each platform's, so the fuzzer gets past the first checks.
SHAPED = st.fixed_dictionaries(
    {},
    optional={
        "session": st.uuids().map(str) | TEXT,
        "id": st.uuids().map(str) | TEXT,
        "text": TEXT | JSON,
        "payload": TEXT | JSON,
        "start": JSON,
        "events": st.lists(JSON, max_size=3),  # LINE
        "update_id": st.integers(),  # Telegram
        "message": JSON,
        "callback_query": JSON,
        "object": st.just("page") | TEXT,  # Messenger
        "entry": st.lists(JSON, max_size=3),
    },
)
CHANNELS = channels()


@pytest.mark.parametrize("name", sorted(CHANNELS))
@FUZZ
@given(body=st.binary(max_size=2000))
def test_parse_random_bytes(name: str, body: bytes) -> None:
    parse_or_reject(CHANNELS[name], body)


@pytest.mark.parametrize("name", sorted(CHANNELS))
@FUZZ
@given(value=JSON | SHAPED)
def test_parse_random_json(name: str, value: object) -> None:
    parse_or_reject(CHANNELS[name], json.dumps(value).encode())


# Found by this file: an `entry` item that was not an object raised TypeError (a 500, and
# Meta retries) instead of a 400.
@pytest.mark.skipif("messenger" not in CHANNELS, reason="no Messenger channel in this build")
def test_messenger_entry_that_is_not_an_object_is_a_400() -> None:
    parse_or_reject(CHANNELS["messenger"], b'{"object": "page", "entry": [null]}')


def test_webchat_parse_accepts_a_good_body() -> None:
    body = {"session": "0" * 8 + "-0000-4000-8000-" + "0" * 12, "id": "1" * 32, "text": "hi"}
    events = parse_or_reject(CHANNELS["webchat"], json.dumps(body).encode())
    assert events and events[0].text == "hi"
