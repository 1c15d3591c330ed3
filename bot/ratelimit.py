"""Per-IP rate limits for the web chat and the webhooks, and secure response headers.

A token bucket per (route, client IP): `per_minute` tokens a minute, at most `burst` saved
up. With a Redis URL (ratelimit.redis_url / REDIS_URL) every web process shares the
buckets; without one each process keeps its own (fine for the embedded default). Past the
limit the request is answered 429 with Retry-After *before* its body is read or stored,
so a message that got its 200 is never affected, and a platform that gets a 429
redelivers. If Redis cannot be reached the request is let through: a lifeline service
prefers a flood to silence (the per-contact flood control in the pipeline still holds).

The client IP is the peer address, or the first untrusted address of X-Forwarded-For when
the peer is a listed trusted proxy. Keys hold an HMAC of the IP, never the IP itself.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import Counter

from bot import metrics
from bot.config import Settings
from bot.logs import get_logger

log = get_logger("ratelimit")

RATE_LIMITED = Counter(
    "bot_rate_limited_total", "Requests refused with 429", ["route"], registry=metrics.REGISTRY
)
LIMITER_ERRORS = Counter(
    "bot_rate_limiter_errors_total",
    "Limiter backend failures (requests let through)",
    registry=metrics.REGISTRY,
)


class Limiter(Protocol):
    async def acquire(self, key: str, per_minute: int, burst: int) -> float:
        """0.0 if allowed (a token is taken), else the seconds until one is available."""

    async def close(self) -> None: ...


class MemoryLimiter:
    """In-process token buckets, bounded in memory (least recently used go first)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.max_keys = max_keys

    async def acquire(self, key: str, per_minute: int, burst: int) -> float:
        rate = per_minute / 60.0
        now = time.monotonic()
        tokens, last = self.buckets.pop(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - last) * rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / rate
        self.buckets[key] = (tokens, now)
        while len(self.buckets) > self.max_keys:
            self.buckets.popitem(last=False)
        return wait

    async def close(self) -> None:
        return None


# KEYS[1] bucket; ARGV rate (tokens/s), burst, now (s). Returns the wait as a string.
_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local data = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisLimiter:
    """Token buckets in Redis, shared by every web process."""

    def __init__(self, url: str, prefix: str = "bot:rl:") -> None:
        import redis.asyncio as redis  # only needed when a Redis URL is set

        self.client: Any = redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.script = self.client.register_script(_BUCKET_LUA)
        self.prefix = prefix

    async def acquire(self, key: str, per_minute: int, burst: int) -> float:
        try:
            wait = await self.script(
                keys=[self.prefix + key], args=[per_minute / 60.0, burst, time.time()]
            )
        except Exception as exc:  # let it through: see the module docstring
            LIMITER_ERRORS.inc()
            log.warning("rate_limiter_unavailable", error=type(exc).__name__)
            return 0.0
        return float(wait)

    async def close(self) -> None:
        await self.client.aclose()


def build_limiter(settings: Settings) -> Limiter:
    return RedisLimiter(settings.redis_url) if settings.redis_url else MemoryLimiter()


def client_ip(request: web.Request, trusted_proxies: tuple[str, ...]) -> str:
    peer = request.remote or ""
    if peer not in trusted_proxies:
        return peer
    forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")]
    # Walk from the nearest hop back; the first address that is not our proxy is the client.
    for address in reversed([p for p in forwarded if p]):
        if address not in trusted_proxies:
            return address
    return peer


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    per_minute: int
    burst: int


def rule_for(request: web.Request, settings: Settings) -> Rule | None:
    path = request.path
    if request.method == "POST" and path == "/chat/messages":
        return Rule("chat", settings.chat_per_minute, settings.chat_burst)
    if path.startswith("/webhooks/"):
        return Rule("webhook", settings.webhook_per_minute, settings.webhook_burst)
    return None


def rate_limit_middleware(settings: Settings, limiter: Limiter):  # type: ignore[no-untyped-def]
    key_secret = settings.pseudonym_key

    @web.middleware
    async def middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
        rule = rule_for(request, settings)
        if rule is None:
            return await handler(request)
        ip = client_ip(request, settings.trusted_proxies)
        digest = hmac.new(key_secret, f"ip:{ip}".encode(), hashlib.sha256).hexdigest()[:32]
        wait = await limiter.acquire(f"{rule.name}:{digest}", rule.per_minute, rule.burst)
        if wait > 0:
            RATE_LIMITED.labels(rule.name).inc()
            return web.json_response(
                {"error": "too many requests, try again later"},
                status=429,
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        return await handler(request)

    return middleware


# The web chat page loads only its own script and style and talks only to its own origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CSP,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: every response, including errors, files and streams."""
    for name, value in SECURE_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(("/chat/", "/webhooks/")):
        # Replies and session ids must not sit in a shared cache.
        response.headers.setdefault("Cache-Control", "no-store")
