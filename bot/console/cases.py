"""What a console user may see and do with cases. Views call these; so do tests.

Every action writes an AuditEvent (never message text) in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case as when
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.auth import Account
from bot.contacts import recipient_of
from bot.messages import Button, Reply
from bot.outbox import enqueue
from bot.services import Services
from bot.storage.models import (
    AuditEvent,
    Case,
    CaseNote,
    ChannelCounter,
    Contact,
    Conversation,
    Message,
    Organisation,
    Volunteer,
    aware,
    utcnow,
)
from handlers.privacy import erase_contact

OUTCOMES = (
    "resolved",
    "referred",
    "advice_given",
    "no_response",
    "withdrawn",
    "duplicate",
    "other",
)
MAX_REPLY_CHARS = 2000
MAX_NOTE_CHARS = 4000


class Forbidden(Exception):
    """The user may not see or change this case (HTTP 403)."""


class Conflict(Exception):
    """The case is not in a state that allows this (HTTP 409); `key` names the string."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def audit(
    session: AsyncSession, account: Account, action: str, case_id: int | None = None, **detail: Any
) -> None:
    session.add(
        AuditEvent(
            actor=account.actor,
            action=action,
            target=f"case:{case_id}" if case_id is not None else None,
            detail=detail or None,
        )
    )


def can_view(account: Account, case: Case) -> bool:
    return account.role == "admin" or case.organisation_id == account.organisation_id


def can_act(account: Account, case: Case) -> bool:
    """Volunteers act on open cases and on the ones they hold; coordinators and admins on
    every case they can see (e.g. to release a case someone left claimed)."""
    if not can_view(account, case):
        return False
    return account.role != "volunteer" or case.claimed_by in (None, account.id)


async def load_case(
    session: AsyncSession,
    account: Account,
    case_id: int,
    *,
    act: bool = False,
    lock: bool = False,
) -> Case:
    query = select(Case).where(Case.id == case_id)
    if lock:
        query = query.with_for_update()
    case = (await session.execute(query)).scalar_one_or_none()
    if case is None:
        raise LookupError(case_id)
    if not (can_act(account, case) if act else can_view(account, case)):
        audit(session, account, "access_denied", case_id, act=act)
        raise Forbidden(case_id)
    return case


def visible(account: Account):  # type: ignore[no-untyped-def]
    """The WHERE clause of the cases this account may see."""
    if account.role == "admin":
        return Case.id.is_not(None)
    return Case.organisation_id == account.organisation_id


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    urgent: bool
    kind: str
    intent: str | None
    language: str | None
    platform: str | None
    province: str | None
    status: str
    claimed_by: int | None
    claimed_by_name: str | None
    organisation: str
    created_at: datetime
    flagged: bool


async def queue(session: AsyncSession, account: Account, status: str = "active") -> list[QueueRow]:
    """Urgent first, then the longest waiting first."""
    query = (
        select(Case, Organisation.name, Volunteer.display_name)
        .join(Organisation, Organisation.id == Case.organisation_id, isouter=True)
        .join(Volunteer, Volunteer.id == Case.claimed_by, isouter=True)
        .where(visible(account))
    )
    if status == "closed":
        query = query.where(Case.status == "closed").order_by(Case.closed_at.desc()).limit(100)
    else:
        query = query.where(Case.status != "closed").order_by(
            when((Case.urgent.is_(True), 0), else_=1),
            when((Case.flagged.is_(True), 0), else_=1),
            Case.created_at,
            Case.id,
        )
    rows = (await session.execute(query)).all()
    return [
        QueueRow(
            id=c.id,
            urgent=c.urgent,
            kind=c.kind,
            intent=c.intent,
            language=c.language,
            platform=c.platform,
            province=c.province,
            status=c.status,
            claimed_by=c.claimed_by,
            claimed_by_name=name,
            organisation=org_name or "",
            created_at=aware(c.created_at),
            flagged=c.flagged,
        )
        for c, org_name, name in rows
    ]


