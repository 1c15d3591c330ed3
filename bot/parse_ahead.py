"""Rasa's answers for a claimed batch, asked side by side before the batch's transaction.

Asked inside the transaction, each parse (10-70 ms here, 3 s at the timeout) held the
database's write lock: on SQLite every webhook insert waited for it, and the events of a
batch waited for one parse after another. The pipeline uses an answer fetched here only if
it was for the very text it is about to classify; anything else (a text not fetched, the
keyword fallback's answers, which depend on the language the pipeline settles on) is
classified inside the transaction as before. An answer asked already by this process's
webhook (bot.parse_early) is taken instead of asking again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, func, select

from bot.crypto import pseudonym
from bot.messages import Incoming
from bot.parse_early import PARALLEL_PARSES, CommandWord, question_text, timed_classify
from bot.services import Services
from bot.storage.models import InboxEvent, utcnow
from nlu.types import Prediction


@dataclass(frozen=True, slots=True)
class Parsed:
    text: str  # the normalised text that was classified
    prediction: Prediction


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
        if (text := question_text(services.settings, event, command_word)) is not None
    }
    early = services.early_parses
    asked: dict[int, asyncio.Task[Prediction]] = {}
    if early is not None:
        asked = {
            row_id: answer
            for row_id, text in texts.items()
            if (answer := early.take(events[row_id], text)) is not None
        }
    key = services.settings.pseudonym_key
    sender_of = {
        i: pseudonym(key, events[i].platform, events[i].user_id) for i in texts if i not in asked
    }
    flooding = await flooding_senders(services, set(sender_of.values())) if sender_of else set()
    gate = asyncio.Semaphore(PARALLEL_PARSES)

    async def classify(text: str) -> Prediction:
        async with gate:
            return await timed_classify(services.classifier, text)

    for row_id, sender in sender_of.items():
        if sender not in flooding:
            asked[row_id] = asyncio.ensure_future(classify(texts[row_id]))
    # A classifier that raises leaves that text to the pipeline, where the failure is
    # recorded on the event's own row instead of stopping the whole batch here.
    predictions = await asyncio.gather(*asked.values(), return_exceptions=True)
    return {
        row_id: Parsed(texts[row_id], prediction)
        for row_id, prediction in zip(asked, predictions, strict=True)
        if isinstance(prediction, Prediction) and prediction.source == "rasa"
    }
