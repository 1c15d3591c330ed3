"""Load generator: a separate process that sends a bounded load to 127.0.0.1 only.

    python -m bench.loadgen --target webchat --url http://127.0.0.1:8080 \
        --messages msgs.jsonl --rate 50 --duration 10 --out results.jsonl
    python -m bench.loadgen --target rasa-rest --url http://127.0.0.1:5006 ...

Input: JSON lines {"session", "id", "text"} or {"session", "id", "payload"}.
Open loop at --rate messages a second (or closed loop with --concurrency and no --rate),
never more than --max-in-flight requests at once, never past --duration seconds.
Output: one JSON line per message: {"id", "session", "t_send", "t_done", "status"} with
wall-clock times (time.time(), the same clock the bot's database timestamps use).
For the web chat t_done is when the webhook answered (the event is stored); for Rasa's
REST channel it is when the reply came back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp


def _loopback_only(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"loadgen: refusing to send load to {host}: loopback only")


def request_for(target: str, url: str, message: dict) -> tuple[str, dict]:
    if target == "webchat":
        body = {"session": message["session"], "id": message["id"]}
        if "payload" in message:
            body["payload"] = message["payload"]
        else:
            body["text"] = message["text"]
        return f"{url}/chat/messages", body
    if target == "rasa-parse":
        return f"{url}/model/parse", {"text": message.get("text", "")}
    if target == "rasa-rest":
        return f"{url}/webhooks/rest/webhook", {
            "sender": message["session"],
            "message": message.get("text") or message.get("payload", ""),
        }
    raise ValueError(target)


async def run(args: argparse.Namespace, messages: list[dict]) -> list[dict]:
    results: list[dict] = []
    gate = asyncio.Semaphore(args.max_in_flight)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    connector = aiohttp.TCPConnector(limit=args.max_in_flight)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def one(message: dict) -> None:
            url, body = request_for(args.target, args.url, message)
            async with gate:
                t_send = time.time()
                status = 0
                try:
                    async with http.post(url, json=body) as resp:
                        await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = -1
                    print(f"loadgen: {type(exc).__name__}", file=sys.stderr)
                results.append(
                    {
                        "id": message["id"],
                        "session": message["session"],
                        "t_send": t_send,
                        "t_done": time.time(),
                        "status": status,
                    }
                )

        start = time.monotonic()
        end = start + args.duration
        tasks: list[asyncio.Task] = []
        if args.rate:
            interval = 1.0 / args.rate
            for n, message in enumerate(messages):
                due = start + n * interval
                if due >= end:
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if gate.locked():  # overloaded: count it as dropped rather than queue forever
                    results.append(
                        {
                            "id": message["id"],
                            "session": message["session"],
                            "t_send": time.time(),
                            "t_done": None,
                            "status": -2,
                        }
                    )
                    continue
                tasks.append(asyncio.create_task(one(message)))
        else:
            queue = iter(messages)

            async def closed_loop() -> None:
                for message in queue:
                    if time.monotonic() >= end:
                        return
                    await one(message)

            tasks = [asyncio.create_task(closed_loop()) for _ in range(args.concurrency)]
        if tasks:
            await asyncio.wait(tasks, timeout=max(end - time.monotonic(), 0) + args.timeout)
        for task in tasks:
            task.cancel()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=["webchat", "rasa-rest", "rasa-parse"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--messages", required=True)
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s (open loop)")
    parser.add_argument("--concurrency", type=int, default=8, help="closed loop workers")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--max-in-flight", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    _loopback_only(args.url)
    lines = Path(args.messages).read_text().splitlines()
    results = asyncio.run(run(args, [json.loads(line) for line in lines if line]))
    with open(args.out, "w") as out:
        for r in results:
            out.write(json.dumps(r) + "\n")
    ok = sum(1 for r in results if r["status"] == 200)
    print(json.dumps({"sent": len(results), "ok": ok}), file=sys.stderr)


if __name__ == "__main__":
    main()
