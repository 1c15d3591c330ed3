"""Privacy notice, erasure, access export and quick exit, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from bot.data_export import export_contact
from bot.messages import Reply
from bot.outbox import decode_payload
from bot.retention import run_retention
from bot.services import Services
from bot.storage.models import (
    AuditEvent,
    Case,
    Contact,
    Conversation,
    InboxEvent,
    Message,
    OutboxMessage,
    utcnow,
)
from tests.privacy.common import chat_client, contact_of, everything_decrypted
from tests.support import chat_post, say, services_of

FIRST_MESSAGES = {
    "th": "ค่าแรงขั้นต่ำวันละเท่าไหร่",
    "my": "အနည်းဆုံးလုပ်ခ ဘယ်လောက်ရလဲ",
    "km": "ប្រាក់ឈ្នួលអប្បបរមា ប៉ុន្មាន",
    "lo": "ຄ່າແຮງຂັ້ນຕ່ຳ ແມ່ນເທົ່າໃດ",
    "en": "what is the minimum wage",
}
SECRET_NAME = "Aung Aung Kyaw"
SECRET_PHONE = "081-234-5678"
SECRET_TEXT = f"my name is {SECRET_NAME}, phone {SECRET_PHONE}, boss keeps my passport"


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[TestClient]:
    async with chat_client(database_url) as client:
        yield client


@pytest.fixture
def services(client: TestClient) -> Services:
    return services_of(client)


@pytest.fixture
def session() -> str:
    """A new web chat user."""
    return str(uuid.uuid4())


@pytest.mark.parametrize("language", sorted(FIRST_MESSAGES))
async def test_privacy_notice_comes_first_in_the_users_language(
    client: TestClient, services: Services, session: str, language: str
) -> None:
    content = services.content
    first = await say(client, session, text=FIRST_MESSAGES[language])
    assert content.ui(language, "privacy_notice") in first[0]
    again = await say(client, session, text=FIRST_MESSAGES[language])
    assert all(content.ui(language, "privacy_notice") not in r for r in again)


async def test_notice_is_repeated_in_the_users_language_after_an_english_welcome(
    client: TestClient, services: Services, session: str
) -> None:
    content = services.content
    welcome = await say(client, session, start=True)
    assert content.ui("en", "privacy_notice") in welcome[0]
    first = await say(client, session, text=FIRST_MESSAGES["my"])
    assert content.ui("my", "privacy_notice") in first[0]


async def _counts(services, contact_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with services.db() as db:
        return {
            "contacts": await db.scalar(
                select(func.count()).select_from(Contact).where(Contact.id == contact_id)
            ),
            "conversations": await db.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.contact_id == contact_id)
            ),
            "messages": await db.scalar(select(func.count()).select_from(Message)),
        }


def _mentions(found: list, *needles: str) -> list[str]:
    text = json.dumps(found, ensure_ascii=False, default=str)
    return [n for n in needles if n in text]


async def test_erasure_removes_messages_profile_consent_and_queue_copies(
    client: TestClient,
    services: Services,
    session: str,
) -> None:
    await say(client, session, text=SECRET_TEXT)
    await say(client, session, payload="help")
    await say(client, session, payload="consent:yes")
    contact = await contact_of(services, session)
    assert contact is not None and contact.consent_at is not None
    assert _mentions(await everything_decrypted(services), SECRET_NAME, session)

    ask = await say(client, session, payload="delete")
    assert ask == [services.content.ui("en", "delete_confirm_ask")]
    done = await say(client, session, payload="delete:confirm")
    assert done == [services.content.ui("en", "deleted")]

    assert await contact_of(services, session) is None
    counts = await _counts(services, contact.id)
    assert counts == {"contacts": 0, "conversations": 0, "messages": 0}
    # Nothing readable is left but the confirmation still on its way or just sent.
    found = await everything_decrypted(services)
    assert _mentions(found, SECRET_NAME, SECRET_PHONE, "passport") == []
    async with services.db() as db:
        outbox = (await db.execute(select(OutboxMessage))).scalars().all()
        audit = (await db.execute(select(AuditEvent.action))).scalars().all()
        inbox = (await db.execute(select(InboxEvent))).scalars().all()
    # Earlier replies are kept as empty deliveries (ids stay taken); only the
    # confirmation says anything.
    said = [p for p in (decode_payload(services.vault, r.payload_enc) for r in outbox)]
    assert [p["replies"] for p in said if p["replies"]] == [
        (Reply(services.content.ui("en", "deleted")),)
    ]
    assert "erase_contact" in audit
    assert all(row.payload_enc == b"" for row in inbox)  # redeliveries still dropped

    # Writing again is a new start: a new contact, the notice again, no old consent.
    again = await say(client, session, text="hello")
    assert services.content.ui("en", "privacy_notice") in again[0]
    fresh = await contact_of(services, session)
    # (SQLite may give the freed id out again: see docs/privacy.md.)
    assert fresh is not None and fresh.consent_at is None and fresh.province is None


async def _open_case(client, session: str) -> Case:  # type: ignore[no-untyped-def]
    services = services_of(client)
    await say(client, session, text=SECRET_TEXT)
    for payload in (
        "help",
        "consent:yes",
        "province:bangkok",
        "sector:fishing",
        "safe:yes",
        "later:yes",
    ):
        await say(client, session, payload=payload)
    async with services.db() as db:
        case = (await db.execute(select(Case))).scalar_one()
    assert case.status == "open"
    return case


async def test_erasure_with_an_open_case_keeps_only_what_the_case_needs(
    client: TestClient,
    services: Services,
    session: str,
) -> None:
    case = await _open_case(client, session)
    contact = await contact_of(services, session)
    assert contact is not None and contact.province == "bangkok"

    done = await say(client, session, payload="delete:confirm")
    assert done == [services.content.ui("en", "deleted_kept_for_case")]
    kept = await contact_of(services, session)
    assert kept is not None
    assert kept.erase_requested_at is not None
    assert kept.province is None and kept.sector is None
    # The helper can still read the case conversation and reply.
    assert kept.consent_at is not None and kept.address_enc is not None
    async with services.db() as db:
        inbox = (await db.execute(select(InboxEvent.payload_enc))).scalars().all()
        outbox = (await db.execute(select(OutboxMessage.payload_enc))).scalars().all()
    assert all(p == b"" for p in inbox)
    replies = [decode_payload(services.vault, p)["replies"] for p in outbox]
    assert [r for r in replies if r] == [
        (Reply(services.content.ui("en", "deleted_kept_for_case")),)
    ]

    # Retention leaves the contact alone while the case is open ...
    assert (await run_retention(services))["contacts_erased"] == 0
    assert await contact_of(services, session) is not None
    # ... and erases it once the case is closed.
    async with services.db.begin() as db:
        await db.execute(
            update(Case)
            .where(Case.id == case.id)
            .values(status="closed", closed_at=utcnow(), outcome="resolved")
        )
    assert (await run_retention(services))["contacts_erased"] == 1
    assert await contact_of(services, session) is None
    found = await everything_decrypted(services)
    assert _mentions(found, SECRET_NAME, SECRET_PHONE, "passport") == []
    async with services.db() as db:
        closed = await db.get(Case, case.id)
    assert closed is not None and closed.contact_id is None


async def test_export_holds_everything_stored_decrypted(
    client: TestClient, services: Services, session: str
) -> None:
    await _open_case(client, session)
    data = await export_contact(services, "webchat", session)
    text = json.dumps(data, ensure_ascii=False)  # JSON-ready as it is
    assert data["found"] is True
    assert data["contact"]["address"]["user_id"] == session
    assert data["contact"]["province"] == "bangkok"
    assert data["contact"]["consent_version"]
    messages = [m for c in data["conversations"] for m in c["messages"]]
    said = [m["text"] for m in messages if m["direction"] == "in"]
    assert SECRET_TEXT in said
    assert any(m["direction"] == "out" for m in messages)
    assert data["cases"][0]["details"] == {"safe_now": "yes", "contact_later": "yes"}
    assert len(data["inbox"]) == 7 and data["inbox"][0]["event"]["text"] == SECRET_TEXT
    assert data["outbox"] and "consent_given" in text

    nobody = await export_contact(services, "webchat", str(uuid.uuid4()))
    assert nobody["found"] is False and nobody["contact"] is None


@pytest.mark.parametrize("how", [{"text": "Quick exit"}, {"text": "exit"}, {"payload": "exit"}])
async def test_quick_exit_answers_neutrally_and_drops_the_flow(
    client: TestClient, services: Services, session: str, how
) -> None:  # type: ignore[no-untyped-def]
    await say(client, session, text="my boss hit me and took my passport")
    await say(client, session, payload="help")
    async with services.db() as db:
        flow = (await db.execute(select(Conversation.flow))).scalar_one()
    assert flow is not None
    replies = await say(client, session, **how)
    assert replies == [services.content.ui("en", "quick_exit")]
    async with services.db() as db:
        flow = (await db.execute(select(Conversation.flow))).scalar_one()
    assert flow is None


async def test_quick_exit_as_first_message_says_only_ok_in_the_language(
    client: TestClient,
    services: Services,
    session: str,
) -> None:
    await chat_post(client, session, payload="lang:th")
    replies = await say(client, session, text="quick exit")
    assert replies[-1] == services.content.ui("th", "quick_exit")


async def test_retention_erases_old_text_queues_and_case_links(
    client: TestClient, services: Services
) -> None:
    old_session, new_session = str(uuid.uuid4()), str(uuid.uuid4())
    await _open_case(client, old_session)
    await say(client, new_session, text="hello there")
    long_ago = utcnow() - timedelta(days=400)
    old_contact = await contact_of(services, old_session)
    assert old_contact is not None
    async with services.db.begin() as db:
        conversation_ids = select(Conversation.id).where(Conversation.contact_id == old_contact.id)
        await db.execute(
            update(Message)
            .where(Message.conversation_id.in_(conversation_ids))
            .values(created_at=long_ago)
        )
        await db.execute(
            update(InboxEvent)
            .where(InboxEvent.sender == old_contact.pseudonym)
            .values(received_at=long_ago, processed_at=long_ago)
        )
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.recipient == old_contact.pseudonym)
            .values(created_at=long_ago, sent_at=long_ago)
        )
        await db.execute(update(Case).values(status="closed", closed_at=long_ago))
    async with services.db() as db:
        old_messages = await db.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.conversation_id.in_(conversation_ids), Message.text_enc.is_not(None))
        )
    counts = await run_retention(services)
    assert counts["message_texts"] == old_messages
    assert counts["inbox_rows"] == 7
    assert counts["outbox_rows"] >= 7
    assert counts["cases_anonymised"] == 1
    async with services.db() as db:
        texts = (
            (
                await db.execute(
                    select(Message.text_enc).where(Message.conversation_id.in_(conversation_ids))
                )
            )
            .scalars()
            .all()
        )
        case = (await db.execute(select(Case))).scalar_one()
        recent = await db.scalar(
            select(func.count()).select_from(Message).where(Message.text_enc.is_not(None))
        )
    assert texts and all(t is None for t in texts)  # metadata stays, text goes
    assert (case.contact_id, case.conversation_id, case.details_enc) == (None, None, None)
    assert case.intent == "talk_to_human" and case.province == "bangkok"  # statistics stay
    assert recent >= 2  # the new contact's messages are untouched
    assert await say(client, new_session, text="hello again")  # still answers
    # Idempotent: a second run finds nothing to do.
    assert set((await run_retention(services)).values()) == {0}


async def test_rotate_keys_reencrypts_everything_with_the_new_key(
    client: TestClient, services: Services, session: str
) -> None:
    from dataclasses import replace as dc_replace

    from bot.crypto import Vault, new_key
    from bot.retention import rotate_keys
    from tests.support import TEST_SECRETS

    await _open_case(client, session)
    fresh = new_key()
    rotating = dc_replace(services, vault=Vault((fresh, TEST_SECRETS["ENCRYPTION_KEYS"])))
    changed = await rotate_keys(rotating)
    assert changed > 10
    only_new = dc_replace(services, vault=Vault((fresh,)))
    found = await everything_decrypted(only_new)  # raises if any value is still old
    assert _mentions(found, SECRET_NAME)
    assert await rotate_keys(rotating) == changed  # safe to re-run
