"""Tables. Message text, raw platform ids and case details are stored encrypted (bot.crypto)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for busy tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("platform", "pseudonym"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    # HMAC-SHA256 of the platform user id with the pseudonym key: lookups without the raw id.
    pseudonym: Mapped[str] = mapped_column(String(64))
    # The raw id and addressing a channel needs to reply, encrypted.
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    language: Mapped[str | None] = mapped_column(String(8))
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    uses_zawgyi: Mapped[bool] = mapped_column(Boolean, default=False)
    zawgyi_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    province: Mapped[str | None] = mapped_column(String(32))
    sector: Mapped[str | None] = mapped_column(String(32))
    notice_shown_at: Mapped[datetime | None]
    consent_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Asked to be forgotten while a case was open: erased when the case closes.
    erase_requested_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    # "bot": the bot answers; "human": a volunteer holds it and the bot stays silent.
    handler: Mapped[str] = mapped_column(String(16), default="bot")
    # A multi-step flow in progress (consent, escalation questions, reports), as data.
    flow: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_conversations_contact", "contact_id"),)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(4))  # "in" | "out"
    sender: Mapped[str] = mapped_column(String(16))  # "user" | "bot" | "volunteer"
    text_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    intent: Mapped[str | None] = mapped_column(String(48))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_messages_conversation", "conversation_id", "id"),)


class InboxEvent(Base):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        Index("ix_inbox_claim", "state", "available_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128))
    # The sender's pseudonym: one sender's events are handled one at a time, in order.
    sender: Mapped[str] = mapped_column(String(64), index=True)
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # pending -> processing -> done | dead (after worker.max_attempts failures)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_claim", "state", "available_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The same reply produced twice (a re-run after a crash) hits this unique key.
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    # The contact's pseudonym: replies to one recipient leave in order. The row carries its
    # own encrypted address, so a reply still reaches a contact who just erased their data.
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    # {"user_id", "address", "language", "replies"}, encrypted.
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    reply_token: Mapped[str | None] = mapped_column(String(256))
    sender: Mapped[str] = mapped_column(String(16), default="bot")
    # pending -> sending -> sent | dead | unknown. A send that may or may not have reached
    # the platform (a crash or a timeout mid-call) is never repeated blindly: see bot.outbox.
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A reply goes out as several platform messages (API calls); those the platform took
    # before a failure are not sent again on the retry.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    provinces: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    accepting_cases: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Kept by the organisation's coordinators in the console (bot.reports.directory).
    hours: Mapped[str | None] = mapped_column(String(200))
    public_contacts: Mapped[list[str] | None] = mapped_column(JSON)  # phone, URL, LINE id
    # An organisation proposed in the console is inactive until an admin approves it.
    approved: Mapped[bool] = mapped_column(Boolean, default=True)


class Volunteer(Base):
    __tablename__ = "volunteers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="volunteer")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_queue", "status", "organisation_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(16))  # urgent | human | report | screening
    intent: Mapped[str | None] = mapped_column(String(48))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open|claimed|closed
    province: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    sector: Mapped[str | None] = mapped_column(String(32))
    platform: Mapped[str | None] = mapped_column(String(16))
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"))
    details_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    category: Mapped[str | None] = mapped_column(String(48))
    outcome: Mapped[str | None] = mapped_column(String(48))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    first_reply_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Set when an unclaimed urgent case is re-routed (bot.console.reroute); the wait for a
    # claim restarts from here. `flagged`: nobody else could take it, a coordinator must act.
    routed_at: Mapped[datetime | None]
    reroutes: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseNote(Base):
    """A volunteer's private note on a case, encrypted; never shown to the worker."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id", ondelete="SET NULL"))
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsoleSession(Base):
    """A signed-in console user. Only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteers.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # "volunteer:12", "system", "admin-cli"
    action: Mapped[str] = mapped_column(String(48))
    target: Mapped[str | None] = mapped_column(String(64))  # "case:5", "contact:9"
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # never message text


class ChannelCounter(Base):
    """Usage counters that platforms limit, e.g. LINE pushes per month."""

    __tablename__ = "channel_counters"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)  # e.g. "2026-11"
    count: Mapped[int] = mapped_column(Integer, default=0)


class Subscription(Base):
    """A worker's opt-in to broadcasts on one topic (bot.broadcasts). The audience's
    language and province are the contact's current ones, so changing them moves it."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("contact_id", "topic"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(48))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Broadcast(Base):
    """An announcement to subscribers. texts: {language: text}, public content (not
    personal data), so not encrypted. Sending resumes from `cursor` (the last contact id
    handled); each delivery's outbox key is f"bc:{id}:{contact_id}", so nothing goes twice."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_due", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(48))
    province: Mapped[str | None] = mapped_column(String(32))  # None: every province
    language: Mapped[str | None] = mapped_column(String(8))  # None: every language
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # draft -> scheduled -> sending -> done | cancelled
    status: Mapped[str] = mapped_column(String(12), default="draft")
    scheduled_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    audience: Mapped[int] = mapped_column(Integer, default=0)  # size when sending started
    enqueued: Mapped[int] = mapped_column(Integer, default=0)
    skipped_window: Mapped[int] = mapped_column(Integer, default=0)  # Messenger, > 24 h
    skipped_quota: Mapped[int] = mapped_column(Integer, default=0)  # LINE budget used up
    # LINE pushes this broadcast may use (the month's remaining quota when it started).
    line_budget: Mapped[int | None] = mapped_column(Integer)
    line_enqueued: Mapped[int] = mapped_column(Integer, default=0)
