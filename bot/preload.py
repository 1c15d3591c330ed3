"""What handling a batch of events reads first, read for the whole batch at once.

Every event's handling starts with the same reads: its sender's contact (an upsert), the
contact's latest conversation, and whether a delivery to the contact still waits. Read one
event at a time, they were three statements of each event's seven on the button path;
read for the batch, they are three statements in all. The claim takes at most one event
per sender (`bot.storage.leases.claim`), so no two events of a batch share these rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.contacts import SenderKey, contacts_for, conversations_for, sender_of
from bot.messages import EventKind, Incoming
from bot.outbox import deliveries_waiting
from bot.services import Services
from bot.storage.models import Contact, Conversation


@dataclass(frozen=True, slots=True)
class Preloaded:
    contacts: dict[SenderKey, Contact]
    conversations: dict[int, Conversation]  # by contact id; none for an unfollow
    waiting: set[tuple[str, str]]  # (platform, pseudonym) with a delivery still waiting

    def covers(self, event: Incoming) -> bool:
        return sender_of(event) in self.contacts


async def preload(services: Services, session: AsyncSession, events: list[Incoming]) -> Preloaded:
    """In the handling transaction, before the events' handlers run."""
    settings = services.settings
    contacts = await contacts_for(session, services.vault, settings.pseudonym_key, events)
    talking = [event for event in events if event.kind is not EventKind.UNFOLLOW]
    conversations = await conversations_for(
        session, [contacts[sender_of(event)].id for event in talking]
    )
    waiting: set[tuple[str, str]] = set()
    for platform in {event.platform for event in talking}:
        channel = services.channels.get(platform)
        if channel is not None and channel.delivered_when_stored:  # only they ask
            recipients = [
                contacts[sender_of(event)].pseudonym
                for event in talking
                if event.platform == platform
            ]
            found = await deliveries_waiting(session, platform, recipients)
            waiting.update((platform, recipient) for recipient in found)
    return Preloaded(contacts, conversations, waiting)
