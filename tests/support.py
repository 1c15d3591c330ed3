"""Helpers shared by tests: settings, databases, running the app and workers."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.config import ROOT, Settings, load_settings
from bot.crypto import new_key, pseudonym
from bot.outbox import decode_payload
from bot.services import Services
from bot.storage.db import create_engine, migrate
from bot.storage.models import Contact, OutboxMessage
from bot.web import SERVICES, create_app
from bot.worker import Worker

PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TEST_SECRETS = {
    "PSEUDONYM_KEY": "test-pseudonym-key-0123456789",
    "ENCRYPTION_KEYS": new_key(),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_environment(database_url: str, **extra: str) -> dict[str, str]:
    return {**TEST_SECRETS, "DATABASE_URL": database_url, **extra}


def make_settings(database_url: str, **extra: str) -> Settings:
    return load_settings(environ=process_environment(database_url, **extra))


async def postgres_available() -> str | None:
    """None if the test PostgreSQL answers, else the reason it does not."""
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {PG_ADMIN_DSN} is not reachable: {type(exc).__name__}: {exc}"
    await conn.close()
    return None


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A new, migrated database of its own, dropped afterwards: tests never interfere."""
    name = f"bot_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def sqlite_database(folder: Path) -> AsyncIterator[str]:
    url = f"sqlite+aiosqlite:///{folder / 'bot.db'}"
    engine = create_engine(url)
    await migrate(engine)
    await engine.dispose()
    yield url


def start_process(
    args: list[str], env: Mapping[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
    )


async def wait_until(predicate, within: float = 60.0, interval: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    """Poll an async predicate; fail the test with a clear message on timeout."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if await predicate():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


FIXTURE_NLU_CONTENT = ROOT / "tests" / "nlu" / "fixtures" / "content"


def content_nlu_model(data_dir: Path) -> Path:
    """The Rasa model of content/, the one `make model` trains. nlu.train names models by
    the hash of their data, config and tokenizer, so it trains only when none is cached in
    nlu/models (1-2 min). Raises SystemExit when Rasa is missing or training fails."""
    from nlu.rasa_env import CONFIG, CONTENT_DIR, MODELS_DIR
    from nlu.train import train

    return train(CONTENT_DIR, CONFIG, MODELS_DIR, data_dir=data_dir)


def dead_nlu_url() -> str:
    """An NLU address where nothing listens: the client falls back to keywords at once."""
    return f"http://127.0.0.1:{free_port()}"


# --- the web chat, as a test client sees it -----------------------------------------------


@asynccontextmanager
async def chat_client(database_url: str, **extra: str) -> AsyncIterator[TestClient]:
    """The app with no NLU (keyword fallback) and no embedded worker: tests drain it."""
    settings = make_settings(
        database_url, NLU_URL=dead_nlu_url(), BOT__SERVICE__EMBEDDED_WORKER="false", **extra
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


def services_of(client: TestClient) -> Services:
    return client.server.app[SERVICES]


def new_contact(services: Services, platform: str, **columns: Any) -> Contact:
    """A contact of a new random platform user, its id pseudonymised and its address
    encrypted as the bot stores them; not yet added to a session."""
    user_id = str(uuid.uuid4())
    return Contact(
        platform=platform,
        pseudonym=pseudonym(services.settings.pseudonym_key, platform, user_id),
        address_enc=services.vault.encrypt_json({"user_id": user_id, "address": {}}),
        **columns,
    )


async def chat_post(client: TestClient, session: str, **body: object) -> int:
    """One web chat message (a fresh id each time); the HTTP status."""
    body = {"session": session, "id": str(uuid.uuid4()), **body}
    response = await client.post("/chat/messages", json=body)
    return response.status


async def say(client: TestClient, session: str, **body: object) -> list[str]:
    """Send one message, let the worker handle it, return the texts of the new replies."""
    services = services_of(client)
    async with services.db() as db:
        before = int(await db.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))))
    assert await chat_post(client, session, **body) == 200
    await Worker(services).drain()
    return await replies_to(services, session, after=before)


async def stream_replies_until(
    response: aiohttp.ClientResponse, text: str, within: float
) -> list[str]:
    """The replies a web chat event stream (/chat/events) sends, in order, up to the reply
    `text`; all it sent if it ends first. Raises TimeoutError after `within` seconds."""
    seen: list[str] = []
    async with asyncio.timeout(within):
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("data: "):
                seen.extend(r["text"] for r in json.loads(line[6:])["replies"])
                if text in seen:
                    break
    return seen


async def replies_to(services: Services, session: str, after: int = 0) -> list[str]:
    """The texts queued for a web chat session, in order; only rows after outbox id `after`."""
    recipient = pseudonym(services.settings.pseudonym_key, "webchat", session)
    async with services.db() as db:
        rows = (
            await db.execute(
                select(OutboxMessage.payload_enc)
                .where(OutboxMessage.recipient == recipient, OutboxMessage.id > after)
                .order_by(OutboxMessage.id)
            )
        ).scalars()
        return [
            r.text for row in rows if row for r in decode_payload(services.vault, row)["replies"]
        ]


def logged(path: Path, event: str, key: str) -> list:
    """The `key` of every JSON log line of `event` that a process wrote to `path`."""
    values = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("event") == event:
            values.append(record.get(key))
    return values
