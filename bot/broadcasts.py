"""Broadcasts: announcements to workers who opted in to a topic (handlers.subscriptions).

An admin writes the text in all five languages, picks the audience (topic, optionally a
province and a language) and schedules it (bot.console.broadcasts). The worker's periodic
jobs call `send_due_broadcasts`, which walks the audience in contact-id order, a batch per
transaction, and enqueues one outbox row per contact with the key f"bc:{id}:{contact_id}".
The batch and the broadcast's cursor commit together, and the key is unique, so a worker
that dies half-way resumes where it stopped and never sends anyone the message twice.

Platform rules:
- LINE: every broadcast message is a push and counts against the monthly quota. When a
  broadcast starts it takes the month's remaining quota as its budget; contacts beyond it
  are skipped (counted as `skipped_quota`). The console shows the cost before scheduling.
- Messenger: only inside 24 hours of the worker's last message (no message tags); others
  are skipped and counted as `skipped_window`.
- Telegram and the web chat: no limit (Telegram pacing is the channel's job).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.contacts import recipient_of
from bot.logs import get_logger
from bot.messages import Button, Reply
from bot.outbox import enqueue
from bot.services import Services
from bot.storage.models import (
    Broadcast,
    ChannelCounter,
    Contact,
    OutboxMessage,
    Subscription,
    aware,
    utcnow,
)
from nlu.types import LANGUAGES

log = get_logger("broadcasts")

TOPICS = ("wage_changes", "registration_deadlines", "social_security_changes")
MESSENGER_WINDOW = timedelta(hours=24)
# Characters one message may hold on each platform (longer texts are split by the channel,
# but a broadcast should fit in one).
PLATFORM_LIMITS = {"line": 5000, "telegram": 4096, "messenger": 2000, "webchat": 4000}
DEFAULT_BATCH = 200
# Per call of the periodic job (once a minute), so the worker keeps draining its queues.
DEFAULT_MAX_BATCHES = 10


def key_of(broadcast_id: int, contact_id: int) -> str:
    return f"bc:{broadcast_id}:{contact_id}"


def missing_languages(texts: dict[str, Any]) -> list[str]:
    return [lang for lang in LANGUAGES if not str(texts.get(lang) or "").strip()]


def audience_filter(topic: str, province: str | None, language: str | None) -> list[Any]:
    """WHERE clauses of the contacts a broadcast reaches (join Subscription to Contact)."""
    clauses: list[Any] = [
        Subscription.topic == topic,
        Contact.active.is_(True),
        Contact.erase_requested_at.is_(None),
    ]
    if province:
        clauses.append(Contact.province == province)
    if language:
        clauses.append(Contact.language == language)
    return clauses


async def audience_by_platform(
    session: AsyncSession, topic: str, province: str | None, language: str | None
) -> dict[str, int]:
    """How many subscribers a broadcast would reach, per platform (counts only)."""
    rows = await session.execute(
        select(Contact.platform, func.count(func.distinct(Contact.id)))
        .join(Subscription, Subscription.contact_id == Contact.id)
        .where(*audience_filter(topic, province, language))
        .group_by(Contact.platform)
    )
    return {platform: int(n) for platform, n in rows.all()}


def line_period(services: Services, now: datetime | None = None) -> str:
    """The LINE quota month, as the LINE channel counts it (Bangkok time by default)."""
    channel = services.channels.get("line")
    if channel is not None and hasattr(channel, "period"):
        return str(channel.period(now))
    offset = int(services.settings.section("channels.line").get("quota_utc_offset_hours", 7))
    return ((now or utcnow()) + timedelta(hours=offset)).strftime("%Y-%m")


async def line_remaining(session: AsyncSession, services: Services) -> int | None:
    """Push messages left this month; None when there is no quota."""
    quota = services.settings.section("channels.line").get("monthly_push_quota")
    if quota in (None, "", 0, "0"):
        return None
    used = await session.scalar(
        select(ChannelCounter.count).where(
            ChannelCounter.platform == "line", ChannelCounter.period == line_period(services)
        )
    )
    return max(0, int(quota) - int(used or 0))


@dataclass(frozen=True, slots=True)
class Progress:
    audience: int
    handled: int  # contacts walked so far (enqueued + skipped)
    enqueued: int
    delivered: int
    failed: int
    pending: int
    skipped_window: int
    skipped_quota: int

    @property
    def skipped(self) -> int:
        return self.skipped_window + self.skipped_quota


async def progress(session: AsyncSession, broadcast: Broadcast) -> Progress:
    states = dict(
        (
            await session.execute(
                select(OutboxMessage.state, func.count())
                .where(OutboxMessage.idempotency_key.like(f"bc:{broadcast.id}:%"))
                .group_by(OutboxMessage.state)
            )
        ).all()
    )
    delivered = int(states.get("sent", 0))
    failed = int(states.get("dead", 0)) + int(states.get("unknown", 0))
    pending = int(states.get("pending", 0)) + int(states.get("sending", 0))
    skipped = broadcast.skipped_window + broadcast.skipped_quota
    return Progress(
        audience=broadcast.audience,
        handled=broadcast.enqueued + skipped,
        enqueued=broadcast.enqueued,
        delivered=delivered,
        failed=failed,
        pending=pending,
        skipped_window=broadcast.skipped_window,
        skipped_quota=broadcast.skipped_quota,
    )


def replies_for(services: Services, broadcast: Broadcast, language: str) -> list[Reply]:
    text = str(broadcast.texts.get(language) or broadcast.texts.get("en") or "")
    stop = Button(services.content.ui(language, "subs_stop_button"), "unsub")
    return [Reply(text, (stop,))]


async def _start(session: AsyncSession, services: Services, broadcast: Broadcast) -> None:
    counts = await audience_by_platform(
        session, broadcast.topic, broadcast.province, broadcast.language
    )
    broadcast.status = "sending"
    broadcast.started_at = utcnow()
    broadcast.audience = sum(counts.values())
    broadcast.line_budget = await line_remaining(session, services)


async def _send_batch(
    session: AsyncSession, services: Services, broadcast: Broadcast, batch: int, now: datetime
) -> int:
    """Enqueue the next `batch` contacts; the number walked (0 when the audience is done)."""
    contacts = (
        (
            await session.execute(
                select(Contact)
                .join(Subscription, Subscription.contact_id == Contact.id)
                .where(
                    *audience_filter(broadcast.topic, broadcast.province, broadcast.language),
                    Contact.id > broadcast.cursor,
                )
                .order_by(Contact.id)
                .limit(batch)
            )
        )
        .scalars()
        .all()
    )
    for contact in contacts:
        broadcast.cursor = contact.id
        if contact.platform == "messenger" and (
            contact.last_seen_at is None or now - aware(contact.last_seen_at) >= MESSENGER_WINDOW
        ):
            broadcast.skipped_window += 1
            continue
        if (
            contact.platform == "line"
            and broadcast.line_budget is not None
            and broadcast.line_enqueued >= broadcast.line_budget
        ):
            broadcast.skipped_quota += 1
            continue
        language = contact.language if contact.language in LANGUAGES else "en"
        recipient = replace(recipient_of(services.vault, contact), language=language)
        added = await enqueue(
            session,
            services.vault,
            key=key_of(broadcast.id, contact.id),
            platform=contact.platform,
            recipient=recipient,
            conversation_id=None,
            replies=replies_for(services, broadcast, language),
        )
        if added:
            broadcast.enqueued += 1
            if contact.platform == "line":
                broadcast.line_enqueued += 1
    return len(contacts)


async def send_due_broadcasts(
    services: Services,
    *,
    batch: int = DEFAULT_BATCH,
    max_batches: int | None = DEFAULT_MAX_BATCHES,
    now: datetime | None = None,
) -> int:
    """Enqueue deliveries of every due broadcast; returns how many contacts were walked.

    Safe in several workers at once: each batch locks its broadcast row (FOR UPDATE on
    PostgreSQL) and the outbox key drops any duplicate."""
    now = now or utcnow()
    walked = 0
    batches = 0
    async with services.db() as session:
        due = (
            (
                await session.execute(
                    select(Broadcast.id)
                    .where(
                        Broadcast.status.in_(("scheduled", "sending")),
                        or_(Broadcast.scheduled_at.is_(None), Broadcast.scheduled_at <= now),
                    )
                    .order_by(Broadcast.scheduled_at, Broadcast.id)
                )
            )
            .scalars()
            .all()
        )
    for broadcast_id in due:
        while max_batches is None or batches < max_batches:
            async with services.db.begin() as session:
                broadcast = (
                    await session.execute(
                        select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update()
                    )
                ).scalar_one_or_none()
                if broadcast is None or broadcast.status not in ("scheduled", "sending"):
                    break
                if broadcast.status == "scheduled":
                    await _start(session, services, broadcast)
                n = await _send_batch(session, services, broadcast, batch, now)
                batches += 1
                walked += n
                if n < batch:
                    broadcast.status = "done"
                    broadcast.finished_at = utcnow()
                    log.info(
                        "broadcast_done",
                        broadcast_id=broadcast.id,
                        enqueued=broadcast.enqueued,
                        skipped=broadcast.skipped_window + broadcast.skipped_quota,
                    )
                    break
    return walked
