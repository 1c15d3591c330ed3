"""Text normalisation before language detection and NLU.

NFC, Zawgyi to Unicode when myanmartools says so, trimmed, and cut to at most
``max_chars`` code points without splitting a grapheme cluster.
"""

from __future__ import annotations

import unicodedata

import regex

from nlu.types import Normalized
from nlu.zawgyi import DEFAULT_THRESHOLD, to_unicode

_CLUSTER = regex.compile(r"\X")


def truncate_clusters(text: str, max_chars: int) -> str:
    """The longest prefix of whole grapheme clusters with at most max_chars code points."""
    if len(text) <= max_chars:
        return text
    end = 0
    for m in _CLUSTER.finditer(text):
        if m.end() > max_chars:
            break
        end = m.end()
    return text[:end]


def normalize(
    text: str, max_chars: int = 4000, zawgyi_threshold: float = DEFAULT_THRESHOLD
) -> Normalized:
    cleaned, was_zawgyi = to_unicode(unicodedata.normalize("NFC", text).strip(), zawgyi_threshold)
    truncated = len(cleaned) > max_chars
    if truncated:
        cleaned = truncate_clusters(cleaned, max_chars).rstrip()
    return Normalized(text=cleaned, was_zawgyi=was_zawgyi, truncated=truncated)


def has_words(text: str) -> bool:
    """Emoji-, digit- and punctuation-only messages carry no question."""
    return any(ch.isalpha() for ch in text)
