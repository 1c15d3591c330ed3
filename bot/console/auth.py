"""Console sign-in: argon2 passwords, lock-out, server-side sessions, CSRF tokens.

The session cookie holds a random token; the database keeps only its SHA-256, so a copy of
the database cannot be used to sign in. A new token is made at every sign-in and any
session the browser brought along is ended (no fixation).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import AuditEvent, ConsoleSession, Volunteer, aware, utcnow

ROLES = ("volunteer", "coordinator", "admin")
HASHER = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so both answers take the same time.

    Made at the first such login, not at import: hashing costs 0.2 s of CPU and 64 MB
    (argon2's memory cost) that every process start, web or worker, paid before.
    """
    return HASHER.hash("not-a-password-" + secrets.token_hex(8))


@dataclass(frozen=True, slots=True)
class Policy:
    session_minutes: int = 12 * 60  # absolute lifetime of a session
    idle_minutes: int = 60  # signed out after this long without a request
    max_failed_logins: int = 5
    lockout_minutes: int = 15

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> Policy:
        fields = {
            name: int(section[name])
            for name in ("session_minutes", "idle_minutes", "max_failed_logins", "lockout_minutes")
            if name in section
        }
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class Account:
    """The signed-in user, as the views see it."""

    id: int
    organisation_id: int
    role: str
    display_name: str
    email: str
    csrf: str

    @property
    def actor(self) -> str:
        return f"volunteer:{self.id}"


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def authenticate(
    session: AsyncSession, policy: Policy, email: str, password: str
) -> Volunteer | None:
    """The volunteer if the password is right and the account active and not locked."""
    now = utcnow()
    volunteer = (
        await session.execute(
            select(Volunteer).where(Volunteer.email == email.strip().lower()).with_for_update()
        )
    ).scalar_one_or_none()
    if volunteer is None:
        _verify(_dummy_hash(), password)
        session.add(AuditEvent(actor="anonymous", action="console_login_unknown"))
        return None
    target = f"volunteer:{volunteer.id}"
    if volunteer.locked_until is not None and aware(volunteer.locked_until) > now:
        _verify(_dummy_hash(), password)
        session.add(AuditEvent(actor=target, action="console_login_locked", target=target))
        return None
    if not _verify(volunteer.password_hash, password) or not volunteer.active:
        volunteer.failed_logins += 1
        detail: dict[str, Any] = {"failures": volunteer.failed_logins}
        if volunteer.failed_logins >= policy.max_failed_logins:
            volunteer.locked_until = now + timedelta(minutes=policy.lockout_minutes)
            volunteer.failed_logins = 0
            detail["locked_minutes"] = policy.lockout_minutes
        session.add(
            AuditEvent(actor=target, action="console_login_failed", target=target, detail=detail)
        )
        return None
    volunteer.failed_logins = 0
    volunteer.locked_until = None
    if HASHER.check_needs_rehash(volunteer.password_hash):
        volunteer.password_hash = hash_password(password)
    return volunteer


def _verify(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def start_session(
    session: AsyncSession, policy: Policy, volunteer: Volunteer, old_token: str | None
) -> str:
    """A fresh session token for the volunteer; the browser's previous session ends."""
    if old_token:
        await session.execute(
            delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash(old_token))
        )
    now = utcnow()
    # Expired rows of anyone go now too: the table holds only live sessions.
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=token_hash(token),
            volunteer_id=volunteer.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(minutes=policy.session_minutes),
        )
    )
    target = f"volunteer:{volunteer.id}"
    session.add(AuditEvent(actor=target, action="console_login", target=target))
    return token


async def account_for(session: AsyncSession, policy: Policy, token: str) -> Account | None:
    """The account of a live session, refreshing its idle timer; None if there is none."""
    if not token or len(token) > 100:
        return None
    now = utcnow()
    row = (
        await session.execute(
            select(ConsoleSession, Volunteer)
            .join(Volunteer, Volunteer.id == ConsoleSession.volunteer_id)
            .where(ConsoleSession.token_hash == token_hash(token))
        )
    ).one_or_none()
    if row is None:
        return None
    console_session, volunteer = row
    idle_end = aware(console_session.last_seen_at) + timedelta(minutes=policy.idle_minutes)
    if not volunteer.active or aware(console_session.expires_at) <= now or idle_end <= now:
        await session.delete(console_session)
        return None
    if now - aware(console_session.last_seen_at) > timedelta(seconds=30):
        await session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == console_session.id)
            .values(last_seen_at=now)
        )
    return Account(
        id=volunteer.id,
        organisation_id=volunteer.organisation_id,
        role=volunteer.role,
        display_name=volunteer.display_name,
        email=volunteer.email,
        csrf=console_session.csrf_token,
    )


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(
        delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token))
    )
