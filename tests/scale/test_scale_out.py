"""Scale-out on PostgreSQL: two `bot run` web processes without embedded workers and two
`bot worker` processes share one database. Web chat messages and Telegram updates (to the
fake Telegram of tests/fakes) go to both webs, some are redelivered to the other web, and
every event is answered exactly once, in order per sender: counted by idempotency key, by
outbox row, by the workers' logs and by what the fake platform received. (Throughput
numbers live in docs/benchmarks.md; nothing here is a benchmark.)
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.config import ROOT
from bot.crypto import Vault
from bot.storage.db import create_engine, session_factory
from bot.storage.models import InboxEvent, OutboxMessage
from tests.fakes.line import FakeLine
from tests.fakes.telegram import FakeTelegram
from tests.support import (
    TEST_SECRETS,
    dead_nlu_url,
    free_port,
    logged,
    process_environment,
    start_process,
    wait_until,
)

pytestmark = pytest.mark.postgres

SENDERS = 60
PER_SENDER = 4
REDELIVERED = 40  # events posted a second time, to the other web process
CHATS = 20  # Telegram chats
PER_CHAT = 3
TELEGRAM_SECRET = "tg-webhook-secret_0123456789"


def telegram_update(chat: int, n: int) -> dict:
    user = {"id": 7_000_000 + chat, "is_bot": False, "first_name": "W"}
    return {
        "update_id": 900_000 + n,
        "message": {
            "message_id": 100 + n,
            "from": user,
            "chat": {"id": user["id"], "first_name": "W", "type": "private"},
            "date": 1735689600 + n,
            "text": ("my boss did not pay my salary", "menu", "help")[n % 3],
        },
    }


def webchat_body(sender: int, n: int) -> dict:
    body = {"session": str(uuid.UUID(int=sender + 1)), "id": str(uuid.UUID(int=10_000 + n))}
    if n % 2:
        body["payload"] = ("menu", "lang:th", "topic:wage_minimum")[n % 3]
    else:
        body["text"] = "my boss did not pay my salary"
    return body


async def rows(url: str) -> tuple[list[InboxEvent], list[OutboxMessage]]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            inbox = list((await db.execute(select(InboxEvent))).scalars())
            outbox = list((await db.execute(select(OutboxMessage))).scalars())
        return inbox, outbox
    finally:
        await engine.dispose()


class Processes:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        proc = start_process(args, env, log)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


async def wait_healthy(http: aiohttp.ClientSession, base: str, proc: subprocess.Popen) -> None:
    async def up() -> bool:
        assert proc.poll() is None, f"web process {base} exited"
        try:
            async with http.get(f"{base}/healthz") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    await wait_until(up, within=60, interval=0.1)


async def test_two_webs_two_workers_reply_exactly_once(postgres_url: str, tmp_path: Path) -> None:
    telegram = FakeTelegram()
    await telegram.start()
    env = process_environment(
        postgres_url,
        NLU_URL=dead_nlu_url(),
        BOT__SERVICE__EMBEDDED_WORKER="false",
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_SECRET_TOKEN=TELEGRAM_SECRET,
        TELEGRAM_API_BASE=telegram.url,
        BOT__CHANNELS__TELEGRAM__PER_CHAT_INTERVAL_S="0",
        # all the load comes from one loopback address: this test is about exactly-once,
        # the per-IP limit has its own tests (tests/security)
        BOT__RATELIMIT__CHAT_PER_MINUTE="1000000",
        BOT__RATELIMIT__CHAT_BURST="1000000",
    )
    procs = Processes()
    ports = [free_port(), free_port()]
    web_logs = [tmp_path / f"web{i}.log" for i in range(2)]
    worker_logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    try:
        webs = [
            procs.start(["-m", "bot.cli", "run"], {**env, "BOT__SERVICE__PORT": str(port)}, log)
            for port, log in zip(ports, web_logs, strict=True)
        ]
        for log in worker_logs:
            procs.start(["-m", "bot.cli", "worker"], env, log)
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            for base, proc in zip(bases, webs, strict=True):
                await wait_healthy(http, base, proc)

            gate = asyncio.Semaphore(16)

            async def post(base: str, body: dict) -> int:
                async with gate, http.post(f"{base}/chat/messages", json=body) as resp:
                    return resp.status

            async def post_telegram(base: str, update: dict) -> int:
                headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
                async with (
                    gate,
                    http.post(f"{base}/webhooks/telegram", json=update, headers=headers) as resp,
                ):
                    return resp.status

            # Each sender's messages go out in order, alternating between the two webs.
            async def sender(s: int) -> list[int]:
                statuses = []
                for m in range(PER_SENDER):
                    n = s * PER_SENDER + m
                    statuses.append(await post(bases[n % 2], webchat_body(s, n)))
                return statuses

            async def chat(c: int) -> list[int]:
                statuses = []
                for m in range(PER_CHAT):
                    n = c * PER_CHAT + m
                    statuses.append(await post_telegram(bases[n % 2], telegram_update(c, n)))
                return statuses

            statuses = [
                st for sts in await asyncio.gather(*map(sender, range(SENDERS))) for st in sts
            ]
            assert statuses == [200] * (SENDERS * PER_SENDER)
            # Redeliveries, to the web that did not get the event the first time.
            again = [
                post(bases[(n + 1) % 2], webchat_body(n // PER_SENDER, n))
                for n in range(0, SENDERS * PER_SENDER, SENDERS * PER_SENDER // REDELIVERED)
            ]
            assert set(await asyncio.gather(*again)) == {200}
            tg = [st for sts in await asyncio.gather(*map(chat, range(CHATS))) for st in sts]
            assert tg == [200] * (CHATS * PER_CHAT)
            tg_again = [
                post_telegram(bases[(n + 1) % 2], telegram_update(n // PER_CHAT, n))
                for n in range(0, CHATS * PER_CHAT, 3)
            ]
            assert set(await asyncio.gather(*tg_again)) == {200}

        expected = SENDERS * PER_SENDER + CHATS * PER_CHAT

        async def answered() -> bool:
            inbox, outbox = await rows(postgres_url)
            return (
                sum(r.state == "done" for r in inbox) == expected
                and sum(r.state == "sent" for r in outbox) == expected
            )

        await wait_until(answered, within=240, interval=0.5)
        await asyncio.sleep(1.0)  # a late duplicate would show up now
    finally:
        procs.stop()
        await telegram.stop()

    inbox, outbox = await rows(postgres_url)
    assert len(inbox) == expected  # redeliveries never became rows
    keys = Counter(r.idempotency_key for r in outbox)
    assert keys == Counter({f"in:{r.id}": 1 for r in inbox})
    assert {r.state for r in outbox} == {"sent"}

    handled = Counter(
        i for log in worker_logs for i in logged(log, "inbox_event_handled", "inbox_id")
    )
    sent = Counter(i for log in worker_logs for i in logged(log, "outbox_sent", "outbox_id"))
    assert set(handled.values()) == {1} and len(handled) == expected
    assert set(sent.values()) == {1} and len(sent) == expected
    # Both webs took events, both workers did work: the load really was shared.
    # The fake Telegram got each reply once: one sendMessage per reply part of each
    # Telegram outbox row, and every chat got answers to each of its updates.
    vault = Vault((TEST_SECRETS["ENCRYPTION_KEYS"],))
    telegram_rows = [r for r in outbox if r.platform == "telegram"]
    parts = sum(len(vault.decrypt_json(r.payload_enc)["replies"]) for r in telegram_rows)
    assert len(telegram_rows) == CHATS * PER_CHAT
    assert len(telegram.messages()) == parts
    assert len({m["chat_id"] for m in telegram.messages()}) == CHATS
    accepted = [sum(logged(log, "webhook_accepted", "stored")) for log in web_logs]
    assert sum(accepted) == expected and min(accepted) > 0
    assert all(logged(log, "inbox_event_handled", "inbox_id") for log in worker_logs)

    # Per sender, replies were queued in the order the events arrived.
    by_sender: dict[str, list[int]] = defaultdict(list)
    reply_of = {int(r.idempotency_key[3:]): r.id for r in outbox}
    for row in sorted(inbox, key=lambda r: r.id):
        by_sender[row.sender].append(reply_of[row.id])
    assert all(ids == sorted(ids) for ids in by_sender.values())


async def test_same_line_event_to_two_processes_gets_one_reply(
    postgres_url: str, tmp_path: Path
) -> None:
    """LINE redelivers an event; here both deliveries reach different web processes, each
    with its own embedded worker, on one PostgreSQL: the worker gets one reply out."""
    import base64
    import hashlib
    import hmac

    line = FakeLine()
    await line.start()
    secret = "line-channel-secret-for-test"
    env = process_environment(
        postgres_url,
        NLU_URL=dead_nlu_url(),
        LINE_CHANNEL_SECRET=secret,
        LINE_CHANNEL_ACCESS_TOKEN=line.access_token,
        LINE_API_BASE=line.url,
    )
    body = json.loads((ROOT / "tests/channels/payloads/line/text_my_unicode.json").read_text())
    body["events"][0]["replyToken"] = line.issue_reply_token()
    raw = json.dumps(body).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
    headers = {"X-Line-Signature": signature.decode(), "Content-Type": "application/json"}
    procs = Processes()
    bases = []
    try:
        async with aiohttp.ClientSession() as http:
            for n in range(2):
                port = free_port()
                web_proc = procs.start(
                    ["-m", "bot.cli", "run"],
                    {**env, "BOT__SERVICE__PORT": str(port)},
                    tmp_path / f"web{n}.log",
                )
                bases.append(f"http://127.0.0.1:{port}")
                await wait_healthy(http, bases[-1], web_proc)
            for base in bases:
                async with http.post(f"{base}/webhooks/line", data=raw, headers=headers) as r:
                    assert r.status == 200

            async def replied() -> bool:
                return len(line.accepted) >= 1

            await wait_until(replied, within=120)
            await asyncio.sleep(3)  # room for a second, wrong reply to show up
    finally:
        procs.stop()
        await line.stop()
    inbox, outbox = await rows(postgres_url)
    assert len(inbox) == 1 and len(outbox) == 1
    assert len(line.accepted) == 1
    assert line.accepted[0]["path"] == "/v2/bot/message/reply"
