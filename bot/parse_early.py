"""Rasa's answers asked as soon as a webhook of this process takes a question.

In the embedded default the worker that handles the event runs in this process. Asked by
the worker (bot.parse_ahead), the parse waits for the inbox insert, the wake-up and the
worker's claim, each with its commit: at 4 messages a second about 5 ms, a third of the
bot's own time per message. Asked here, the parse runs while they happen. The worker
takes an answer only for the same event and the very text it would send; anything else is
asked as before, so an answer asked early changes when Rasa is asked, never what for.

The worker's bounds hold here too: at most PARALLEL_PARSES asked early at once (a burst
waits for the worker instead of queueing at Rasa), and no more per sender in a minute
than the flood limit, which the worker applies before it asks (a flood is answered
without the NLU). An answer nobody took within a minute (the event was a redelivery, or
another process claimed it) is dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import metrics
from bot.config import Settings
from bot.messages import EventKind, Incoming
from nlu.normalize import has_words, normalize
from nlu.types import IntentClassifier, Prediction

if TYPE_CHECKING:  # bot.services holds one of these
    from bot.services import Services

# Rasa parses one message at a time: a short queue keeps each call far from the client's
# timeout, which would open the circuit breaker for everyone.
PARALLEL_PARSES = 4
KEEP_SECONDS = 60.0
SWEEP_SECONDS = 1.0  # how often answers and counts older than KEEP_SECONDS are dropped

# The pipeline's own test of a command word (bot.pipeline.command_word), handed in: the
# pipeline imports this module's users.
CommandWord = Callable[[str], str | None]


def question_text(settings: Settings, event: Incoming, command_word: CommandWord) -> str | None:
    """The normalised text the pipeline would send to the NLU, if it looks like a question."""
    if event.kind is not EventKind.TEXT:
        return None
    text = normalize(event.text, settings.max_text_chars, settings.zawgyi_threshold).text
    if not has_words(text) or command_word(text) is not None:
        return None
    return text


async def timed_classify(
    classifier: IntentClassifier, text: str, language: str = "und"
) -> Prediction:
    """The NLU's answer, its latency counted in the metrics (asked early, ahead or by the
    pipeline alike)."""
    started = time.perf_counter()
    prediction = await classifier.classify(text, language)
    metrics.NLU_LATENCY.labels(prediction.source).observe(time.perf_counter() - started)
    return prediction


@dataclass(frozen=True, slots=True)
class EarlyAnswer:
    text: str
    answer: asyncio.Task[Prediction]
    asked_at: float


class EarlyParses:
    def __init__(self, services: Services, command_word: CommandWord) -> None:
        self.services, self.command_word = services, command_word
        self._answers: dict[tuple[str, str], EarlyAnswer] = {}  # by (platform, event id)
        self._asked_per_sender: dict[tuple[str, str], deque[float]] = {}
        self._in_flight = 0
        self._next_sweep = 0.0

    def ask(self, events: list[Incoming]) -> None:
        """Start the parse of each question among a webhook request's events."""
        now = time.monotonic()
        if now >= self._next_sweep:
            self._forget_before(now - KEEP_SECONDS)
            self._next_sweep = now + SWEEP_SECONDS
        for event in events:
            if self._in_flight >= PARALLEL_PARSES:
                return
            text = question_text(self.services.settings, event, self.command_word)
            if text is None or not self._within_flood_limit((event.platform, event.user_id), now):
                continue
            self._in_flight += 1
            answer = asyncio.create_task(self._classify(text))
            answer.add_done_callback(_retrieve)
            self._answers[(event.platform, event.event_id)] = EarlyAnswer(text, answer, now)

    def take(self, event: Incoming, text: str) -> asyncio.Task[Prediction] | None:
        """The answer asked for this event, if it was for this text; each is taken once."""
        early = self._answers.pop((event.platform, event.event_id), None)
        return early.answer if early is not None and early.text == text else None

    def close(self) -> None:
        for early in self._answers.values():
            early.answer.cancel()
        self._answers.clear()

    async def _classify(self, text: str) -> Prediction:
        try:
            return await timed_classify(self.services.classifier, text)
        finally:
            self._in_flight -= 1

    def _within_flood_limit(self, sender: tuple[str, str], now: float) -> bool:
        asked = self._asked_per_sender.setdefault(sender, deque())
        if len(asked) >= self.services.settings.max_messages_per_minute:
            return False
        asked.append(now)
        return True

    def _forget_before(self, oldest: float) -> None:
        for key in [k for k, early in self._answers.items() if early.asked_at < oldest]:
            self._answers.pop(key).answer.cancel()
        for sender in list(self._asked_per_sender):
            asked = self._asked_per_sender[sender]
            while asked and asked[0] < oldest:
                asked.popleft()
            if not asked:
                del self._asked_per_sender[sender]


def _retrieve(answer: asyncio.Task[Prediction]) -> None:
    # A failure is the worker's to handle (it asks again); read here, it is not reported
    # as "never retrieved" when nobody takes the answer.
    if not answer.cancelled():
        answer.exception()
