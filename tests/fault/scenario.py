"""The fault scenario: web + workers as real processes against one PostgreSQL, real HTTP
traffic, faults injected mid-way; then count what went in and what came out.

Used by tests/fault/test_faults.py (bounded) and `python -m tests.fault.report` (writes
docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import func, select

from bot.content import Content
from bot.crypto import Vault
from bot.outbox import decode_payload
from bot.storage.db import create_engine, session_factory
from bot.storage.models import InboxEvent, OutboxMessage
from nlu.types import LANGUAGES
from tests.support import (
    TEST_SECRETS,
    dead_nlu_url,
    free_port,
    process_environment,
    start_process,
    wait_until,
)

URGENT_TEXTS = ("help I am trapped on the boat", "นายจ้างทำร้ายร่างกาย ช่วยด้วย")
PLAIN_TEXTS = ("what is the minimum wage", "ค่าแรงขั้นต่ำเท่าไหร่", "hello", "social security")


@dataclass
class Report:
    messages: int = 0
    urgent: int = 0
    redelivered: int = 0
    http_retries: int = 0
    faults: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    inbox_rows: int = 0
    handled: int = 0
    lost: int = 0
    replies: int = 0
    duplicate_replies: int = 0
    sends_logged_twice: int = 0
    urgent_escalated: int = 0
    seconds: float = 0.0
    stuck: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class Cluster:
    """`bot run` (web, no embedded worker) and `bot worker` processes."""

    def __init__(self, url: str, folder: Path, workers: int) -> None:
        self.port = free_port()
        self.env = process_environment(
            url,
            NLU_URL=dead_nlu_url(),
            PORT=str(self.port),
            BOT__SERVICE__EMBEDDED_WORKER="false",
            BOT__SERVICE__MAX_MESSAGES_PER_MINUTE="1000",
            BOT__RATELIMIT__CHAT_BURST="100000",
            BOT__RATELIMIT__CHAT_PER_MINUTE="100000",
            BOT__WORKER__LEASE_SECONDS="5",
            BOT__WORKER__BACKOFF_BASE_SECONDS="0.2",
            BOT__WORKER__BACKOFF_MAX_SECONDS="2",
        )
        self.folder = folder
        self.web = start_process(["-m", "bot.cli", "run"], self.env, folder / "web.log")
        self.workers = [self.start_worker(i) for i in range(workers)]
        self.base = f"http://127.0.0.1:{self.port}"

    def start_worker(self, index: int) -> subprocess.Popen[bytes]:
        log = self.folder / f"worker{index}-{time.monotonic_ns()}.log"
        return start_process(["-m", "bot.cli", "worker"], self.env, log)

    def kill_worker(self, index: int) -> None:
        self.workers[index].send_signal(signal.SIGKILL)
        self.workers[index].wait(timeout=10)
        self.workers[index] = self.start_worker(index)

    def stop(self) -> None:
        for process in [self.web, *self.workers]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [self.web, *self.workers]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


async def post_until_stored(
    http: aiohttp.ClientSession, base: str, body: dict, report: Report
) -> None:
    """Like the web chat's script: retry with the same id until the server says 200."""
    for attempt in range(60):
        try:
            async with http.post(f"{base}/chat/messages", json=body) as response:
                if response.status == 200:
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        report.http_retries += 1
        await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
    raise AssertionError("a message was never accepted")


async def drop_connections(url: str) -> int:
    """pg_terminate_backend on every connection of the app's database but ours."""
    database = url.rsplit("/", 1)[-1]
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        return len(rows)
    finally:
        await conn.close()


