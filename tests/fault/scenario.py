"""The fault scenario: web + workers as real processes against one PostgreSQL, a real Rasa
server, the fake LINE/Telegram/Messenger; real HTTP traffic (web chat and signed platform
webhooks), faults injected mid-way; then count what went in and what came out.

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
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.config import ROOT
from bot.content import Content
from bot.crypto import Vault
from bot.outbox import decode_payload
from bot.storage.db import create_engine, session_factory
from bot.storage.models import InboxEvent, OutboxMessage
from nlu.types import LANGUAGES
from tests.fault.platforms import PLATFORMS, ROUNDS, Event, Platforms, Received
from tests.fault.rasa import RasaServer, content_model
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
# Outbox rows end "sent", or "unknown": the dead letter of a send interrupted after the
# platform may have taken it (never sent again). "dead" would be a permanent failure.
FINAL_OUTBOX_STATES = ("sent", "unknown", "dead")
LATE_DUPLICATE_GRACE_S = 1.0


@dataclass
class Report:
    messages: int = 0
    by_platform: dict[str, int] = field(default_factory=dict)
    urgent: int = 0
    redelivered: int = 0
    http_retries: int = 0
    faults: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    inbox_rows: int = 0
    handled: int = 0
    lost: int = 0
    replies: int = 0  # outbox rows sent
    unknown: int = 0  # outbox rows dead-lettered as "unknown"
    duplicate_replies: int = 0
    sends_logged_twice: int = 0
    urgent_escalated: int = 0
    platforms: dict[str, Received] = field(default_factory=dict)
    rate_limited: int = 0  # 429s the fakes answered
    retries_after_429: int = 0
    retries_before_hint: int = 0
    line_retry_keys_refused: int = 0
    scripted_failures_unmet: int = 0
    nlu: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    stuck: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["platforms"] = {p: asdict(r) for p, r in self.platforms.items()}
        return data


class Cluster:
    """`bot run` (web, no embedded worker) and `bot worker` processes."""

    def __init__(self, url: str, folder: Path, workers: int, **env: str) -> None:
        self.port = free_port()
        self.env = process_environment(
            url,
            PORT=str(self.port),
            BOT__SERVICE__EMBEDDED_WORKER="false",
            BOT__SERVICE__MAX_MESSAGES_PER_MINUTE="1000",
            BOT__RATELIMIT__CHAT_BURST="100000",
            BOT__RATELIMIT__CHAT_PER_MINUTE="100000",
            BOT__WORKER__LEASE_SECONDS="5",
            BOT__WORKER__BACKOFF_BASE_SECONDS="0.2",
            BOT__WORKER__BACKOFF_MAX_SECONDS="2",
            # Back to Rasa within a second of it answering again (the half-open trial).
            BOT__NLU__BREAKER_COOLDOWN_SECONDS="1",
            **env,
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

    async def health(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        try:
            async with http.get(f"{self.base}/healthz") as response:
                return await response.json()
        except (aiohttp.ClientError, ValueError):
            return {}


@dataclass(frozen=True, slots=True)
class Post:
    """One event as the web process gets it."""

    path: str
    data: bytes
    headers: dict[str, str]
    key: tuple[str, str]  # (platform, event id) as the inbox stores it
    urgent: bool


def webchat_post(session: str, text: str, urgent: bool) -> Post:
    body = {"session": session, "id": str(uuid.uuid4()), "text": text}
    return Post(
        "/chat/messages",
        json.dumps(body, ensure_ascii=False).encode(),
        {"Content-Type": "application/json"},
        ("webchat", f"{session}:{body['id']}"),
        urgent,
    )


def platform_post(event: Event, urgent: bool) -> Post:
    path = f"/webhooks/{event.platform}"
    return Post(path, event.body, event.headers, (event.platform, event.event_id), urgent)


def traffic(sessions: int, per_session: int, platforms: Platforms, outage: int) -> list[list[Post]]:
    """Waves: message m of every sender (web chat sessions and platform users) in wave m.

    One sender in three says something urgent in wave 1, another in three during the NLU
    outage (wave `outage`); the rest ask plain questions, in English and Thai."""
    users = max(3, sessions // 5)  # per platform
    senders: list[tuple[str, int]] = [("webchat", s) for s in range(sessions)]
    senders += [(p, u) for p in PLATFORMS for u in range(users)]
    webchat_sessions = [str(uuid.uuid4()) for _ in range(sessions)]
    waves = []
    for m in range(per_session):
        wave = []
        for platform, s in senders:
            urgent = (m == 1 and s % 3 == 0) or (m == outage and s % 3 == 1)
            text = (URGENT_TEXTS if urgent else PLAIN_TEXTS)[(s + m) % 2]
            if platform == "webchat":
                wave.append(webchat_post(webchat_sessions[s], text, urgent))
            else:
                wave.append(platform_post(platforms.event(platform, s, m, text), urgent))
        waves.append(wave)
    return waves


async def post_until_stored(
    http: aiohttp.ClientSession, base: str, post: Post, report: Report
) -> None:
    """Like a platform or the web chat's script: send again, same id, until it gets a 200."""
    for attempt in range(60):
        try:
            async with http.post(f"{base}{post.path}", data=post.data, headers=post.headers) as r:
                if r.status == 200:
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


