"""Rasa's answers for a claimed batch, asked side by side before the batch's transaction.

Asked inside the transaction, each parse (10-70 ms here, 3 s at the timeout) held the
database's write lock: on SQLite every webhook insert waited for it, and the events of a
batch waited for one parse after another. The pipeline uses an answer fetched here only if
it was for the very text it is about to classify; anything else (a text not fetched, the
keyword fallback's answers, which depend on the language the pipeline settles on) is
classified inside the transaction as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, func, select

from bot import metrics
from bot.crypto import pseudonym
from bot.messages import EventKind, Incoming
from bot.services import Services
from bot.storage.models import InboxEvent, utcnow
from nlu.normalize import has_words, normalize
from nlu.types import Prediction

# Rasa parses one message at a time: a short queue keeps each call far from the client's
# timeout, which would open the circuit breaker for everyone.
PARALLEL_PARSES = 4


@dataclass(frozen=True, slots=True)
class Parsed:
    text: str  # the normalised text that was classified
    prediction: Prediction


# The pipeline's own test of a command word (bot.pipeline.command_word), handed in by the
# worker: the pipeline imports this module.
CommandWord = Callable[[str], str | None]


def question_text(services: Services, event: Incoming, command_word: CommandWord) -> str | None:
    """The normalised text the pipeline would send to the NLU, if it looks like a question."""
    if event.kind is not EventKind.TEXT:
        return None
    settings = services.settings
    text = normalize(event.text, settings.max_text_chars, settings.zawgyi_threshold).text
    if not has_words(text) or command_word(text) is not None:
        return None
    return text


# Built once, run with parameters (bot.storage.leases says why).
MESSAGES_SINCE_BY_SENDER = (
    select(InboxEvent.sender, func.count())
    .where(
        InboxEvent.sender.in_(bindparam("senders", expanding=True)),
        InboxEvent.received_at >= bindparam("since"),
    )
    .group_by(InboxEvent.sender)
)


async def flooding_senders(services: Services, senders: set[str]) -> set[str]:
    """Senders over the per-minute limit: the pipeline answers them without the NLU."""
    parameters = {"senders": list(senders), "since": utcnow() - timedelta(minutes=1)}
    async with services.db() as session:
        rows = await session.execute(MESSAGES_SINCE_BY_SENDER, parameters)
    limit = services.settings.max_messages_per_minute
    return {sender for sender, count in rows if count > limit}


async def parse_ahead(
    services: Services, events: dict[int, Incoming], command_word: CommandWord
) -> dict[int, Parsed]:
    """Inbox row id -> Rasa's answer, for the events that look like questions."""
    texts = {
        row_id: text
        for row_id, event in events.items()
        if (text := question_text(services, event, command_word)) is not None
    }
    if not texts:
        return {}
    key = services.settings.pseudonym_key
    sender_of = {i: pseudonym(key, events[i].platform, events[i].user_id) for i in texts}
    flooding = await flooding_senders(services, set(sender_of.values()))
    texts = {i: text for i, text in texts.items() if sender_of[i] not in flooding}
    gate = asyncio.Semaphore(PARALLEL_PARSES)

    async def classify(text: str) -> Prediction:
        async with gate:
            started = time.perf_counter()
            prediction = await services.classifier.classify(text, "und")
            metrics.NLU_LATENCY.labels(prediction.source).observe(time.perf_counter() - started)
            return prediction

    # A classifier that raises leaves that text to the pipeline, where the failure is
    # recorded on the event's own row instead of stopping the whole batch here.
    predictions = await asyncio.gather(
        *(classify(text) for text in texts.values()), return_exceptions=True
    )
    return {
        row_id: Parsed(text, prediction)
        for (row_id, text), prediction in zip(texts.items(), predictions, strict=True)
        if isinstance(prediction, Prediction) and prediction.source == "rasa"
    }
