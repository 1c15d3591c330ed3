"""The outbox: replies wait here until a channel has delivered them, exactly once.

A row is claimed (state "sending") before the platform call and finished after it. If a
process dies during the call nobody can know whether the platform got it, so a row found
in "sending" after its lease is retried only on channels whose sends are idempotent
(LINE push with X-Line-Retry-Key, the web chat) and only if its first part was not due to
go by reply token; otherwise it goes to the dead-letter state "unknown", counted in
metrics, rather than risk a second copy. A call that timed out
is the same uncertainty seen from a live process: the channel says so
(`SendResult.uncertain`) and the row goes to "unknown" too. A reply of several messages
records how many the platform took (`parts_sent`), so a retry does not repeat them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import metrics
from bot.crypto import Vault
from bot.messages import Button, Reply
from bot.storage import leases
from bot.storage.models import Message, OutboxMessage, utcnow

BUSY_STATE = "sending"  # claimed for a platform call, under its lease


@dataclass(frozen=True, slots=True)
class Recipient:
    pseudonym: str
    user_id: str  # raw platform id
    address: dict[str, Any]
    language: str
    contact_id: int | None
    last_seen: datetime | None = None


def encode_payload(vault: Vault, recipient: Recipient, replies: list[Reply]) -> bytes:
    return vault.encrypt_json(
        {
            "user_id": recipient.user_id,
            "address": recipient.address,
            "language": recipient.language,
            "last_seen": recipient.last_seen.isoformat() if recipient.last_seen else None,
            # By hand: dataclasses.asdict deep-copies every field (8 % of a button's CPU).
            "replies": [
                {
                    "text": r.text,
                    "buttons": [{"label": b.label, "payload": b.payload} for b in r.buttons],
                }
                for r in replies
            ],
        }
    )


def decode_payload(vault: Vault, token: bytes) -> dict[str, Any]:
    data = vault.decrypt_json(token)
    data["replies"] = tuple(
        Reply(text=r["text"], buttons=tuple(Button(**b) for b in r["buttons"]))
        for r in data["replies"]
    )
    data["last_seen"] = datetime.fromisoformat(data["last_seen"]) if data["last_seen"] else None
    return data


@dataclass(slots=True)
class Queued:
    # None while the row waits in `Deliveries`, and after if its key was taken already.
    outbox_id: int | None
    sent: bool  # written already delivered (see `enqueue`)


@dataclass(frozen=True, slots=True)
class SentLog:
    """The message-log entry of a delivery written already sent (`log_sent`'s values)."""

    conversation_id: int
    sender: str
    replies: Sequence[Reply]
    language: str


class Deliveries:
    """Deliveries added while a batch of events is handled, stored together at its end.

    One INSERT for all of them: stored one by one, each was a statement of its own and
    made SQLAlchemy flush the event's other rows first, one more statement each. Ids and
    message-log entries come when `store` runs, in the same transaction, before the commit.
    """

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._waiting: list[tuple[dict[str, Any], Queued, SentLog | None]] = []

    def add(self, row: dict[str, Any], sent: bool, log: SentLog | None) -> Queued:
        queued = Queued(None, sent)
        self._waiting.append((row, queued, log))
        return queued

    async def store(self, session: AsyncSession) -> list[SentLog]:
        """Insert them; the message-log entries owed for those stored already sent."""
        if not self._waiting:
            return []
        rows = [row for row, _, _ in self._waiting]
        inserted = await leases.insert_new(session, OutboxMessage, rows, ("id", "idempotency_key"))
        ids = {key: row_id for row_id, key in inserted}
        owed = []
        for row, queued, log in self._waiting:
            queued.outbox_id = ids.get(row["idempotency_key"])
            if queued.outbox_id is not None and log is not None:
                owed.append(log)
        self._waiting = []
        return owed


async def enqueue(
    session: AsyncSession,
    vault: Vault,
    *,
    key: str,
    platform: str,
    recipient: Recipient,
    conversation_id: int | None,
    replies: list[Reply],
    reply_token: str | None = None,
    sender: str = "bot",
    delivered_when_stored: bool = False,
    waiting: bool | None = None,
    deliveries: Deliveries | None = None,
) -> Queued | None:
    """Add a delivery unless one with the same idempotency key exists; None if it did.

    `delivered_when_stored`: the channel's send is this row itself (the web chat, whose
    event stream reads sent rows), so it is written already sent, with its message-log
    entry, in the caller's transaction: no outbox claim and no send transaction. Not while
    an older delivery to the same recipient still waits: the stream reads sent rows in id
    order and would skip it, so this one then queues behind it like any other. `waiting`:
    whether one waits, where the caller read it already (`deliveries_waiting`, for a
    batch); asked here otherwise. `deliveries`: the row joins them, to be stored with the
    others of the batch (its `Queued` gets its id then).
    """
    if delivered_when_stored and waiting is None:
        waiting = bool(await deliveries_waiting(session, platform, [recipient.pseudonym]))
    sent = delivered_when_stored and not waiting
    row: dict[str, Any] = {
        "idempotency_key": key,
        "platform": platform,
        "recipient": recipient.pseudonym,
        "contact_id": recipient.contact_id,
        "conversation_id": conversation_id,
        "payload_enc": encode_payload(vault, recipient, replies),
        "reply_token": reply_token,
        "sender": sender,
        # Every row names the same columns: an executemany takes its columns from the
        # first row and would drop these from the others.
        "state": "sent" if sent else "pending",
        "sent_at": utcnow() if sent else None,
    }
    log = None
    if sent and conversation_id is not None:
        log = SentLog(conversation_id, sender, replies, recipient.language)
    if deliveries is not None:
        return deliveries.add(row, sent, log)
    own = Deliveries(vault)
    queued = own.add(row, sent, log)
    for owed in await own.store(session):
        log_sent(session, vault, owed)
    return queued if queued.outbox_id is not None else None


# Built once, run with parameters (bot.storage.leases says why).
DELIVERIES_WAITING = (
    select(OutboxMessage.recipient)
    .where(
        OutboxMessage.platform == bindparam("platform"),
        OutboxMessage.recipient.in_(bindparam("recipients", expanding=True)),
        OutboxMessage.state.in_(("pending", BUSY_STATE)),
    )
    .distinct()
)


async def deliveries_waiting(
    session: AsyncSession, platform: str, recipients: list[str]
) -> set[str]:
    """Those of the recipients (pseudonyms) on the platform with a delivery still waiting."""
    parameters = {"platform": platform, "recipients": recipients}
    return set(await session.scalars(DELIVERIES_WAITING, parameters))


def sent_message(vault: Vault, log: SentLog) -> dict[str, Any]:
    """The conversation's record of a delivered reply (what the console shows)."""
    return {
        "conversation_id": log.conversation_id,
        "direction": "out",
        "sender": log.sender,
        "text_enc": vault.encrypt_text("\n\n".join(r.text for r in log.replies)),
        "intent": None,  # the same columns as an incoming message's: one executemany
        "language": log.language,
    }


def log_sent(session: AsyncSession, vault: Vault, log: SentLog) -> None:
    session.add(Message(**sent_message(vault, log)))


async def expire_interrupted(session: AsyncSession, idempotent_platforms: set[str]) -> int:
    """Rows whose sender died mid-send: retry where safe, else dead-letter as unknown."""
    now = utcnow()
    stuck = and_(OutboxMessage.state == BUSY_STATE, OutboxMessage.locked_until < now)
    # A reply token has no retry key and is refused once used, after which the channel
    # pushes instead: retrying a first part that may have gone by token could send it twice.
    safe = and_(
        OutboxMessage.platform.in_(idempotent_platforms),
        or_(OutboxMessage.reply_token.is_(None), OutboxMessage.parts_sent > 0),
    )
    retried = await session.execute(
        update(OutboxMessage)
        .where(stuck, safe)
        .values(state="pending", locked_until=None, available_at=now)
        .execution_options(synchronize_session=False)
    )
    dead = await session.execute(
        update(OutboxMessage)
        .where(stuck, not_(safe))
        .values(state="unknown", locked_until=None, last_error="interrupted during send")
        .execution_options(synchronize_session=False)
    )
    if dead.rowcount:
        metrics.DEAD_LETTERS.labels("outbox", "interrupted").inc(dead.rowcount)
    return retried.rowcount + dead.rowcount


async def claim(session: AsyncSession, batch: int, lease: float) -> list[leases.Claimed]:
    return await leases.claim(
        session,
        OutboxMessage,
        busy_state=BUSY_STATE,
        batch=batch,
        lease=lease,
        reclaim_expired=False,
        in_order_of="recipient",
    )


async def mark_sent(session: AsyncSession, row_id: int, lease_end: datetime) -> bool:
    return await leases.finish(
        session, OutboxMessage, row_id, lease_end, state="sent", sent_at=utcnow()
    )


async def mark_retry(
    session: AsyncSession,
    row_id: int,
    lease_end: datetime,
    delay: float,
    error: str,
    parts_sent: int,
) -> None:
    await leases.finish(
        session,
        OutboxMessage,
        row_id,
        lease_end,
        state="pending",
        available_at=utcnow() + timedelta(seconds=delay),
        last_error=error[:200],
        parts_sent=parts_sent,
    )


async def mark_unknown(
    session: AsyncSession, row_id: int, lease_end: datetime, error: str, parts_sent: int
) -> None:
    """The platform may have the message or not: dead-letter it, never send it again."""
    metrics.DEAD_LETTERS.labels("outbox", "uncertain").inc()
    await leases.finish(
        session,
        OutboxMessage,
        row_id,
        lease_end,
        state="unknown",
        last_error=error[:200],
        parts_sent=parts_sent,
    )


async def mark_dead(session: AsyncSession, row_id: int, lease_end: datetime, error: str) -> None:
    metrics.DEAD_LETTERS.labels("outbox", error[:40]).inc()
    await leases.finish(
        session, OutboxMessage, row_id, lease_end, state="dead", last_error=error[:200]
    )
