"""Text normalisation before language detection and NLU (stand-in until the NLU issue lands)."""

from __future__ import annotations

import unicodedata

from nlu.types import Normalized


def normalize(text: str, max_chars: int = 4000) -> Normalized:
    cleaned = unicodedata.normalize("NFC", text).strip()
    truncated = len(cleaned) > max_chars
    return Normalized(text=cleaned[:max_chars], truncated=truncated)
