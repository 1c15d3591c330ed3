"""Retention, erasure backstop and key rotation (docs/privacy.md).

`run_retention` is idempotent: any worker may run it at any time, several at once.
- message text older than privacy.message_retention_days: `messages.text_enc` set to NULL,
  the row (time, direction, intent, language) stays for statistics;
- handled inbox rows and finished outbox rows (sent or dead-lettered) older than
  privacy.queue_retention_days are deleted (they hold the text and the raw platform id);
  dead-lettered inbox rows keep their metadata without the payload; rows still to be
  handled or sent are never touched, so no accepted message is lost;
- closed cases older than privacy.case_retention_days lose every link to the person
  (contact, conversation, encrypted details, volunteer notes);
- contacts who asked for erasure while a case was open are erased once no case is open.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, delete, exists, func, inspect, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import Vault
from bot.logs import get_logger
from bot.storage.models import (
    Case,
    Contact,
    InboxEvent,
    Message,
    OutboxMessage,
    utcnow,
)

if TYPE_CHECKING:
    from bot.services import Services

log = get_logger("retention")

# A payload that carries nothing: the column is NOT NULL, and keeping the row keeps the
# (platform, event id) that drops a platform's redelivery.
EMPTY = b""
DONE_INBOX = ("done", "dead")
DONE_OUTBOX = ("sent", "dead", "unknown")
ROTATE_BATCH = 500


def empty_delivery(vault: Vault) -> bytes:
    """An outbox payload that decodes to no replies and no address: the web chat's event
    stream can still read the row, and its id (a browser's Last-Event-ID) stays taken."""
    return vault.encrypt_json(
        {"user_id": "", "address": {}, "language": "", "last_seen": None, "replies": []}
    )


async def forget_queue_copies(
    session: AsyncSession, vault: Vault, platform: str, alias: str
) -> None:
    """On erasure: the copies of one person's messages in the inbox and outbox go too.

    Handled inbox rows keep their (platform, event id) with an empty payload, so a late
    redelivery is still dropped; the row being handled now is emptied as well (the worker
    needs nothing more from it). Delivered outbox rows get an empty delivery (rows are not
    deleted: SQLite would give their ids out again). Replies not yet sent (e.g. the
    confirmation of this erasure) still go out.
    """
    await session.execute(
        update(InboxEvent)
        .where(
            InboxEvent.platform == platform,
            InboxEvent.sender == alias,
            InboxEvent.state.in_((*DONE_INBOX, "processing")),
        )
        .values(payload_enc=EMPTY)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.platform == platform,
            OutboxMessage.recipient == alias,
            OutboxMessage.state.in_(DONE_OUTBOX),
        )
        .values(payload_enc=empty_delivery(vault))
        .execution_options(synchronize_session=False)
    )


def _has_table(session: AsyncSession, name: str):  # type: ignore[no-untyped-def]
    return session.run_sync(lambda s: inspect(s.connection()).has_table(name))


async def _erase_pending(session: AsyncSession, vault: Vault) -> int:
    """Contacts who asked to be forgotten while a case was open, now that none is."""
    from handlers.privacy import erase_contact  # handlers import this module

    open_case = exists().where(Case.contact_id == Contact.id, Case.status != "closed")
    contacts = (
        await session.execute(
            select(Contact).where(Contact.erase_requested_at.is_not(None), ~open_case)
        )
    ).scalars()
    count = 0
    for contact in list(contacts):
        await erase_contact(session, contact, actor="system:retention", vault=vault)
        count += 1
    return count


