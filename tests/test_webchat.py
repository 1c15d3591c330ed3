"""The web chat channel and the pipeline behind it, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot import pipeline
from bot.services import Services
from bot.storage.models import Contact, InboxEvent, OutboxMessage
from bot.worker import Worker
from tests.support import chat_post, replies_to, say, services_of


async def inbox_count(services: Services) -> int:
    async with services.db() as db:
        return int((await db.execute(select(func.count()).select_from(InboxEvent))).scalar_one())


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"x" * 70_000, {"Content-Type": "application/json"}, 413),
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b"[1, 2]", {"Content-Type": "application/json"}, 400),
        (b'{"text": "hi"}', {"Content-Type": "application/json"}, 400),
        (
            b'{"session": "nope", "id": "x", "text": "hi"}',
            {"Content-Type": "application/json"},
            400,
        ),
        (b"text=hi", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ],
)
async def test_bad_requests_get_a_clear_error_and_store_nothing(
    chat: TestClient, body: bytes, headers: dict, status: int
) -> None:
    response = await chat.post("/chat/messages", data=body, headers=headers)
    assert response.status == status
    assert "error" in await response.json()
    assert await inbox_count(services_of(chat)) == 0


async def test_message_is_in_the_inbox_before_the_answer(chat: TestClient) -> None:
    assert await chat_post(chat, str(uuid.uuid4()), text="hello") == 200
    assert await inbox_count(services_of(chat)) == 1


async def test_redelivered_event_gets_no_second_reply(chat: TestClient) -> None:
    session, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"session": session, "id": message_id, "text": "hello"}
    for _ in range(3):
        assert (await chat.post("/chat/messages", json=body)).status == 200
    services = services_of(chat)
    await Worker(services).drain()
    assert await inbox_count(services) == 1
    assert len(await replies_to(services, session)) >= 1
    async with services.db() as db:
        rows = (await db.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    assert rows == 1


async def test_empty_text_gets_a_polite_prompt(chat: TestClient) -> None:
    replies = await say(chat, str(uuid.uuid4()), text="   \n ")
    assert services_of(chat).content.ui("en", "empty_text") in replies


async def test_overlong_text_is_cut_and_the_user_told(chat: TestClient) -> None:
    replies = await say(chat, str(uuid.uuid4()), text="minimum wage " * 500)
    assert services_of(chat).content.ui("en", "too_long_cut") in replies[0]


async def test_language_choice_is_remembered(chat: TestClient) -> None:
    session = str(uuid.uuid4())
    await chat_post(chat, session, payload="lang:th")
    await chat_post(chat, session, text="hello")
    services = services_of(chat)
    await Worker(services).drain()
    replies = await replies_to(services, session)
    assert services.content.ui("th", "language_set") in replies


async def test_a_chosen_language_is_kept_without_guessing(
    chat: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An English question after choosing Thai is answered in Thai, and the text's
    language is not even guessed (langdetect is the costliest step of a Latin text)."""
    session = str(uuid.uuid4())
    await say(chat, session, payload="lang:th")
    guessed: list[str] = []
    monkeypatch.setattr(pipeline, "detect_language", lambda text, *_: guessed.append(text))
    replies = await say(chat, session, text="what is the minimum wage in tak?")
    assert guessed == []
    assert replies
    async with services_of(chat).db() as db:
        assert await db.scalar(select(Contact.language)) == "th"


async def test_event_stream_sends_replies_in_order(chat: TestClient) -> None:
    session = str(uuid.uuid4())
    await chat_post(chat, session, start=True)
    await chat_post(chat, session, payload="menu")
    services = services_of(chat)
    await Worker(services).drain()
    response = await chat.get(f"/chat/events?session={session}")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    received = b""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.5):
            async for chunk in response.content.iter_any():
                received += chunk
    events = [
        json.loads(line[5:]) for line in received.decode().splitlines() if line.startswith("data:")
    ]
    texts = [r["text"] for event in events for r in event["replies"]]
    assert texts[0].startswith(services.content.ui("en", "welcome")[:20])
    assert texts[-1] == services.content.ui("en", "menu_prompt")
    assert len(texts) == len(await replies_to(services, session))


async def test_health_and_metrics(chat: TestClient) -> None:
    health = await (await chat.get("/healthz")).json()
    assert health["database"] == "ok"
    assert health["nlu"] == "degraded"  # nothing listens at the NLU address in this test
    metrics = await (await chat.get("/metrics")).text()
    assert "bot_messages_in_total" in metrics
    assert "bot_queue_depth" in metrics


async def test_a_flood_is_answered_once_and_an_urgent_message_in_it_still_escalates(
    chat: TestClient,
) -> None:
    session = str(uuid.uuid4())
    services = services_of(chat)
    limit = services.settings.max_messages_per_minute
    for n in range(limit + 5):
        await chat_post(chat, session, text=f"hello again {n}")
    await chat_post(chat, session, text="help my boss locked me in the room i cannot leave")
    await Worker(services).drain()
    replies = await replies_to(services, session)
    assert replies.count(services.content.ui("en", "rate_limited")) == 1
    urgent_title = services.content.topic("en", "urgent_trapped").title
    assert any(urgent_title in r for r in replies[-3:])
    assert await inbox_count(services) == limit + 6  # nothing received is lost


async def test_urgent_first_message_gets_safety_steps_before_anything_else(
    chat: TestClient,
) -> None:
    session = str(uuid.uuid4())
    await chat_post(chat, session, text="my boss locked me in the room i cannot leave help")
    services = services_of(chat)
    await Worker(services).drain()
    replies = await replies_to(services, session)
    trapped = services.content.topic("en", "urgent_trapped")
    assert replies[0].startswith(trapped.title)
    assert trapped.steps[0] in replies[0]
    assert services.content.ui("en", "consent_ask") in replies
    assert replies.index(services.content.ui("en", "privacy_notice")) > 0
