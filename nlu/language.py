"""Language detection (stand-in: script blocks only, until the NLU issue lands)."""

from __future__ import annotations

from nlu.types import LanguageGuess

_SCRIPT_RANGES = (
    ("th", 0x0E00, 0x0E7F),
    ("lo", 0x0E80, 0x0EFF),
    ("my", 0x1000, 0x109F),
    ("km", 0x1780, 0x17FF),
)


def detect_language(text: str, stored: str | None = None) -> LanguageGuess:
    counts = dict.fromkeys(("th", "lo", "my", "km"), 0)
    latin = 0
    for ch in text:
        code = ord(ch)
        if ch.isascii() and ch.isalpha():
            latin += 1
            continue
        for lang, lo, hi in _SCRIPT_RANGES:
            if lo <= code <= hi:
                counts[lang] += 1
    best = max(counts, key=lambda k: counts[k])
    if counts[best]:
        return LanguageGuess(best)
    if latin >= 3:
        return LanguageGuess("en")
    return LanguageGuess(stored or "und")