async def run_retention(services: Services) -> dict[str, int]:
    """Apply the retention settings once; returns how many rows each step changed."""
    settings = services.settings
    now = utcnow()
    counts = {
        "message_texts": 0,
        "inbox_rows": 0,
        "outbox_rows": 0,
        "dead_payloads": 0,
        "cases_anonymised": 0,
        "case_notes": 0,
        "contacts_erased": 0,
    }
    async with services.db.begin() as session:
        counts["contacts_erased"] = await _erase_pending(session, services.vault)

    if settings.message_retention_days:
        cutoff = now - timedelta(days=settings.message_retention_days)
        async with services.db.begin() as session:
            result = await session.execute(
                update(Message)
                .where(Message.created_at < cutoff, Message.text_enc.is_not(None))
                .values(text_enc=None)
                .execution_options(synchronize_session=False)
            )
            counts["message_texts"] = result.rowcount or 0

    if settings.queue_retention_days:
        cutoff = now - timedelta(days=settings.queue_retention_days)
        async with services.db.begin() as session:
            # The newest row is never deleted: SQLite would hand its id out again, and the
            # outbox's idempotency key ("in:<inbox id>") and the web chat's Last-Event-ID
            # rely on ids never coming back.
            newest_in = select(func.max(InboxEvent.id)).scalar_subquery()
            result = await session.execute(
                delete(InboxEvent)
                .where(
                    InboxEvent.state == "done",
                    func.coalesce(InboxEvent.processed_at, InboxEvent.received_at) < cutoff,
                    InboxEvent.id < newest_in,
                )
                .execution_options(synchronize_session=False)
            )
            counts["inbox_rows"] = result.rowcount or 0
            # Dead letters keep their metadata (for the operator), not the message.
            result = await session.execute(
                update(InboxEvent)
                .where(
                    InboxEvent.state == "dead",
                    InboxEvent.received_at < cutoff,
                    InboxEvent.payload_enc != EMPTY,
                )
                .values(payload_enc=EMPTY)
                .execution_options(synchronize_session=False)
            )
            counts["dead_payloads"] = result.rowcount or 0
            newest_out = select(func.max(OutboxMessage.id)).scalar_subquery()
            result = await session.execute(
                delete(OutboxMessage)
                .where(
                    OutboxMessage.state.in_(DONE_OUTBOX),
                    func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < cutoff,
                    OutboxMessage.id < newest_out,
                )
                .execution_options(synchronize_session=False)
            )
            counts["outbox_rows"] = result.rowcount or 0

    if settings.case_retention_days:
        cutoff = now - timedelta(days=settings.case_retention_days)
        old_closed = and_(Case.status == "closed", Case.closed_at < cutoff)
        async with services.db.begin() as session:
            if await _has_table(session, "case_notes"):
                # The volunteer console's notes, if this build has them: free text about
                # the person, so they go with the link.
                ids = list((await session.execute(select(Case.id).where(old_closed))).scalars())
                if ids:
                    result = await session.execute(
                        text("DELETE FROM case_notes WHERE case_id IN :ids").bindparams(
                            bindparam("ids", expanding=True)
                        ),
                        {"ids": ids},
                    )
                    counts["case_notes"] = result.rowcount or 0
            result = await session.execute(
                update(Case)
                .where(
                    old_closed,
                    or_(
                        Case.contact_id.is_not(None),
                        Case.conversation_id.is_not(None),
                        Case.details_enc.is_not(None),
                    ),
                )
                .values(contact_id=None, conversation_id=None, details_enc=None)
                .execution_options(synchronize_session=False)
            )
            counts["cases_anonymised"] = result.rowcount or 0

    if any(counts.values()):
        log.info("retention_done", **counts)
    return counts


class RetentionTimer:
    """Runs the job at most once per interval in this process (the job is idempotent, so
    several workers each running it hourly is harmless)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.interval = services.settings.retention_interval_minutes * 60
        self.last: float | None = None

    async def maybe_run(self) -> dict[str, int] | None:
        if self.interval <= 0:
            return None
        now = time.monotonic()
        if self.last is not None and now - self.last < self.interval:
            return None
        self.last = now
        try:
            return await run_retention(self.services)
        except Exception as exc:  # the worker's real job must go on
            log.error("retention_failed", error=type(exc).__name__)
            return None


def _optional_columns() -> list[tuple[Any, Any]]:
    """Encrypted columns of tables that only some builds have (the console's notes)."""
    from bot.storage import models

    note = getattr(models, "CaseNote", None)
    return [(note, note.text_enc)] if note is not None else []


async def rotate_keys(services: Services) -> int:
    """Re-encrypt every encrypted value with the first key of ENCRYPTION_KEYS.

    Rotation: put a new key first (keep the old ones after it), restart, run this, then
    remove the old keys. Returns the number of values re-encrypted. Safe to re-run.
    """
    vault = services.vault
    columns = (
        (Contact, Contact.address_enc),
        (Message, Message.text_enc),
        (InboxEvent, InboxEvent.payload_enc),
        (OutboxMessage, OutboxMessage.payload_enc),
        (Case, Case.details_enc),
        *_optional_columns(),
    )
    total = 0
    for model, column in columns:
        last_id = 0
        while True:
            async with services.db.begin() as session:
                rows = (
                    await session.execute(
                        select(model.id, column)
                        .where(model.id > last_id, column.is_not(None), column != EMPTY)
                        .order_by(model.id)
                        .limit(ROTATE_BATCH)
                    )
                ).all()
                if not rows:
                    break
                for row_id, token in rows:
                    # Compare-and-set: a value changed meanwhile is left for the next run.
                    await session.execute(
                        update(model)
                        .where(model.id == row_id, column == token)
                        .values({column.key: vault.rotate(token)})
                        .execution_options(synchronize_session=False)
                    )
                total += len(rows)
                last_id = rows[-1][0]
    log.info("keys_rotated", values=total)
    return total