async def claim(session: AsyncSession, services: Services, account: Account, case_id: int) -> None:
    case = await load_case(session, account, case_id)
    now = utcnow()
    # One statement decides between two volunteers claiming at once.
    result = await session.execute(
        update(Case)
        .where(Case.id == case_id, Case.status == "open")
        .values(status="claimed", claimed_by=account.id, claimed_at=now, flagged=False)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("error_already_claimed")
    await session.refresh(case)
    conversation = await _conversation(session, case)
    if conversation is not None:
        conversation.handler = "human"
        conversation.flow = None
    audit(session, account, "case_claimed", case_id)
    contact = await _contact(session, case)
    if contact is not None and conversation is not None:
        await _tell_worker(
            session,
            services,
            case,
            contact,
            conversation,
            "human_joined",
            key=f"vol:{case.id}:joined:{uuid.uuid4().hex}",
            buttons=(
                Button(services.content.ui(_lang(contact, case), "back_to_bot_button"), "bot"),
            ),
        )


async def release(session: AsyncSession, account: Account, case_id: int) -> None:
    case = await load_case(session, account, case_id, act=True, lock=True)
    if case.status != "claimed":
        raise Conflict("error_not_claimed")
    case.status, case.claimed_by, case.claimed_at = "open", None, None
    audit(session, account, "case_released", case_id)


async def transfer(
    session: AsyncSession, account: Account, case_id: int, organisation_id: int
) -> None:
    case = await load_case(session, account, case_id, act=True, lock=True)
    if case.status == "closed":
        raise Conflict("error_closed")
    target = await session.get(Organisation, organisation_id)
    if target is None or not target.active or target.id == case.organisation_id:
        raise Conflict("error_bad_organisation")
    source = case.organisation_id
    case.organisation_id = target.id
    case.status, case.claimed_by, case.claimed_at = "open", None, None
    case.routed_at, case.flagged = utcnow(), False
    audit(session, account, "case_transferred", case_id, source=source, to=target.id)


async def add_note(
    session: AsyncSession, services: Services, account: Account, case_id: int, text: str
) -> None:
    await load_case(session, account, case_id)
    text = text.strip()[:MAX_NOTE_CHARS]
    if not text:
        raise Conflict("error_empty")
    session.add(
        CaseNote(case_id=case_id, author_id=account.id, text_enc=services.vault.encrypt_text(text))
    )
    audit(session, account, "note_added", case_id)


async def set_category(
    session: AsyncSession, services: Services, account: Account, case_id: int, category: str
) -> None:
    case = await load_case(session, account, case_id, act=True)
    if category not in services.content.topic_ids:
        raise Conflict("error_bad_category")
    case.category = category
    audit(session, account, "category_set", case_id, category=category)


async def reply(
    session: AsyncSession, services: Services, account: Account, case_id: int, text: str
) -> None:
    case = await load_case(session, account, case_id, act=True, lock=True)
    text = text.strip()[:MAX_REPLY_CHARS]
    if not text:
        raise Conflict("error_empty")
    if case.status != "claimed" or case.claimed_by != account.id:
        raise Conflict("error_claim_first")
    contact = await _contact(session, case)
    conversation = await _conversation(session, case)
    if contact is None or conversation is None:
        raise Conflict("error_contact_gone")
    window = await reply_window(session, services, case.platform or contact.platform, contact)
    if not window.can_send:
        raise Conflict("window_closed")
    recipient = replace(recipient_of(services.vault, contact), language=_lang(contact, case))
    await enqueue(
        session,
        services.vault,
        key=f"vol:{case.id}:{uuid.uuid4().hex}",
        platform=contact.platform,
        recipient=recipient,
        conversation_id=conversation.id,
        replies=[Reply(text)],
        sender="volunteer",
    )
    if case.first_reply_at is None:
        case.first_reply_at = utcnow()
    audit(session, account, "reply_sent", case_id, chars=len(text))


async def close(
    session: AsyncSession, services: Services, account: Account, case_id: int, outcome: str
) -> None:
    """Close the case, give the conversation back to the bot and tell the worker; a contact
    who asked to be forgotten while the case was open is erased now."""
    case = await load_case(session, account, case_id, act=True, lock=True)
    if case.status == "closed":
        raise Conflict("error_closed")
    if outcome not in OUTCOMES:
        raise Conflict("error_bad_outcome")
    case.status, case.outcome, case.closed_at = "closed", outcome, utcnow()
    audit(session, account, "case_closed", case_id, outcome=outcome)
    contact = await _contact(session, case)
    conversation = await _conversation(session, case)
    if conversation is not None:
        was_human = conversation.handler == "human"
        conversation.handler, conversation.flow = "bot", None
        if contact is not None and was_human:
            erase = contact.erase_requested_at is not None
            await _tell_worker(
                session,
                services,
                case,
                contact,
                conversation,
                "human_left",
                key=f"vol:{case.id}:closed",
                erase=erase,
            )
    if contact is not None and contact.erase_requested_at is not None:
        await erase_contact(session, contact, actor=account.actor, vault=services.vault)


@dataclass(frozen=True, slots=True)
class Window:
    key: str  # console string: window_open | window_human_agent | window_closed | ...
    can_send: bool
    until: datetime | None = None
    used: int = 0
    quota: int = 0


async def reply_window(
    session: AsyncSession, services: Services, platform: str, contact: Contact
) -> Window:
    """When a volunteer's reply may still reach the worker on this platform."""
    if platform == "messenger":
        if contact.last_seen_at is None:
            return Window("window_closed", False)
        seen = aware(contact.last_seen_at)
        now = utcnow()
        if now < seen + timedelta(hours=24):
            return Window("window_open", True, seen + timedelta(hours=24))
        if now < seen + timedelta(days=7):
            return Window("window_human_agent", True, seen + timedelta(days=7))
        return Window("window_closed", False, seen + timedelta(days=7))
    if platform == "line":
        quota = int(services.settings.section("channels.line").get("monthly_push_quota", 0) or 0)
        period = utcnow().strftime("%Y-%m")
        used = (
            await session.execute(
                select(ChannelCounter.count).where(
                    ChannelCounter.platform == "line", ChannelCounter.period == period
                )
            )
        ).scalar_one_or_none() or 0
        return Window("window_line", True, used=used, quota=quota)
    return Window("window_none", True)


async def messages(
    session: AsyncSession, services: Services, case: Case, after: int = 0
) -> list[dict[str, Any]]:
    """The conversation's messages, decrypted (the worker consented when the case opened)."""
    if case.conversation_id is None:
        return []
    rows = (
        await session.execute(
            select(Message)
            .where(
                Message.conversation_id == case.conversation_id,
                Message.id > after,
                Message.text_enc.is_not(None),  # button presses carry no text
            )
            .order_by(Message.id)
            .limit(500)
        )
    ).scalars()
    return [
        {
            "id": m.id,
            "direction": m.direction,
            "sender": m.sender,
            "text": services.vault.decrypt_text(m.text_enc) if m.text_enc else "",
            "at": aware(m.created_at).isoformat(timespec="seconds"),
        }
        for m in rows
    ]


async def notes(session: AsyncSession, services: Services, case: Case) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(CaseNote, Volunteer.display_name)
            .join(Volunteer, Volunteer.id == CaseNote.author_id, isouter=True)
            .where(CaseNote.case_id == case.id)
            .order_by(CaseNote.id)
        )
    ).all()
    return [
        {
            "author": name or "",
            "text": services.vault.decrypt_text(n.text_enc),
            "at": aware(n.created_at),
        }
        for n, name in rows
    ]