class NluOutage:
    """Rasa up for the first half of the traffic, SIGKILLed, started again at once; the
    outage lasts while it loads. What /healthz said and when, for the report."""

    def __init__(self, rasa: RasaServer, report: Report) -> None:
        self.rasa = rasa
        self.report = report
        self.killed_at: datetime | None = None
        self.back_at: datetime | None = None

    async def kill_and_restart(self, cluster: Cluster, http: aiohttp.ClientSession) -> None:
        self.rasa.kill()
        self.killed_at = datetime.now(UTC)
        self.rasa.start()
        self.report.nlu["healthz_during_outage"] = (await cluster.health(http)).get("nlu")
        self.report.faults.append("Rasa SIGKILLed mid-traffic and started again at once")

    async def wait_back(self, cluster: Cluster, http: aiohttp.ClientSession) -> None:
        self.report.nlu["restart_seconds"] = round(await self.rasa.ready(), 1)
        self.back_at = datetime.now(UTC)

        async def healthy() -> bool:
            return (await cluster.health(http)).get("nlu") == "ok"

        await wait_until(healthy, within=30, interval=0.5)
        self.report.nlu["healthz_after_restart"] = "ok"


@dataclass(frozen=True, slots=True)
class Plan:
    """After which wave (message m of every sender) each fault comes."""

    waves: int

    @property
    def kill_worker_after(self) -> int:
        return self.waves // 3

    @property
    def drop_db_after(self) -> int:
        return 2 * self.waves // 3

    @property
    def kill_rasa_after(self) -> int:
        return (self.waves - 1) // 2  # about halfway

    @property
    def rasa_back_before(self) -> int:
        return self.waves - 1  # the last wave goes to Rasa again

    def script_failures_after(self, index: int) -> bool:
        return index < min(len(ROUNDS), self.waves - 1)


async def run_scenario(
    url: str, folder: Path, *, sessions: int = 30, per_session: int = 4, workers: int = 2
) -> Report:
    assert per_session >= 4, "the NLU outage needs waves before, during and after it"
    report = Report()
    started = time.monotonic()
    plan = Plan(per_session)
    outage: NluOutage | None = None
    async with contextlib.AsyncExitStack() as stack:
        platforms = Platforms()
        await platforms.start()
        stack.push_async_callback(platforms.stop)
        model, why_not = content_model(folder / "nlu-data")
        rasa = RasaServer(model, folder) if model is not None else None
        if rasa is None:
            report.skipped.append(f"Rasa killed and restarted mid-traffic: {why_not}")
        else:
            rasa.start()  # it loads while the bot starts
            stack.callback(rasa.stop)
        waves = traffic(sessions, per_session, platforms, outage=plan.kill_rasa_after + 1)
        posts = [post for wave in waves for post in wave]
        urgent = {post.key for post in posts if post.urgent}
        report.messages, report.urgent = len(posts), len(urgent)
        report.by_platform = dict(Counter(post.key[0] for post in posts))
        nlu_url = rasa.url if rasa is not None else dead_nlu_url()
        cluster = Cluster(url, folder, workers, NLU_URL=nlu_url, **platforms.environment())
        stack.callback(cluster.stop)
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        db = session_factory(engine)
        http = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        )
        await wait_until(lambda: web_up(cluster, http), within=60)
        if rasa is not None:
            report.nlu["start_seconds"] = round(await rasa.ready(), 1)
            outage = NluOutage(rasa, report)
        await drive(waves, plan, cluster, http, db, url, platforms, outage, report)
        with contextlib.suppress(AssertionError):  # what is missing is counted below
            await wait_until(lambda: drained(db, len(posts)), within=240, interval=0.5)
        await asyncio.sleep(LATE_DUPLICATE_GRACE_S)  # a late duplicate would show up now
        await count(db, report, urgent, platforms)
    report.sends_logged_twice = sends_logged_twice(folder)
    if outage is not None:
        report.nlu.update(nlu_sources(folder, outage))
    report.seconds = round(time.monotonic() - started, 1)
    return report


async def drive(
    waves: list[list[Post]],
    plan: Plan,
    cluster: Cluster,
    http: aiohttp.ClientSession,
    db: async_sessionmaker,
    url: str,
    platforms: Platforms,
    outage: NluOutage | None,
    report: Report,
) -> None:
    """Send the waves, each sender's messages in order, with the faults in between."""
    posted = 0
    for index, wave in enumerate(waves):
        if outage is not None and index == plan.rasa_back_before:
            await outage.wait_back(cluster, http)
        await asyncio.gather(*(post_until_stored(http, cluster.base, p, report) for p in wave))
        posted += len(wave)
        if plan.script_failures_after(index):
            report.faults += platforms.script(index)
        if index == plan.kill_worker_after:
            cluster.kill_worker(0)
            report.faults.append("worker 0 SIGKILLed mid-traffic and restarted")
        if outage is not None and index == plan.kill_rasa_after:
            # Rasa answered everything so far: the outage starts on a clean line.
            await wait_handled(db, posted, within=60)
            await outage.kill_and_restart(cluster, http)
        if index == plan.drop_db_after:
            dropped = await drop_connections(url)
            report.faults.append(f"pg_terminate_backend on all {dropped} connections of the app")
    # A platform redelivering: the same events again.
    redelivered = [post for wave in waves for post in wave][::7]
    await asyncio.gather(*(post_until_stored(http, cluster.base, p, report) for p in redelivered))
    report.redelivered = len(redelivered)
    report.faults.append(f"{len(redelivered)} events redelivered")


