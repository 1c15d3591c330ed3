"""The webhook asks the NLU about a question as soon as it takes it, when the worker that
handles it runs in the same process (bot/parse_early.py); the worker takes that answer
instead of asking again, within the same bounds as its own parses. On SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from bot import parse_early
from bot.messages import EventKind, Incoming
from bot.parse_early import PARALLEL_PARSES, EarlyParses
from bot.pipeline import command_word
from bot.worker import Worker
from nlu.types import Prediction
from tests.support import chat_client, chat_post, replies_to, services_of
from tests.test_parse_ahead import FLOOD_LIMIT, RecordingClassifier, session_id


class GatedClassifier(RecordingClassifier):
    """Answers like RecordingClassifier once `opened` is set; `failing` texts raise."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.opened = asyncio.Event()
        self.opened.set()
        self.failing: set[str] = set()

    async def classify(self, text: str, language: str) -> Prediction:
        prediction = await super().classify(text, language)
        await self.opened.wait()
        if text in self.failing:
            self.failing.discard(text)
            raise RuntimeError("rasa went away")
        return prediction


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[TestClient]:
    limit = {"BOT__SERVICE__MAX_MESSAGES_PER_MINUTE": str(FLOOD_LIMIT)}
    async with chat_client(database_url, **limit) as client:
        services = services_of(client)
        services.classifier = GatedClassifier("rasa", services.engine)
        services.early_parses = EarlyParses(services, command_word)
        yield client
        services.early_parses.close()


def classifier_of(client: TestClient) -> GatedClassifier:
    classifier = services_of(client).classifier
    assert isinstance(classifier, GatedClassifier)
    return classifier


async def answered_with_wages(client: TestClient, session: str) -> bool:
    replies = await replies_to(services_of(client), session)
    return any("minimum daily wage" in reply for reply in replies)


async def test_a_question_is_asked_once_at_the_webhook_and_answered(client: TestClient) -> None:
    classifier = classifier_of(client)
    sessions = [session_id() for _ in range(3)]
    for n, session in enumerate(sessions):
        assert await chat_post(client, session, text=f"minimum wage in tak {n}?") == 200
    # Asked before any worker ran: by the webhook, outside any transaction.
    assert sorted(classifier.texts) == [f"minimum wage in tak {n}?" for n in range(3)]
    assert classifier.connections_in_use == [0, 0, 0]
    await Worker(services_of(client)).drain()
    assert len(classifier.texts) == 3  # the worker took the answers, it did not ask again
    for session in sessions:
        assert await answered_with_wages(client, session)


async def test_what_needs_no_nlu_is_not_asked(client: TestClient) -> None:
    classifier = classifier_of(client)
    for body in ({"text": "menu"}, {"text": "123 !!"}, {"payload": "menu"}):
        assert await chat_post(client, session_id(), **body) == 200
    await Worker(services_of(client)).drain()
    assert classifier.texts == []


async def test_no_more_than_the_flood_limit_is_asked_for_one_sender(client: TestClient) -> None:
    classifier = classifier_of(client)
    flood = session_id()
    for n in range(FLOOD_LIMIT + 3):
        assert await chat_post(client, flood, text=f"minimum wage {n}") == 200
    assert len(classifier.texts) == FLOOD_LIMIT
    await Worker(services_of(client)).drain()
    # The worker answers the rest without the NLU, as without early parses.
    assert len(classifier.texts) == FLOOD_LIMIT


async def test_a_burst_past_the_parallel_limit_is_left_to_the_worker(client: TestClient) -> None:
    classifier = classifier_of(client)
    classifier.opened.clear()  # Rasa is slow: the early parses stay in flight
    sessions = [session_id() for _ in range(PARALLEL_PARSES + 2)]
    for n, session in enumerate(sessions):
        assert await chat_post(client, session, text=f"minimum wage in tak {n}?") == 200
    await asyncio.sleep(0)
    assert len(classifier.texts) == PARALLEL_PARSES
    classifier.opened.set()
    await Worker(services_of(client)).drain()
    # Each question asked once: the early ones by the webhook, the others by the worker.
    assert sorted(classifier.texts) == [f"minimum wage in tak {n}?" for n in range(len(sessions))]
    for session in sessions:
        assert await answered_with_wages(client, session)


async def test_a_failed_early_parse_is_asked_again_by_the_pipeline(client: TestClient) -> None:
    classifier = classifier_of(client)
    classifier.failing.add("minimum wage in tak?")
    session = session_id()
    assert await chat_post(client, session, text="minimum wage in tak?") == 200
    await Worker(services_of(client)).drain()
    assert classifier.texts == ["minimum wage in tak?", "minimum wage in tak?"]
    assert await answered_with_wages(client, session)


def question(text: str, event_id: str | None = None) -> Incoming:
    return Incoming(
        platform="line",
        event_id=event_id or uuid.uuid4().hex,
        user_id="u1",
        kind=EventKind.TEXT,
        text=text,
    )


async def test_an_answer_is_taken_only_for_its_event_and_text(client: TestClient) -> None:
    early = EarlyParses(services_of(client), command_word)
    asked = question("minimum wage in tak?")
    early.ask([asked])
    assert early.take(question("minimum wage in tak?"), "minimum wage in tak?") is None
    assert early.take(asked, "minimum wage in chiang rai?") is None  # and it is gone
    early.ask([asked])
    answer = early.take(asked, "minimum wage in tak?")
    assert answer is not None and (await answer).intent == "wage_minimum"
    assert early.take(asked, "minimum wage in tak?") is None  # taken once


async def test_answers_nobody_took_are_dropped_after_a_minute(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(parse_early.time, "monotonic", lambda: now[0])
    early = EarlyParses(services_of(client), command_word)
    old = question("minimum wage in tak?")
    early.ask([old])
    now[0] += parse_early.KEEP_SECONDS + parse_early.SWEEP_SECONDS
    fresh = question("minimum wage in sa kaeo?")
    early.ask([fresh])
    assert early.take(old, "minimum wage in tak?") is None
    assert early.take(fresh, "minimum wage in sa kaeo?") is not None
