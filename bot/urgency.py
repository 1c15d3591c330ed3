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
    """The urgent intent if the model's best guess is urgent (at any confidence), or any
    ranked urgent intent reaches the (lower) urgent threshold, or the keyword safety net
    matches: a missed emergency costs more than a false alarm. On the held-out sets the
    first clause catches urgent messages worded unlike any example, whose confidence is
    spread over several intents, for under one point more false alarms
    (docs/nlu-report.md)."""
    if ranking and is_urgent(ranking[0][0]):
        return ranking[0][0]
    for intent, confidence in ranking:
        if is_urgent(intent) and confidence >= threshold:
            return intent
    return keywords.urgent_match(text, language) if text else None
