"""Pure text helpers shared by the channels: split long answers, shorten button labels.

Lengths are measured in UTF-16 code units by default. That is what Telegram counts, and it
is never less than the code-point count LINE and Messenger use, so a part that fits in
UTF-16 fits everywhere. Thai, Lao, Khmer and Burmese are all in the Basic Multilingual
Plane, so for them the two counts agree; only emoji and rare symbols count double.

Nothing here cuts inside a grapheme cluster (regex ``\\X``): a Burmese stacked consonant,
a Thai consonant with its vowel and tone marks, or an emoji sequence stays whole.
"""

from __future__ import annotations

from collections.abc import Callable

import regex

Length = Callable[[str], int]

ELLIPSIS = "…"

# Where a sentence ends, as a zero-width position to cut at (the whitespace after it is
# dropped when the parts are stripped).
_SENTENCE_END = regex.compile(
    r"""
      (?<=\n)(?=\S)                              # after a line break
    | (?<=[.!?…。][)"'”’\]]*)(?=\s)            # Latin/CJK enders before whitespace
    | (?<=[\u104B\u17D4\u17D5])                # Burmese ။ , Khmer ។ ៕ (no space needed)
    | (?<=[\u0E00-\u0EFF]ฯ?)(?=\s+[\u0E00-\u0EFF])  # Thai / Lao: a space between clauses
    """,
    regex.VERBOSE,
)
_WORD_END = regex.compile(r"(?<=\S)(?=\s)|(?<=[\u104A\u17D6])")  # space, Burmese ၊, Khmer ៖
_GRAPHEME = regex.compile(r"\X")


_LEADING_SPACE = regex.compile(r"^(?:\s(?![\p{M}\u200d]))+")
_TRAILING_SPACE = regex.compile(r"\s+$")


def strip(text: str) -> str:
    """str.strip that keeps a space carrying a combining mark (one grapheme cluster)."""
    return _TRAILING_SPACE.sub("", _LEADING_SPACE.sub("", text))


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what Telegram counts)."""
    return len(text.encode("utf-16-le")) // 2


def grapheme_boundaries(text: str) -> list[int]:
    """Offsets (in code points) where a grapheme cluster ends, ascending, ending at len(text)."""
    return [m.end() for m in _GRAPHEME.finditer(text)]


def _fit(text: str, limit: int, length: Length) -> int:
    """The longest prefix (an offset at a grapheme boundary) whose length is <= limit.

    Assumes `length` is additive over concatenation (true for code points, UTF-16, UTF-8).
    """
    best = used = 0
    for m in _GRAPHEME.finditer(text):
        used += length(m.group())
        if used > limit:
            break
        best = m.end()
    return best


def split_text(text: str, limit: int, length: Length = utf16_len) -> list[str]:
    """Split `text` into parts of at most `limit` units, preferring sentence boundaries.

    Preference within each part: the last sentence end (line break, ".", "!", "?", "။",
    "។", a space between Thai or Lao clauses), else the last space, else the last grapheme
    boundary. Parts are stripped; empty parts are dropped; no text is lost except the
    whitespace at a cut.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = strip(text)
    while rest:
        if length(rest) <= limit:
            parts.append(rest)
            break
        window = _fit(rest, limit, length)
        if window == 0:  # a single grapheme longer than the limit: cannot happen in practice
            window = grapheme_boundaries(rest)[0]
        cut = _last_cut(rest, window)
        part, rest = strip(rest[:cut]), strip(rest[cut:])
        if part:
            parts.append(part)
    return parts


def _last_cut(text: str, window: int) -> int:
    """Best place to cut `text` at or before offset `window` (a grapheme boundary)."""
    boundaries = set(grapheme_boundaries(text[: window + 1]))
    boundaries.add(window)
    for pattern in (_SENTENCE_END, _WORD_END):
        cuts = [
            m.start()
            for m in pattern.finditer(text, 0, min(len(text), window + 200))
            if 0 < m.start() <= window and m.start() in boundaries
        ]
        if cuts:
            return cuts[-1]
    return window


def shorten(text: str, limit: int, length: Length = utf16_len) -> str:
    """Shorten `text` to at most `limit` units by whole grapheme clusters, adding "…"."""
    text = strip(text)
    if length(text) <= limit:
        return text
    room = limit - length(ELLIPSIS)
    if room <= 0:
        return text[: _fit(text, limit, length)]
    return strip(text[: _fit(text, room, length)]) + ELLIPSIS


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes (Telegram's callback_data limit is in bytes)."""
    return len(text.encode("utf-8"))
