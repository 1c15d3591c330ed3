"""The hot path in one process: CPU, SQL statements and commits per event.

    python -m bench.hotpath                      # SQLite, 400 buttons + 400 texts
    python -m bench.hotpath --postgres --events 200
    python -m bench.hotpath --profile /tmp/drain.prof
    valgrind --tool=callgrind --instr-atstart=no python -m bench.hotpath --callgrind \
        --events 40 --batch-seconds 60

Stores events as the webhook does (`inbox.accept`, one commit per request), then lets one
worker drain them (`Worker.drain`); the NLU is the keyword classifier, in-process, so only
the bot's own work is counted. CPU is this process's user + system time, which does not
depend much on how busy the machine is (unlike wall time, also given). Under callgrind,
`--callgrind` instruments only the worker's drain: its instruction count (callgrind's
"Collected" line, one file per phase and kind) does not depend on the machine's load at all.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.run import BOT_ENV, postback_messages, text_messages
from bot import inbox
from bot.channels.webchat import WebChatChannel
from bot.config import load_settings
from bot.logs import configure_logging
from bot.runtime import start_services, stop_services
from bot.services import Services
from bot.storage.db import create_engine, migrate

PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Counter:
    statements: int = 0
    commits: int = 0

    def attach(self, engine: AsyncEngine) -> None:
        def on_statement(*_args: object) -> None:
            self.statements += 1

        def on_commit(*_args: object) -> None:
            self.commits += 1

        event.listen(engine.sync_engine, "before_cursor_execute", on_statement)
        event.listen(engine.sync_engine, "commit", on_commit)

    def take(self) -> tuple[int, int]:
        taken = (self.statements, self.commits)
        self.statements = self.commits = 0
        return taken


@asynccontextmanager
async def database(postgres: bool) -> AsyncIterator[str]:
    if not postgres:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite+aiosqlite:///{folder}/bot.db"
        return
    name = f"bench_hot_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def callgrind(*options: str) -> None:
    """Instrumentation on or off, or a dump, in the callgrind this process runs under."""
    subprocess.run(["callgrind_control", *options, str(os.getpid())], check=True)


async def measure(
    services: Services,
    counter: Counter,
    messages: list[dict],
    profiler: cProfile.Profile | None,
    instrument: bool,
    label: str,
) -> dict:
    import handlers  # noqa: F401 - before bot.worker, which imported first is an import cycle
    from bot.worker import Worker

    channel = WebChatChannel(65536)
    settings = services.settings
    counter.take()
    cpu, wall = time.process_time(), time.perf_counter()
    for message in messages:  # one webhook request each, as the load generator sends them
        events = channel.parse(json.dumps(message).encode())
        await inbox.accept(services.db, services.vault, settings.pseudonym_key, events)
    accept = _figures(len(messages), cpu, wall, *counter.take())
    if profiler:
        profiler.enable()
    if instrument:
        callgrind("-i", "on")
    cpu, wall = time.process_time(), time.perf_counter()
    await Worker(services).drain()
    if instrument:
        callgrind("-i", "off")
        callgrind(f"--dump={label}")
    if profiler:
        profiler.disable()
    return {"accept": accept, "worker": _figures(len(messages), cpu, wall, *counter.take())}


def _figures(n: int, cpu: float, wall: float, statements: int, commits: int) -> dict:
    return {
        "events": n,
        "cpu_ms_per_event": round((time.process_time() - cpu) * 1000 / n, 3),
        "wall_ms_per_event": round((time.perf_counter() - wall) * 1000 / n, 3),
        "statements_per_event": round(statements / n, 2),
        "commits_per_event": round(commits / n, 3),
    }


async def run(
    postgres: bool, events: int, profile: Path | None, instrument: bool, batch_seconds: str
) -> dict:
    results = {}
    async with database(postgres) as url:
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        environ = {**BOT_ENV, "DATABASE_URL": url}
        if batch_seconds:
            environ["BOT__WORKER__BATCH_SECONDS"] = batch_seconds
        settings = load_settings(environ=environ)
        services = await start_services(settings, classifier=None)
        services.classifier = services.keywords  # in-process NLU: only the bot is measured
        counter = Counter()
        counter.attach(services.engine)
        profiler = cProfile.Profile() if profile else None
        try:
            # Warm-up, not counted: compiled-statement caches, langdetect's profiles.
            for messages in (postback_messages(20, 5, salt=21), text_messages(20, 5, salt=22)):
                await measure(services, counter, messages, None, False, "warm-up")
            for name, messages in (
                ("buttons", postback_messages(events, sessions=events // 4, salt=11)),
                ("text", text_messages(events, sessions=events // 4, salt=12)),
            ):
                results[name] = await measure(
                    services, counter, messages, profiler, instrument, name
                )
        finally:
            await stop_services(services)
        if profiler and profile:
            profiler.dump_stats(profile)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="the test PostgreSQL")
    parser.add_argument("--events", type=int, default=400, help="of each kind")
    parser.add_argument("--profile", type=Path, help="cProfile of the worker's drain")
    parser.add_argument("--callgrind", action="store_true", help="running under callgrind")
    parser.add_argument(
        "--batch-seconds",
        default="",
        help="worker.batch_seconds (callgrind: 60, or its slowness cuts every batch short)",
    )
    args = parser.parse_args(argv)
    # JSON lines as in production, written where they cost what they cost there.
    configure_logging(stream=open(os.devnull, "w"))  # noqa: SIM115 - for the whole run
    print(
        json.dumps(
            asyncio.run(
                run(args.postgres, args.events, args.profile, args.callgrind, args.batch_seconds)
            ),
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