async def web_up(cluster: Cluster, http: aiohttp.ClientSession) -> bool:
    return bool(await cluster.health(http))  # 200 or 503 (NLU still loading): it answers


async def wait_handled(db: async_sessionmaker, events: int, within: float) -> None:
    async def handled() -> bool:
        async with db() as session:
            done = await session.scalar(
                select(func.count()).select_from(InboxEvent).where(InboxEvent.state == "done")
            )
        return done >= events

    await wait_until(handled, within=within, interval=0.2)


async def drained(db: async_sessionmaker, events: int) -> bool:
    async with db() as session:
        total = await session.scalar(select(func.count()).select_from(InboxEvent))
        pending = await session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.state != "done")
        )
        unsent = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.state.not_in(FINAL_OUTBOX_STATES))
        )
    return total == events and pending == 0 and unsent == 0


async def count(
    db: async_sessionmaker, report: Report, urgent: set[tuple[str, str]], platforms: Platforms
) -> None:
    vault = Vault((TEST_SECRETS["ENCRYPTION_KEYS"],))
    content = Content(ROOT / "content")
    consent_asks = {content.ui(lang, "consent_ask") for lang in LANGUAGES}
    async with db() as session:
        inbox = (
            await session.execute(
                select(InboxEvent.id, InboxEvent.platform, InboxEvent.event_id, InboxEvent.state)
            )
        ).all()
        outbox = (
            await session.execute(
                select(
                    OutboxMessage.idempotency_key,
                    OutboxMessage.platform,
                    OutboxMessage.state,
                    OutboxMessage.payload_enc,
                )
            )
        ).all()
    report.inbox_rows = len(inbox)
    report.handled = sum(1 for *_, state in inbox if state == "done")
    report.lost = report.messages - report.handled
    report.stuck = dict(Counter(f"inbox.{state}" for *_, state in inbox if state != "done"))
    report.stuck.update(
        Counter(f"outbox.{state}" for _, _, state, _ in outbox if state not in ("sent", "unknown"))
    )
    keys = Counter(key for key, *_ in outbox)
    report.duplicate_replies = sum(n - 1 for n in keys.values())
    report.replies = sum(1 for _, _, state, _ in outbox if state == "sent")
    report.unknown = sum(1 for _, _, state, _ in outbox if state == "unknown")
    payloads = {key: decode_payload(vault, token) for key, _, _, token in outbox}
    for row_id, platform, event_id, _ in inbox:
        payload = payloads.get(f"in:{row_id}")
        if (platform, event_id) not in urgent or payload is None:
            continue
        if any(reply.text in consent_asks for reply in payload["replies"]):
            report.urgent_escalated += 1
    rows = [
        (platform, state, payloads[key]["user_id"], payloads[key]["replies"])
        for key, platform, state, _ in outbox
    ]
    report.platforms = await platforms.received(rows)
    report.rate_limited, report.retries_after_429, report.retries_before_hint = (
        platforms.retries_after_429()
    )
    report.line_retry_keys_refused = platforms.line_retry_keys_refused()
    report.scripted_failures_unmet = platforms.scripted_left()


def worker_log_records(folder: Path, event: str) -> list[dict[str, Any]]:
    records = []
    for log in folder.glob("worker*.log"):
        for line in log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("event") == event:
                records.append(record)
    return records


def sends_logged_twice(folder: Path) -> int:
    sends = Counter(r["outbox_id"] for r in worker_log_records(folder, "outbox_sent"))
    return sum(1 for n in sends.values() if n > 1)


def nlu_sources(folder: Path, outage: NluOutage) -> dict[str, int]:
    """Who classified the messages, before, during and after the Rasa outage (worker logs)."""
    phases: Counter[str] = Counter()
    for record in worker_log_records(folder, "inbox_event_handled"):
        if record.get("nlu") is None:  # buttons, flows: no NLU asked
            continue
        at = datetime.fromisoformat(record["timestamp"])
        if outage.killed_at is None or at < outage.killed_at:
            phase = "before"
        elif outage.back_at is None or at < outage.back_at:
            phase = "during"
        else:
            phase = "after"
        phases[f"{record['nlu']}_{phase}"] += 1
    return {
        f"{source}_{phase}": phases[f"{source}_{phase}"]
        for source in ("rasa", "keywords")
        for phase in ("before", "during", "after")
    }


def dump(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False)
