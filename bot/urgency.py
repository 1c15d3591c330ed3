"""When a message is urgent: one rule for live traffic and for `bot classify`."""

from __future__ import annotations

from collections.abc import Callable

from nlu.keywords import KeywordClassifier


def urgent_intent(
    is_urgent: Callable[[str], bool],
    keywords: KeywordClassifier,
    ranking: tuple[tuple[str, float], ...],
    text: str,
    language: str,
    threshold: float,
) -> str | None:
    """The urgent intent if any ranked urgent intent reaches the (lower) urgent threshold,
    or the keyword safety net matches: a missed emergency costs more than a false alarm.
    Not "whenever the best guess is urgent": an unknown word ("Songkhla") gets a flat
    ranking whose top may be urgent at a few percent, and a low-confidence message gets
    the clarifying buttons, urgent topic included, instead."""
    for intent, confidence in ranking:
        if is_urgent(intent) and confidence >= threshold:
            return intent
    return keywords.urgent_match(text, language) if text else None
