"""The worker's side of a hand-over: safety first, consent, questions, a case, a human."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.storage.models import Case, Contact, Conversation, Organisation
from bot.web import create_app
from bot.worker import Worker
from tests.support import dead_nlu_url, make_settings
from tests.test_webchat import post, replies_to, services_of


@pytest.fixture
async def chat(database_url: str) -> AsyncIterator[TestClient]:
    settings = make_settings(
        database_url, NLU_URL=dead_nlu_url(), BOT__SERVICE__EMBEDDED_WORKER="false"
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


async def say(chat: TestClient, session: str, **body: object) -> list[str]:
    services = services_of(chat)
    before = len(await replies_to(services, session))
    await post(chat, session, **body)
    await Worker(services).drain()
    return (await replies_to(services, session))[before:]


async def test_declining_consent_shares_nothing(chat: TestClient) -> None:
    session = str(uuid.uuid4())
    await say(chat, session, payload="lang:my")
    await say(chat, session, text="HELP")
    answer = await say(chat, session, payload="consent:no")
    services = services_of(chat)
    assert answer == [services.content.ui("my", "consent_declined")]
    async with services.db() as db:
        assert (await db.execute(select(Case))).first() is None
        contact = (await db.execute(select(Contact))).scalar_one()
        assert contact.consent_at is None


async def test_urgent_burmese_message_opens_a_routed_case_after_consent(chat: TestClient) -> None:
    services = services_of(chat)
    session = str(uuid.uuid4())
    first = await say(chat, session, text="သူဌေးက အခန်းထဲမှာ ပိတ်ထားတယ် ထွက်လို့မရဘူး ကယ်ပါ")
    trapped = services.content.topic("my", "urgent_trapped")
    assert first[0].startswith(trapped.title)  # safety steps before anything else
    assert services.content.ui("my", "consent_ask") in first
    await say(chat, session, payload="consent:yes")
    await say(chat, session, payload="province:tak")
    await say(chat, session, payload="sector:skip")
    await say(chat, session, payload="safe:no")
    opened = await say(chat, session, payload="later:yes")
    async with services.db() as db:
        case = (await db.execute(select(Case))).scalar_one()
        org = await db.get(Organisation, case.organisation_id)
        conversation = await db.get(Conversation, case.conversation_id)
        contact = await db.get(Contact, case.contact_id)
    assert case.urgent and case.kind == "urgent" and case.intent == "urgent_trapped"
    assert (case.province, case.language) == ("tak", "my")
    assert "tak" in org.provinces and "my" in org.languages
    assert conversation.handler == "human"
    assert contact.consent_at is not None and contact.consent_version
    assert org.name in opened[0]
    # while a volunteer holds it, the bot is silent except to say help is coming
    waiting = await say(chat, session, text="ဘယ်တော့ ဖြေမလဲ")
    hotline = services.content.urgent_hotlines("urgent_trapped")[0]["number"]
    assert waiting == [services.content.ui("my", "waiting_for_human", number=hotline)]
    # and the worker can take the bot back
    back = await say(chat, session, payload="bot")
    assert back[0] == services.content.ui("my", "back_to_bot")
    async with services.db() as db:
        case = (await db.execute(select(Case))).scalar_one()
    assert case.status == "closed" and case.outcome == "withdrawn"