def canned_replies(services: Services, case: Case, language: str) -> list[tuple[str, str]]:
    """(label, text): the topic's answer in the worker's language, then hotline lines."""
    content = services.content
    canned: list[tuple[str, str]] = []
    topic = content.topic(language, case.intent) if case.intent else None
    if topic is not None:
        body = topic.answer or "\n".join(topic.steps)
        if body:
            canned.append((topic.title, body))
    hotline_ids = [h["id"] for h in content.urgent_hotlines(case.intent)] if case.intent else []
    default = str(services.settings.section("escalation").get("default_hotline", ""))
    if default and default not in hotline_ids:
        hotline_ids.append(default)
    for hotline_id in hotline_ids:
        entry = content.hotlines.get(hotline_id)
        if entry:
            number = str(entry["number"])
            canned.append((f"☎ {number}", content.ui(language, "help_now", number=number)))
    return canned


async def organisations(session: AsyncSession) -> list[Organisation]:
    rows = await session.execute(
        select(Organisation).where(Organisation.active).order_by(Organisation.name)
    )
    return list(rows.scalars())


async def counts(session: AsyncSession, account: Account) -> dict[str, int]:
    rows = await session.execute(
        select(Case.status, func.count()).where(visible(account)).group_by(Case.status)
    )
    return dict(rows.all())  # type: ignore[arg-type]


def _lang(contact: Contact, case: Case) -> str:
    return contact.language or case.language or "en"


async def _contact(session: AsyncSession, case: Case) -> Contact | None:
    return await session.get(Contact, case.contact_id) if case.contact_id else None


async def _conversation(session: AsyncSession, case: Case) -> Conversation | None:
    return await session.get(Conversation, case.conversation_id) if case.conversation_id else None


async def _tell_worker(
    session: AsyncSession,
    services: Services,
    case: Case,
    contact: Contact,
    conversation: Conversation,
    ui_key: str,
    *,
    key: str,
    buttons: tuple[Button, ...] = (),
    erase: bool = False,
) -> None:
    language = _lang(contact, case)
    recipient = replace(recipient_of(services.vault, contact), language=language)
    if erase:  # the row must outlive the contact it is addressed to
        recipient = replace(recipient, contact_id=None)
    await enqueue(
        session,
        services.vault,
        key=key,
        platform=contact.platform,
        recipient=recipient,
        conversation_id=None if erase else conversation.id,
        replies=[Reply(services.content.ui(language, ui_key), buttons)],
        sender="volunteer",
    )
