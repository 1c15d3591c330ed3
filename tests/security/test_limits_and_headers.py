"""Per-IP rate limits (in-process and Redis) and the secure headers on every response."""

from __future__ import annotations

import uuid

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.ratelimit import CSP, MemoryLimiter
from bot.storage.models import InboxEvent
from tests.privacy.common import chat_client
from tests.support import services_of

REDIS_URL = "redis://127.0.0.1:6379/15"


async def inbox_rows(client: TestClient) -> int:
    async with services_of(client).db() as db:
        return int(await db.scalar(select(func.count()).select_from(InboxEvent)) or 0)


def message(session: str) -> dict:
    return {"session": session, "id": str(uuid.uuid4()), "text": "hello"}


async def test_web_chat_past_its_burst_gets_429_and_nothing_accepted_is_lost(
    database_url: str,
) -> None:
    async with chat_client(
        database_url, BOT__RATELIMIT__CHAT_BURST="5", BOT__RATELIMIT__CHAT_PER_MINUTE="6"
    ) as client:
        session = str(uuid.uuid4())
        statuses = [
            (await client.post("/chat/messages", json=message(session))).status for _ in range(8)
        ]
        assert statuses == [200] * 5 + [429] * 3
        limited = await client.post("/chat/messages", json=message(session))
        assert limited.status == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 10
        assert "error" in await limited.json()
        assert await inbox_rows(client) == 5  # every 200 is stored, no 429 is
        # Webhooks have their own, larger bucket.
        assert (await client.post("/webhooks/line", data=b"{}")).status == 404
        metrics = await (await client.get("/metrics")).text()
        assert 'bot_rate_limited_total{route="chat"}' in metrics


async def _statuses(client: TestClient, forwarded_for: list[str]) -> list[int]:
    """One message of one chat session per X-Forwarded-For value: the statuses, in order."""
    session = str(uuid.uuid4())
    return [
        (
            await client.post(
                "/chat/messages", json=message(session), headers={"X-Forwarded-For": value}
            )
        ).status
        for value in forwarded_for
    ]


async def test_forwarded_for_counts_only_behind_a_trusted_proxy(database_url: str) -> None:
    async with chat_client(database_url, BOT__RATELIMIT__CHAT_BURST="2") as client:
        spoofed = await _statuses(client, [f"10.0.0.{i}" for i in range(4)])
        assert spoofed == [200, 200, 429, 429]  # an untrusted header changes nothing
    async with chat_client(
        database_url, BOT__RATELIMIT__CHAT_BURST="2", BOT__RATELIMIT__TRUSTED_PROXIES="127.0.0.1"
    ) as client:
        behind_proxy = await _statuses(client, [f"203.0.113.{i % 2}, 127.0.0.1" for i in range(6)])
        assert behind_proxy == [200, 200, 200, 200, 429, 429]  # two clients, two buckets


async def test_memory_limiter_refills_and_stays_bounded() -> None:
    limiter = MemoryLimiter(max_keys=10)
    assert await limiter.acquire("a", 60, 1) == 0.0
    wait = await limiter.acquire("a", 60, 1)
    assert 0 < wait <= 1.0
    for i in range(50):
        await limiter.acquire(f"k{i}", 60, 1)
    assert len(limiter.buckets) == 10


async def _redis_or_skip() -> None:
    redis = pytest.importorskip("redis.asyncio")
    client = redis.from_url(REDIS_URL)
    try:
        await client.ping()
        await client.flushdb()
    except Exception as exc:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    finally:
        await client.aclose()


async def test_two_web_processes_share_the_redis_bucket(postgres_url: str) -> None:
    await _redis_or_skip()
    extra = {"REDIS_URL": REDIS_URL, "BOT__RATELIMIT__CHAT_BURST": "4"}
    async with chat_client(postgres_url, **extra) as one, chat_client(postgres_url, **extra) as two:
        session = str(uuid.uuid4())
        statuses = []
        for i in range(6):
            client = one if i % 2 else two
            statuses.append((await client.post("/chat/messages", json=message(session))).status)
        assert statuses == [200, 200, 200, 200, 429, 429]


async def test_unreachable_redis_lets_requests_through(database_url: str) -> None:
    pytest.importorskip("redis.asyncio")
    async with chat_client(
        database_url, REDIS_URL="redis://127.0.0.1:1/0", BOT__RATELIMIT__CHAT_BURST="1"
    ) as client:
        session = str(uuid.uuid4())
        for _ in range(3):
            assert (await client.post("/chat/messages", json=message(session))).status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/static/chat.js"),
        ("GET", "/chat/strings"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/nowhere"),
        ("POST", "/chat/messages"),
        ("POST", "/webhooks/unknown"),
    ],
)
async def test_every_response_has_the_secure_headers(
    database_url: str, method: str, path: str
) -> None:
    async with chat_client(database_url) as client:
        response = await client.request(method, path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Content-Security-Policy"] == CSP
        if path.startswith(("/chat/", "/webhooks/")):
            assert response.headers["Cache-Control"] == "no-store"


async def test_event_stream_has_the_headers_too(database_url: str) -> None:
    async with chat_client(database_url) as client:
        response = await client.get(f"/chat/events?session={uuid.uuid4()}")
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
        response.close()


def test_web_chat_page_needs_nothing_the_csp_forbids() -> None:
    from bot.web import STATIC

    page = (STATIC / "index.html").read_text()
    assert "<script>" not in page and "style=" not in page and "<style" not in page
    assert "http://" not in page and "https://" not in page
    script = (STATIC / "chat.js").read_text()
    assert "eval(" not in script and "new Function" not in script
