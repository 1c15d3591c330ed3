"""Webhook acceptance per platform: how fast a signed event is verified, parsed, stored
and answered 200, and how many a second one web process accepts.

    python -m bench.webhooks [--requests 2000] [--concurrency 16] [--out FILE]

Starts `bot run` (SQLite, worker off, so only acceptance is measured) as its own process
on a free loopback port, and sends it bounded load from this process: every request a
new event id (so nothing is dropped as a duplicate), signed as the platform signs it.
Prints a Markdown table; nothing here is asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from bench.run import free_port, pct, wait_http
from bot.crypto import new_key

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = ROOT / "tests" / "channels" / "payloads"
SECRETS = {
    "LINE_CHANNEL_SECRET": "bench-line-secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "bench-line-token",
    "TELEGRAM_BOT_TOKEN": "123456:bench-telegram-token",
    "TELEGRAM_SECRET_TOKEN": "bench-telegram-secret",
    "MESSENGER_APP_SECRET": "bench-messenger-secret",
    "MESSENGER_PAGE_ACCESS_TOKEN": "bench-messenger-token",
    "MESSENGER_VERIFY_TOKEN": "bench-verify",
}


def _line(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.loads((PAYLOADS / "line" / "text_my_unicode.json").read_text())
    body["events"][0]["webhookEventId"] = f"BENCH{n:020d}"
    raw = json.dumps(body).encode()
    mac = hmac.new(SECRETS["LINE_CHANNEL_SECRET"].encode(), raw, hashlib.sha256).digest()
    return raw, {"X-Line-Signature": base64.b64encode(mac).decode()}


def _telegram(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.loads((PAYLOADS / "telegram" / "text_my_unicode.json").read_text())
    body["update_id"] = 10_000_000 + n
    return json.dumps(body).encode(), {
        "X-Telegram-Bot-Api-Secret-Token": SECRETS["TELEGRAM_SECRET_TOKEN"]
    }


def _messenger(n: int) -> tuple[bytes, dict[str, str]]:
    body = copy.deepcopy(json.loads((PAYLOADS / "messenger" / "text_my_unicode.json").read_text()))
    body["entry"][0]["messaging"][0]["message"]["mid"] = f"m_bench_{n}"
    raw = json.dumps(body).encode()
    mac = hmac.new(SECRETS["MESSENGER_APP_SECRET"].encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": f"sha256={mac}"}


SIGNERS: dict[str, Callable[[int], tuple[bytes, dict[str, str]]]] = {
    "line": _line,
    "telegram": _telegram,
    "messenger": _messenger,
}


async def _load(url: str, platform: str, requests: int, concurrency: int) -> dict[str, float]:
    signer = SIGNERS[platform]
    bodies = [signer(n) for n in range(requests)]
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal failures
        while not queue.empty():
            raw, headers = bodies[queue.get_nowait()]
            started = time.perf_counter()
            async with http.post(
                f"{url}/webhooks/{platform}",
                data=raw,
                headers={**headers, "Content-Type": "application/json"},
            ) as response:
                await response.read()
                if response.status != 200:
                    failures += 1
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return {
        "requests": requests,
        "failures": failures,
        "per_second": requests / elapsed,
        "p50_ms": pct(latencies, 50) * 1000,
        "p99_ms": pct(latencies, 99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    port = free_port()
    env = {
        **os.environ,
        **SECRETS,
        "PSEUDONYM_KEY": "bench-pseudonym-key-0123456789",
        "ENCRYPTION_KEYS": new_key(),
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'bench.db'}",
        "BOT__SERVICE__PORT": str(port),
        "BOT__SERVICE__EMBEDDED_WORKER": "false",
        # acceptance is what is measured: the per-IP limit would only measure itself
        "BOT__RATELIMIT__WEBHOOK_PER_MINUTE": "100000000",
        "BOT__RATELIMIT__WEBHOOK_BURST": "100000000",
        "NLU_URL": "http://127.0.0.1:9",
    }
    bot = [sys.executable, "-m", "bot.cli"]
    subprocess.run([*bot, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    log = (folder / "web.log").open("wb")
    web = subprocess.Popen([*bot, "run"], env=env, cwd=ROOT, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", 60)
        results = {
            platform: asyncio.run(_load(url, platform, args.requests, args.concurrency))
            for platform in SIGNERS
        }
    finally:
        web.terminate()
        web.wait(timeout=30)
    lines = [
        f"Webhook acceptance, {args.requests} signed Burmese text events per platform, "
        f"{args.concurrency} concurrent clients, one `bot run` on SQLite, worker off, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}.",
        "",
        "| platform | accepted/s | p50 ms | p99 ms | non-200 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for platform, r in results.items():
        lines.append(
            f"| {platform} | {r['per_second']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['failures']} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
