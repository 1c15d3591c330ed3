"""Zawgyi detection (myanmartools) and conversion to Unicode (ICU "Zawgyi-my")."""

from __future__ import annotations

import logging
import math
import threading
import unicodedata
from functools import lru_cache
from typing import Any

DEFAULT_THRESHOLD = 0.95

log = logging.getLogger(__name__)

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _detector() -> Any:
    from myanmartools import ZawgyiDetector

    return ZawgyiDetector()


@lru_cache(maxsize=1)
def _transliterator() -> Any:
    import icu  # PyICU (pyicu-binary or PyICU)

    return icu.Transliterator.createInstance("Zawgyi-my")


def has_myanmar(text: str) -> bool:
    return any("\u1000" <= ch <= "\u109f" for ch in text)


def zawgyi_probability(text: str) -> float:
    """Probability that the Myanmar-script text is Zawgyi; 0.0 for text without any."""
    if not has_myanmar(text):
        return 0.0
    p = float(_detector().get_zawgyi_probability(text))
    return 0.0 if math.isinf(p) or math.isnan(p) else p


def is_zawgyi(text: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
    return zawgyi_probability(text) >= threshold


def zawgyi_to_unicode(text: str) -> str:
    # ICU transliterators are not documented as thread-safe; the bot is async, but be safe.
    with _lock:
        return str(_transliterator().transliterate(text))


def to_unicode(text: str, threshold: float = DEFAULT_THRESHOLD) -> tuple[str, bool]:
    """(text in Unicode, whether it was converted from Zawgyi); a converted text comes back
    NFC and trimmed, like the text `normalize` hands in.

    Kept as it came unless the detector calls it Zawgyi, and also when:
    - the conversion changes nothing: it reads the same in both encodings (short words
      such as "မရဘူး", which the detector scores 0.97), so the contact is not told their
      phone uses Zawgyi;
    - the result still reads as Zawgyi: no evidence either (fuzzing found short mixed text
      converted twice, differently); keeping it makes normalising twice change nothing;
    - the converter fails: a message must never be lost to its encoding.
    """
    if not is_zawgyi(text, threshold):
        return text, False
    try:
        converted = unicodedata.normalize("NFC", zawgyi_to_unicode(text)).strip()
    except Exception as exc:
        # PyICU raises SystemError on some supplementary-plane text next to Myanmar letters
        # (found by atheris).
        log.warning("zawgyi: conversion failed (%s); text kept as it came", type(exc).__name__)
        return text, False
    if converted == text or is_zawgyi(converted, threshold):
        return text, False
    return converted, True
