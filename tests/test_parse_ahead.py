"""The worker asks the NLU for a claimed batch before the batch's transaction
(bot/parse_ahead.py), and the pipeline uses those answers instead of asking again. On
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.pipeline import Outcome
from bot.storage.models import InboxEvent
from bot.worker import Worker
from nlu.types import Prediction
from tests.support import chat_client, chat_post, replies_to, services_of

FLOOD_LIMIT = 3


class RecordingClassifier:
    """Answers every text as wage_minimum from the given source, and keeps what it got and
    how many database connections were in use (in a transaction) at each call."""

    def __init__(self, source: str, engine: AsyncEngine) -> None:
        self.source = source
        self.engine = engine
        self.texts: list[str] = []
        self.connections_in_use: list[int] = []

    async def classify(self, text: str, language: str) -> Prediction:
        self.texts.append(text)
        self.connections_in_use.append(self.engine.pool.checkedout())
        ranking = (("wage_minimum", 0.95), ("wage_unpaid", 0.03))
        return Prediction("wage_minimum", 0.95, ranking, source=self.source)

    async def healthy(self) -> bool:
        return True


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[TestClient]:
    limit = {"BOT__SERVICE__MAX_MESSAGES_PER_MINUTE": str(FLOOD_LIMIT)}
    async with chat_client(database_url, **limit) as client:
        yield client


def session_id() -> str:
    return str(uuid.uuid4())


def recording(client: TestClient, source: str) -> RecordingClassifier:
    services = services_of(client)
    classifier = RecordingClassifier(source, services.engine)
    services.classifier = classifier
    return classifier


async def send(client: TestClient, messages: list[tuple[str, dict[str, Any]]]) -> None:
    for session, body in messages:
        assert await chat_post(client, session, **body) == 200
    await Worker(services_of(client)).drain()


async def test_each_question_is_parsed_once_before_its_transaction(client: TestClient) -> None:
    classifier = recording(client, "rasa")
    questions = [(session_id(), {"text": f"minimum wage in tak {i}?"}) for i in range(5)]
    await send(client, questions)
    assert sorted(classifier.texts) == sorted(body["text"] for _, body in questions)
    assert classifier.connections_in_use == [0] * len(questions)  # no transaction open
    for session, _ in questions:
        replies = await replies_to(services_of(client), session)
        assert any("minimum daily wage" in reply for reply in replies), replies


async def test_what_needs_no_nlu_is_not_parsed(client: TestClient) -> None:
    classifier = recording(client, "rasa")
    await send(
        client,
        [
            (session_id(), {"text": "menu"}),  # a command word
            (session_id(), {"text": "123 !!"}),  # no words: the menu
            (session_id(), {"payload": "menu"}),  # a button
        ],
    )
    assert classifier.texts == []


async def test_a_flooding_sender_is_not_parsed_ahead(client: TestClient) -> None:
    classifier = recording(client, "rasa")
    flood = session_id()
    await send(client, [(flood, {"text": f"minimum wage {i}"}) for i in range(FLOOD_LIMIT + 3)])
    # The pipeline parses the first FLOOD_LIMIT; the rest are answered without the NLU.
    assert len(classifier.texts) == FLOOD_LIMIT


async def test_a_fallback_answer_is_asked_again_in_the_transaction(client: TestClient) -> None:
    """The keyword fallback's answer depends on the language the pipeline settles on."""
    classifier = recording(client, "keywords")
    await send(client, [(session_id(), {"text": "minimum wage in tak?"})])
    assert classifier.texts == ["minimum wage in tak?", "minimum wage in tak?"]
    assert classifier.connections_in_use[0] == 0
    assert classifier.connections_in_use[1] > 0  # the second time, inside the transaction


async def test_an_event_that_does_not_decode_fails_alone(client: TestClient) -> None:
    """Decoding for the NLU ahead must not stall the batch: the broken event is recorded
    as failed on its own row, the others are answered."""
    classifier = recording(client, "rasa")
    services = services_of(client)
    sessions = [session_id() for _ in range(3)]
    for session in sessions:
        assert await chat_post(client, session, text="minimum wage in tak?") == 200
    async with services.db.begin() as db:
        broken = await db.scalar(select(func.min(InboxEvent.id)))
        await db.execute(
            update(InboxEvent).where(InboxEvent.id == broken).values(payload_enc=b"not a token")
        )
    await Worker(services).drain()
    async with services.db() as db:
        rows = (await db.execute(select(InboxEvent).order_by(InboxEvent.id))).scalars().all()
    assert [(r.state, r.attempts) for r in rows[1:]] == [("done", 1), ("done", 1)]
    assert rows[0].state in {"pending", "dead"} and rows[0].attempts == 1
    assert rows[0].last_error == "InvalidToken"
    assert len(classifier.texts) == 2
    for session in sessions[1:]:
        replies = await replies_to(services, session)
        assert any("minimum daily wage" in reply for reply in replies), replies


