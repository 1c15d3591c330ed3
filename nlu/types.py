"""The types the bot and the NLU agree on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

LANGUAGES: tuple[str, ...] = ("en", "th", "my", "km", "lo")


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    was_zawgyi: bool = False
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    language: str  # one of LANGUAGES or "und"
    # Myanmar-script text that looks like Shan, Mon or Karen: answered in Burmese with an
    # offer to switch language.
    other_myanmar_language: bool = False


@dataclass(frozen=True, slots=True)
class Prediction:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    source: str = "keywords"  # "rasa" or "keywords"


class IntentClassifier(Protocol):
    async def classify(self, text: str, language: str) -> Prediction: ...

    async def healthy(self) -> bool: ...
