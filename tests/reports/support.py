"""Test data for reports and broadcasts: contacts with questions, cases, subscriptions."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.services import Services
from bot.storage.models import Case, Conversation, Message, Subscription, utcnow
from tests.support import new_contact


async def add_contact(
    services: Services,
    *,
    platform: str = "telegram",
    language: str = "en",
    province: str | None = "tak",
    sector: str | None = "fishing",
    topics: tuple[str, ...] = (),
    questions: dict[str, int] | None = None,
    last_seen: datetime | None = None,
    active: bool = True,
) -> int:
    """A contact; `questions` maps an intent to how many messages they sent about it."""
    async with services.db.begin() as session:
        contact = new_contact(
            services,
            platform,
            language=language,
            province=province,
            sector=sector,
            last_seen_at=last_seen or utcnow(),
            active=active,
        )
        session.add(contact)
        await session.flush()
        conversation = Conversation(contact_id=contact.id)
        session.add(conversation)
        await session.flush()
        for intent, n in (questions or {}).items():
            for _ in range(n):
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        direction="in",
                        sender="user",
                        text_enc=services.vault.encrypt_text("secret question text"),
                        intent=intent,
                        language=language,
                    )
                )
        for topic in topics:
            session.add(Subscription(contact_id=contact.id, topic=topic))
        return contact.id


async def add_case(
    services: Services,
    org_id: int,
    contact_id: int | None,
    *,
    urgent: bool = True,
    intent: str = "urgent_trapped",
    outcome: str | None = None,
    reply_minutes: float | None = None,
    province: str = "tak",
) -> int:
    now = utcnow()
    async with services.db.begin() as session:
        case = Case(
            contact_id=contact_id,
            organisation_id=org_id,
            kind="urgent" if urgent else "human",
            intent=intent,
            urgent=urgent,
            language="en",
            platform="telegram",
            province=province,
            status="closed" if outcome else "open",
            outcome=outcome,
            created_at=now - timedelta(hours=2),
            closed_at=now if outcome else None,
            first_reply_at=(now - timedelta(hours=2) + timedelta(minutes=reply_minutes))
            if reply_minutes is not None
            else None,
        )
        session.add(case)
        await session.flush()
        return case.id