class FailingOnceClassifier(RecordingClassifier):
    """Raises on its first call (the one asked ahead), then answers."""

    async def classify(self, text: str, language: str) -> Prediction:
        if not self.texts:
            self.texts.append(text)
            raise RuntimeError("classifier broke")
        return await super().classify(text, language)


async def test_a_classifier_that_raises_ahead_leaves_the_text_to_the_pipeline(
    client: TestClient,
) -> None:
    services = services_of(client)
    services.classifier = classifier = FailingOnceClassifier("rasa", services.engine)
    session = session_id()
    assert await chat_post(client, session, text="minimum wage in tak?") == 200
    await Worker(services).drain()
    assert classifier.texts == ["minimum wage in tak?", "minimum wage in tak?"]
    replies = await replies_to(services, session)
    assert any("minimum daily wage" in reply for reply in replies), replies


@pytest.fixture
async def small_batches(database_url: str) -> AsyncIterator[TestClient]:
    async with chat_client(database_url, BOT__WORKER__BATCH_SIZE="2") as client:
        yield client


async def test_the_next_batch_is_parsed_while_this_one_is_handled(
    small_batches: TestClient,
) -> None:
    """Rasa parses batch k+1 while the worker writes batch k, each text once."""
    client = small_batches
    services = services_of(client)
    steps: list[str] = []

    class Logging(RecordingClassifier):
        async def classify(self, text: str, language: str) -> Prediction:
            steps.append(f"parse {text}")
            return await super().classify(text, language)

    class LoggingWorker(Worker):
        def _handled(self, row_id: int, outcome: Outcome, platform: str) -> None:
            steps.append(f"handled {row_id}")
            super()._handled(row_id, outcome, platform)

    services.classifier = classifier = Logging("rasa", services.engine)
    questions = [(session_id(), {"text": f"minimum wage in tak {i}?"}) for i in range(6)]
    for session, body in questions:
        assert await chat_post(client, session, **body) == 200
    await LoggingWorker(services).drain()
    assert sorted(classifier.texts) == sorted(body["text"] for _, body in questions)
    # batches of two: the second batch's questions go to Rasa before the first is written
    assert steps.index("parse minimum wage in tak 2?") < steps.index("handled 1")
    assert steps.index("parse minimum wage in tak 4?") < steps.index("handled 3")
    for session, _ in questions:
        replies = await replies_to(services, session)
        assert any("minimum daily wage" in reply for reply in replies), replies


async def test_one_senders_questions_keep_their_order(small_batches: TestClient) -> None:
    """The batch claimed ahead never holds a later question of a sender whose earlier one
    is still being handled."""
    client = small_batches
    classifier = recording(client, "rasa")
    session = session_id()
    texts = [f"minimum wage in tak {i}?" for i in range(4)]
    await send(client, [(session, {"text": text}) for text in texts])
    assert classifier.texts == texts
    async with services_of(client).db() as db:
        handled = (
            (await db.execute(select(InboxEvent.processed_at).order_by(InboxEvent.id)))
            .scalars()
            .all()
        )
    assert handled == sorted(handled)


async def test_a_batch_claimed_ahead_is_handled_before_the_worker_stops(
    small_batches: TestClient,
) -> None:
    client = small_batches
    recording(client, "rasa")
    services = services_of(client)
    for i in range(2):
        assert await chat_post(client, session_id(), text=f"minimum wage {i}") == 200
    worker = Worker(services)
    worker._ahead = await worker._claim_batch()  # as if claimed while a batch was handled
    stop = asyncio.Event()
    stop.set()
    await worker.run(stop)
    async with services.db() as db:
        states = (await db.execute(select(InboxEvent.state))).scalars().all()
    assert states == ["done", "done"]


async def test_a_batch_of_one_claims_nothing_ahead(database_url: str) -> None:
    """A worker that keeps up gets batches of one; a claim ahead would only delay them."""
    async with chat_client(database_url, BOT__WORKER__BATCH_SIZE="1") as client:
        recording(client, "rasa")
        for i in range(2):
            assert await chat_post(client, session_id(), text=f"minimum wage {i}") == 200
        worker = Worker(services_of(client))
        assert await worker.process_inbox_once() == 1
        assert worker._ahead is None
        assert await worker.process_inbox_once() == 1


async def test_a_parse_ahead_that_fails_leaves_the_texts_to_the_pipeline(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asking ahead is a shortcut: if it fails (say its database read), the batch is
    handled at once, each text classified in the pipeline, not left until its lease ends."""

    async def broken(*_args: object) -> dict:
        raise RuntimeError("database went away")

    monkeypatch.setattr("bot.worker.parse_ahead", broken)
    classifier = recording(client, "rasa")
    session = session_id()
    await send(client, [(session, {"text": "minimum wage in tak?"})])
    assert classifier.texts == ["minimum wage in tak?"]
    assert classifier.connections_in_use == [1]  # asked inside the transaction
    replies = await replies_to(services_of(client), session)
    assert any("minimum daily wage" in reply for reply in replies), replies