async def run_scenario(
    url: str, folder: Path, *, sessions: int = 30, per_session: int = 4, workers: int = 2
) -> Report:
    report = Report()
    started = time.monotonic()
    cluster = Cluster(url, folder, workers)
    bodies: list[dict] = []
    urgent_ids: set[str] = set()
    for s in range(sessions):
        session = str(uuid.uuid4())
        for m in range(per_session):
            urgent = m == 1 and s % 3 == 0
            text = (URGENT_TEXTS if urgent else PLAIN_TEXTS)[(s + m) % 2]
            body = {"session": session, "id": str(uuid.uuid4()), "text": text}
            if urgent:
                urgent_ids.add(f"{session}:{body['id']}")
            bodies.append(body)
    report.messages, report.urgent = len(bodies), len(urgent_ids)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:

            async def web_up() -> bool:
                try:
                    async with http.get(f"{cluster.base}/healthz") as response:
                        return response.status in (200, 503)
                except aiohttp.ClientError:
                    return False

            await wait_until(web_up, within=60)
            third = len(bodies) // 3
            # Messages of one session go in order, sessions side by side.
            for index in range(0, len(bodies), sessions):
                wave = bodies[index : index + sessions]
                await asyncio.gather(
                    *(post_until_stored(http, cluster.base, b, report) for b in wave)
                )
                if index <= third < index + sessions:
                    cluster.kill_worker(0)
                    report.faults.append("worker 0 SIGKILLed mid-traffic and restarted")
                if index <= 2 * third < index + sessions:
                    dropped = await drop_connections(url)
                    report.faults.append(
                        f"pg_terminate_backend on all {dropped} connections of the app"
                    )
            # A platform redelivering: the same events again.
            redelivered = bodies[::7]
            await asyncio.gather(
                *(post_until_stored(http, cluster.base, b, report) for b in redelivered)
            )
            report.redelivered = len(redelivered)
            report.faults.append(f"{len(redelivered)} events redelivered")

        engine = create_engine(url)
        db = session_factory(engine)

        async def drained() -> bool:
            async with db() as session:
                pending = await session.scalar(
                    select(func.count()).select_from(InboxEvent).where(InboxEvent.state != "done")
                )
                unsent = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.state != "sent")
                )
                total = await session.scalar(select(func.count()).select_from(InboxEvent))
            return total == len(bodies) and pending == 0 and unsent == 0

        with contextlib.suppress(AssertionError):  # what is missing is counted below
            await wait_until(drained, within=240, interval=0.5)
        await count(db, report, urgent_ids)
        await engine.dispose()
    finally:
        cluster.stop()
    report.sends_logged_twice = sends_logged_twice(folder)
    report.skipped += [
        "fake LINE/Telegram/Messenger answering 429/500/timeouts: the channels and tests/fakes"
        " landed on main during this work; the scenario drives the web chat only so far",
        "Rasa killed and restarted mid-traffic: no trained model in nlu/models; the run uses"
        " the keyword fallback (NLU unreachable throughout)",
    ]
    report.seconds = round(time.monotonic() - started, 1)
    return report


async def count(db, report: Report, urgent_ids: set[str]) -> None:  # type: ignore[no-untyped-def]
    vault = Vault((TEST_SECRETS["ENCRYPTION_KEYS"],))
    from bot.config import ROOT

    content = Content(ROOT / "content")
    consent_asks = {content.ui(lang, "consent_ask") for lang in LANGUAGES}
    async with db() as session:
        inbox = (
            await session.execute(select(InboxEvent.id, InboxEvent.event_id, InboxEvent.state))
        ).all()
        outbox = (
            await session.execute(
                select(
                    OutboxMessage.idempotency_key, OutboxMessage.state, OutboxMessage.payload_enc
                )
            )
        ).all()
        states = await session.execute(
            select(InboxEvent.state, func.count()).group_by(InboxEvent.state)
        )
        report.stuck = {f"inbox.{s}": n for s, n in states.all() if s != "done"}
        out_states = await session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
        report.stuck.update({f"outbox.{s}": n for s, n in out_states.all() if s != "sent"})
    report.inbox_rows = len(inbox)
    report.handled = sum(1 for _, _, state in inbox if state == "done")
    report.lost = report.messages - report.handled
    keys = [key for key, _, _ in outbox]
    report.replies = sum(1 for _, state, _ in outbox if state == "sent")
    report.duplicate_replies = len(keys) - len(set(keys))
    replies_per_event = {}
    for key in keys:
        replies_per_event[key] = replies_per_event.get(key, 0) + 1
    by_key = {key: payload for key, _, payload in outbox}
    for row_id, event_id, _ in inbox:
        if event_id in urgent_ids and f"in:{row_id}" in by_key:
            replies = decode_payload(vault, by_key[f"in:{row_id}"])["replies"]
            if any(r.text in consent_asks for r in replies):
                report.urgent_escalated += 1


def sends_logged_twice(folder: Path) -> int:
    sends: dict[int, int] = {}
    for log in folder.glob("worker*.log"):
        for line in log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("event") == "outbox_sent":
                sends[record["outbox_id"]] = sends.get(record["outbox_id"], 0) + 1
    return sum(1 for n in sends.values() if n > 1)


def dump(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False)
