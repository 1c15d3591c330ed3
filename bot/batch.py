"""What the events of one handled batch share: their first reads, read for all of them at
once, and their deliveries, stored all at once.

Every event's handling starts with the same reads: its sender's contact (an upsert), the
contact's latest conversation, and whether a delivery to the contact still waits; and
ends with its reply's outbox row. One event at a time, these were four statements of the
seven of a button, and each made SQLAlchemy flush the rows the event had added so far.
For a batch they are four statements in all, and the rows the handlers add (message log,
contact changes) are flushed together. The claim takes at most one event per sender
(`bot.storage.leases.claim`), so no two events of a batch share these rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.contacts import SenderKey, contacts_for, conversations_for, sender_of
from bot.messages import EventKind, Incoming
from bot.outbox import Deliveries, deliveries_waiting, sent_message
from bot.services import Services
from bot.storage.models import Contact, Conversation, InboxEvent, Message, utcnow

# The message log's rows need no ids back: one executemany, where ORM objects went in one
# INSERT ... RETURNING each on SQLite.
INSERT_MESSAGES = insert(Message)

# For each text event: its sender's events received in the last minute, up to this one (the
# flood limit counts them; one statement for the batch instead of one each).
_older = aliased(InboxEvent)
RECENT_MESSAGES = select(
    InboxEvent.id,
    select(func.count())
    .where(
        _older.sender == InboxEvent.sender,
        _older.received_at >= bindparam("since"),
        _older.id <= InboxEvent.id,
    )
    .correlate(InboxEvent)
    .scalar_subquery(),
).where(InboxEvent.id.in_(bindparam("ids", expanding=True)))


@dataclass(slots=True)
class Batch:
    contacts: dict[SenderKey, Contact]
    conversations: dict[int, Conversation]  # by contact id; none for an unfollow
    waiting: set[tuple[str, str]]  # (platform, pseudonym) with a delivery still waiting
    recent: dict[int, int]  # by inbox id, for text events: see RECENT_MESSAGES
    deliveries: Deliveries = field(repr=False)
    messages: list[dict[str, Any]] = field(default_factory=list, repr=False)  # to log

    def covers(self, event: Incoming) -> bool:
        return sender_of(event) in self.contacts

    def log_message(self, row: dict[str, Any]) -> None:
        """A row of the message log, written with the batch's deliveries."""
        self.messages.append(row)

    async def finish(self, session: AsyncSession) -> None:
        """After the batch's last event, before its commit: the deliveries, then the message
        log (each conversation's incoming message before the reply to it)."""
        owed = await self.deliveries.store(session)
        vault = self.deliveries.vault
        rows = [*self.messages, *(sent_message(vault, log) for log in owed)]
        self.messages = []
        if rows:
            await session.execute(INSERT_MESSAGES, rows)


async def start_batch(
    services: Services, session: AsyncSession, events: list[tuple[int, Incoming]]
) -> Batch:
    """In the handling transaction, before the events' handlers run; `events` by inbox id."""
    settings = services.settings
    incoming = [event for _, event in events]
    contacts = await contacts_for(session, services.vault, settings.pseudonym_key, incoming)
    talking = [event for event in incoming if event.kind is not EventKind.UNFOLLOW]
    texts = [inbox_id for inbox_id, event in events if event.kind is EventKind.TEXT]
    recent: dict[int, int] = {}
    if texts:
        parameters = {"ids": texts, "since": utcnow() - timedelta(minutes=1)}
        recent.update((await session.execute(RECENT_MESSAGES, parameters)).tuples().all())
    conversations = await conversations_for(
        session, [contacts[sender_of(event)].id for event in talking]
    )
    waiting: set[tuple[str, str]] = set()
    for platform in {event.platform for event in talking}:
        channel = services.channels.get(platform)
        if channel is not None and channel.delivered_when_stored:  # only they ask
            senders = [sender_of(event) for event in talking if event.platform == platform]
            recipients = [contacts[sender].pseudonym for sender in senders]
            found = await deliveries_waiting(session, platform, recipients)
            waiting.update((platform, recipient) for recipient in found)
    return Batch(contacts, conversations, waiting, recent, Deliveries(services.vault))
