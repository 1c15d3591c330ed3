"""Run the benchmarks of docs/benchmarks.md side by side, on this machine, on loopback.

    python -m bench.run --out bench/results/latest.json [--only overhead,peer,...]

Figures (each in its own fresh database and processes):
  overhead  webhook accepted -> reply handed to the platform, minus the time inside
            /model/parse (timing proxy in front of Rasa); p50/p99
  peer      messages/s at equal p99: bot webhook -> reply versus `rasa run` REST channel
  peer_scaled  the same with the bot as in production: PostgreSQL, 1 web + 2 workers
  nonlu     postbacks and language switches (never the NLU): messages/s
  memory    bot RSS idle/under load, cold start to /healthz, Rasa RSS
  idle      CPU an idle `bot run` (web + embedded worker, SQLite) spends per second
  growth    latency and memory with 1k/10k/100k contacts and cases in the database
  workers   PostgreSQL: inbox drain with 1 and 2 `bot worker` processes
  floor     figure nonlu's load through bench.floor: the bot's contract and nothing else
  peer_two_rasa  figure peer with the bot's NLU URL naming two Rasa replicas

Every process is started here and stopped here; load goes to 127.0.0.1 only, bounded in
count and time; the load generator (bench.loadgen) is a separate process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import yaml
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[1]
SCRATCH = Path(os.environ.get("BENCH_SCRATCH", "/work/scratch-bench"))
PYTHON = sys.executable
# What every bot process of a benchmark run gets in its environment.
BOT_ENV = {
    "PSEUDONYM_KEY": "bench-pseudonym-key-0123456789",
    # a fresh key each run: every process of one run shares this dict's value
    "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    # the load generator is one loopback address: the per-IP limit would measure itself
    "BOT__RATELIMIT__CHAT_PER_MINUTE": "100000000",
    "BOT__RATELIMIT__CHAT_BURST": "100000000",
    "BOT__RATELIMIT__WEBHOOK_PER_MINUTE": "100000000",
    "BOT__RATELIMIT__WEBHOOK_BURST": "100000000",
}
T = TypeVar("T")
P99_TARGET = 0.5  # seconds: "equal p99" for the peer comparison


def psutil():  # type: ignore[no-untyped-def]
    """psutil, imported when measuring (it is not a dependency of the bot itself)."""
    import psutil as module

    return module


# --- processes -----------------------------------------------------------------------
@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path
    samples: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss(self) -> int:
        try:
            return psutil().Process(self.pid).memory_info().rss
        except psutil().NoSuchProcess:
            return 0

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far: robust against a busy machine."""
        try:
            times = psutil().Process(self.pid).cpu_times()
        except psutil().NoSuchProcess:
            return 0.0
        return times.user + times.system

    def sample(self) -> int:
        value = self.rss()
        self.samples.append(value)
        return value

    def stop(self, timeout: float = 20) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def spawn(name: str, args: list[str], env: dict[str, str], folder: Path, cwd: Path = REPO) -> Proc:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    full = {**os.environ, **env}
    full.pop("VIRTUAL_ENV", None)
    popen = subprocess.Popen(
        args, cwd=cwd, env=full, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    return Proc(name, popen, log)


def wait_log(proc: Proc, event: str, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited: see {proc.log}")
        if f'"{event}"' in proc.log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name}: no {event} within {within} s")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, within: float, proc: Proc | None = None) -> float:
    """Seconds until GET url answers 200 (polling every 20 ms)."""
    import urllib.error
    import urllib.request

    started = time.monotonic()
    while time.monotonic() - started < within:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited: see {proc.log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url} not ready within {within} s")


def http_get(url: str) -> tuple[int, bytes, float]:
    import urllib.error
    import urllib.request

    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read(), time.perf_counter() - started
    except urllib.error.HTTPError as err:
        return err.code, err.read(), time.perf_counter() - started


# --- the bot -------------------------------------------------------------------------
@dataclass
class BotSetup:
    root: Path = REPO  # checkout to run (e.g. /work/main for a baseline)
    python: str = PYTHON

    def env(self, database_url: str, nlu_url: str, **extra: str) -> dict[str, str]:
        return {
            **BOT_ENV,
            "DATABASE_URL": database_url,
            "NLU_URL": nlu_url,
            "PYTHONPATH": str(self.root),
            "BOT__SERVICE__HOST": "127.0.0.1",
            **extra,
        }

    def migrate(self, database_url: str, folder: Path) -> None:
        subprocess.run(
            [self.python, "-m", "bot.cli", "migrate"],
            cwd=self.root,
            env={**os.environ, **self.env(database_url, "http://127.0.0.1:9")},
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def web(self, name: str, database_url: str, nlu_url: str, folder: Path, **extra: str):
        port = free_port()
        env = self.env(database_url, nlu_url, BOT__SERVICE__PORT=str(port), **extra)
        proc = spawn(name, [self.python, "-m", "bot.cli", "run"], env, folder, self.root)
        return proc, f"http://127.0.0.1:{port}"

    def worker(self, name: str, database_url: str, nlu_url: str, folder: Path) -> Proc:
        env = self.env(database_url, nlu_url)
        return spawn(name, [self.python, "-m", "bot.cli", "worker"], env, folder, self.root)


def sqlite_url(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bot.db"
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{db}{suffix}").unlink()
    return f"sqlite+aiosqlite:///{db}"


# --- messages ------------------------------------------------------------------------
def fresh_sqlite(bot: BotSetup, name: str) -> tuple[Path, str]:
    """An emptied scratch folder SCRATCH/name and the migrated SQLite database in it."""
    folder = SCRATCH / name
    shutil.rmtree(folder, ignore_errors=True)
    db = sqlite_url(folder)
    bot.migrate(db, folder)
    return folder, db


def nlu_proxy(name: str, upstream: str, log: str, folder: Path) -> tuple[Proc, str]:
    """bench.nluproxy on a free port, in front of `upstream` (a Rasa URL, or "stub": a
    zero-cost fake), writing each parse it passes on to `log`. Returns it and its URL;
    the caller waits for it (wait_http) when it needs it up."""
    port = free_port()
    args = ["--listen", str(port), "--upstream", upstream, "--log", log]
    proc = spawn(name, [PYTHON, "-m", "bench.nluproxy", *args], {}, folder)
    return proc, f"http://127.0.0.1:{port}"


def eval_texts() -> list[str]:
    texts = []
    for path in sorted((REPO / "nlu" / "eval").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for items in (data.get("intents") or {}).values():
            texts.extend(t for t in items or [] if isinstance(t, str) and t.strip())
    return texts


def session_id(n: int, salt: int) -> str:
    return str(uuid.UUID(int=(salt << 64) | n))


def text_messages(count: int, sessions: int, salt: int, numbered: bool = False) -> list[dict]:
    rng = random.Random(salt)
    texts = eval_texts()
    out = []
    for n in range(count):
        text = rng.choice(texts)
        out.append(
            {
                "session": session_id(n % sessions, salt),
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "text": f"{text} {n}" if numbered else text,
            }
        )
    return out


POSTBACKS = ("menu", "lang:th", "lang:my", "lang:en", "topic:wage_minimum", "language")


def postback_messages(count: int, sessions: int, salt: int) -> list[dict]:
    rng = random.Random(salt)
    return [
        {
            "session": session_id(n % sessions, salt),
            "id": str(uuid.UUID(int=rng.getrandbits(128))),
            "payload": POSTBACKS[n % len(POSTBACKS)],
        }
        for n in range(count)
    ]


def loadgen(
    target: str, url: str, messages: list[dict], folder: Path, name: str, **opts: float
) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"{name}-in.jsonl"
    out = folder / f"{name}-out.jsonl"
    src.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages))
    args = [
        PYTHON,
        "-m",
        "bench.loadgen",
        "--target",
        target,
        "--url",
        url,
        "--messages",
        str(src),
        "--out",
        str(out),
    ]
    for key, value in opts.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    subprocess.run(args, cwd=REPO, check=True, stderr=subprocess.DEVNULL)
    return [json.loads(line) for line in out.read_text().splitlines() if line]


# --- reading the bot's database ------------------------------------------------------
def _ts(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


async def _timeline(database_url: str) -> dict[str, dict]:
    """event_id -> {received, processed, sent, outbox_rows} for every inbox row."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT i.event_id, i.received_at, i.processed_at, o.sent_at, o.state"
                        " FROM inbox i LEFT JOIN outbox o"
                        " ON o.idempotency_key = 'in:' || CAST(i.id AS VARCHAR)"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    out: dict[str, dict] = {}
    for event_id, received, processed, sent, state in rows:
        entry = out.setdefault(
            event_id,
            {"received": _ts(received), "processed": _ts(processed), "sent": None, "rows": 0},
        )
        if state is not None:
            entry["rows"] += 1
        if state == "sent":
            entry["sent"] = _ts(sent)
    return out


def timeline(database_url: str) -> dict[str, dict]:
    return asyncio.run(_timeline(database_url))


def poll_until(read: Callable[[], T], done: Callable[[T], bool], within: float) -> T:
    """`read()` every half second until `done` says so or `within` seconds have passed;
    the last reading either way."""
    deadline = time.monotonic() + within
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def accepted_keys(results: list[dict]) -> set[str]:
    """The event keys of the load generator's requests that were answered 200."""
    return {event_key(r) for r in results if r["status"] == 200}


def wait_drained(database_url: str, results: list[dict], within: float) -> dict[str, dict]:
    """Poll until every accepted event of `results` is handled and its reply (if any) sent,
    or give up after `within` seconds."""
    keys = accepted_keys(results)

    def drained(rows: dict[str, dict]) -> bool:
        return all(
            (row := rows.get(key)) is not None
            and row["processed"] is not None
            and not (row["rows"] and row["sent"] is None)
            for key in keys
        )

    return poll_until(lambda: timeline(database_url), drained, within)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: list[float], scale: float = 1000.0) -> dict:
    """p50/p90/p99/max in milliseconds."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_ms": round(pct(values, 50) * scale, 3),
        "p90_ms": round(pct(values, 90) * scale, 3),
        "p99_ms": round(pct(values, 99) * scale, 3),
        "max_ms": round(max(values) * scale, 3),
        "mean_ms": round(statistics.fmean(values) * scale, 3),
    }


def event_key(message: dict) -> str:
    return f"{message['session']}:{message['id']}"


def answered_latencies(sent: list[dict], rows: dict[str, dict]) -> list[float]:
    """Seconds from the inbox to sent, for each accepted message that was answered."""
    out = []
    for r in sent:
        row = rows.get(event_key(r), {}) if r["status"] == 200 else {}
        if row.get("sent"):
            out.append(row["sent"] - row["received"])
    return out


# --- Rasa ----------------------------------------------------------------------------
def rasa_model() -> Path:
    from nlu.train import train

    return train()


def start_rasa(folder: Path, name: str = "rasa-nlu") -> tuple[Proc, str]:
    from nlu.rasa_env import rasa_env

    port = free_port()
    env = {k: v for k, v in rasa_env().items() if k not in os.environ or os.environ[k] != v}
    proc = spawn(
        name,
        [PYTHON, "-m", "nlu.serve", "--model", str(rasa_model()), "--port", str(port)],
        env,
        folder,
    )
    url = f"http://127.0.0.1:{port}"
    proc_ready = wait_http(f"{url}/status", within=300, proc=proc)
    print(f"{name}: ready in {proc_ready:.1f} s", file=sys.stderr)
    warm(url)
    return proc, url


def warm(url: str, n: int = 20) -> None:
    import urllib.request

    for text in eval_texts()[:n]:
        req = urllib.request.Request(
            f"{url}/model/parse",
            data=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=30).read()


def start_peer(folder: Path, model: Path) -> tuple[Proc, str]:
    from bench.peer import serve_command
    from nlu.rasa_env import rasa_env

    port = free_port()
    proc = spawn("rasa-peer", serve_command(model, port), rasa_env(), folder)
    url = f"http://127.0.0.1:{port}"
    # The REST channel has no status route of its own; the server root answers when ready.
    ready = wait_http(f"{url}/", within=300, proc=proc)
    print(f"rasa-peer: ready in {ready:.1f} s", file=sys.stderr)
    import urllib.request

    for n, text in enumerate(eval_texts()[:100]):  # as many as the bot's NLU warm-up + 80
        req = urllib.request.Request(
            f"{url}/webhooks/rest/webhook",
            data=json.dumps({"sender": f"warm{n}", "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=30).read()
    return proc, url


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@contextlib.contextmanager
def running(*procs: Proc) -> Iterator[None]:
    try:
        yield
    finally:
        for proc in procs:
            proc.stop()


class Sampler:
    """Samples RSS of processes every 0.2 s in a thread while load runs."""

    def __init__(self, *procs: Proc) -> None:
        import threading

        self.procs = procs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for proc in self.procs:
                proc.sample()
            self._stop.wait(0.2)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def mb(value: int | float) -> float:
    return round(value / 1024 / 1024, 1)


# --- figures -------------------------------------------------------------------------
def fig_overhead(ctx: dict, bot: BotSetup, label: str = "bot") -> dict:
    """Webhook accepted -> reply handed over, minus time inside /model/parse."""
    folder, db = fresh_sqlite(bot, f"overhead-{label}")
    parse_log = folder / "parse.jsonl"
    proxy, proxy_url = nlu_proxy("nluproxy", ctx["rasa_url"], str(parse_log), folder)
    web, url = bot.web("web", db, proxy_url, folder)
    with running(web, proxy):
        wait_http(f"{proxy_url}/status", 30, proxy)
        wait_http(f"{url}/healthz", 60, web)
        count = ctx.get("overhead_messages", 160)
        rate = ctx.get("overhead_rate", 4)
        messages = text_messages(count, sessions=count, salt=11, numbered=True)
        sent = loadgen(
            "webchat",
            url,
            messages,
            folder,
            "load",
            rate=rate,
            duration=count / rate + 1,
            timeout=30,
        )
        rows = wait_drained(db, sent, 60)
        metrics_text = http_get(f"{url}/metrics")[1].decode()
    parse = {}
    for line in parse_log.read_text().splitlines():
        record = json.loads(line)
        parse[record["text"].rsplit(" ", 1)[-1]] = record["seconds"]
    overhead, e2e, nlu, client_e2e = [], [], [], []
    unmatched = 0
    for n, message in enumerate(messages[: len(sent)]):
        row = rows.get(event_key(message))
        seconds = parse.get(str(n))
        if row is None or row["sent"] is None or seconds is None:
            unmatched += 1
            continue
        total = row["sent"] - row["received"]
        e2e.append(total)
        nlu.append(seconds)
        overhead.append(total - seconds)
    by_id = {r["id"]: r for r in sent}
    for message in messages[: len(sent)]:
        row = rows.get(event_key(message))
        if row and row["sent"] and message["id"] in by_id:
            client_e2e.append(row["sent"] - by_id[message["id"]]["t_send"])
    result = {
        "messages": len(sent),
        "rate_per_s": rate,
        "unmatched": unmatched,
        "overhead": summary(overhead),
        "inside_parse": summary(nlu),
        "accepted_to_sent": summary(e2e),
        "client_send_to_sent": summary(client_e2e),
        "overhead_share_of_nlu_p50": (
            round(pct(overhead, 50) / pct(nlu, 50), 3) if overhead and nlu else None
        ),
        "nlu_histogram": [
            line
            for line in metrics_text.splitlines()
            if line.startswith("bot_nlu_seconds_sum") or line.startswith("bot_nlu_seconds_count")
        ],
    }
    print(json.dumps({f"overhead[{label}]": result}, indent=1), file=sys.stderr)
    return result


def bot_rate_step(
    url: str,
    db: str,
    rate: float,
    duration: float,
    salt: int,
    folder: Path,
    web: Proc,
    postbacks: bool = False,
    nlu: Proc | None = None,
) -> dict:
    count = int(rate * duration)
    messages = (
        postback_messages(count, sessions=max(count // 3, 1), salt=salt)
        if postbacks
        else text_messages(count, sessions=max(count // 3, 1), salt=salt)
    )
    cpu0, nlu_cpu0 = web.cpu(), nlu.cpu() if nlu else 0.0
    with Sampler(web):
        sent = loadgen(
            "webchat",
            url,
            messages,
            folder,
            f"rate{salt}",
            rate=rate,
            duration=duration,
            timeout=30,
            max_in_flight=512,
        )
        rows = wait_drained(db, sent, within=45)
    cpu = web.cpu() - cpu0
    nlu_cpu = nlu.cpu() - nlu_cpu0 if nlu else None
    latencies, answered = [], []
    for r in sent:
        row = rows.get(event_key(r)) if r["status"] == 200 else None
        if row and row["sent"]:
            latencies.append(row["sent"] - r["t_send"])
            answered.append(row["sent"])
        else:
            latencies.append(float("inf"))
    first = min(r["t_send"] for r in sent)
    span = (max(answered) - first) if answered else 0
    return {
        "offered_per_s": rate,
        "sent": len(sent),
        "answered": len(answered),
        "throughput_per_s": round(len(answered) / span, 1) if span else 0,
        "latency": summary(latencies),
        "rss_max_mb": mb(max(web.samples or [0])),
        "bot_cpu_ms_per_message": round(cpu * 1000 / len(answered), 2) if answered else None,
        "rasa_cpu_ms_per_message": (
            round(nlu_cpu * 1000 / len(answered), 2) if answered and nlu_cpu is not None else None
        ),
    }


def peer_rate_step(
    url: str, rate: float, duration: float, salt: int, folder: Path, proc: Proc
) -> dict:
    count = int(rate * duration)
    messages = text_messages(count, sessions=max(count // 3, 1), salt=salt)
    cpu0 = proc.cpu()
    with Sampler(proc):
        sent = loadgen(
            "rasa-rest",
            url,
            messages,
            folder,
            f"peer{salt}",
            rate=rate,
            duration=duration,
            timeout=30,
            max_in_flight=512,
        )
    cpu = proc.cpu() - cpu0
    ok = [r for r in sent if r["status"] == 200]
    latencies = [(r["t_done"] - r["t_send"]) if r["status"] == 200 else float("inf") for r in sent]
    span = (max(r["t_done"] for r in ok) - min(r["t_send"] for r in sent)) if ok else 0
    return {
        "offered_per_s": rate,
        "sent": len(sent),
        "answered": len(ok),
        "throughput_per_s": round(len(ok) / span, 1) if span else 0,
        "latency": summary(latencies),
        "rss_max_mb": mb(max(proc.samples or [0])),
        "rasa_cpu_ms_per_message": round(cpu * 1000 / len(ok), 2) if ok else None,
    }


# Steps of 10/s from 10 on: both stacks kept up with 70/s on the faster 2-core machine of
# 2026-11-30 (a parse: 11 ms of CPU), so the steps go on to where they saturate.
PEER_RATES = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140]


def best_at_p99(steps: list[dict], target_ms: float) -> float:
    good = [
        s["throughput_per_s"]
        for s in steps
        if s["latency"].get("p99_ms", float("inf")) <= target_ms and s["answered"] == s["sent"]
    ]
    return max(good) if good else 0.0


def fig_peer(ctx: dict, bot: BotSetup) -> dict:
    rates = ctx.get("peer_rates", PEER_RATES)
    duration = ctx.get("peer_duration", 10)
    folder, db = fresh_sqlite(bot, "peer-run")
    web, url = bot.web("web", db, ctx["rasa_url"], folder)
    with running(web):
        wait_http(f"{url}/healthz", 60, web)
        bot_steps = bot_rate_steps(url, db, rates, duration, folder, web, ctx["rasa_proc"])
    return against_peer(ctx, bot_steps, rates, duration, folder)


def fig_peer_scaled(ctx: dict, bot: BotSetup) -> dict:
    """Figure 2 with the bot in its production layout on the same two cores: PostgreSQL,
    one web process (worker off) and two `bot worker` processes, one Rasa. The bot's CPU
    column is the web process's only."""
    rates = ctx.get("peer_rates", PEER_RATES)
    duration = ctx.get("peer_duration", 10)
    nlu = ctx["rasa_url"]
    with fresh_postgres(bot, "bench_peer_scaled") as (folder, db):
        web, url = bot.web("web", db, nlu, folder, BOT__SERVICE__EMBEDDED_WORKER="false")
        with running(web):
            wait_http(f"{url}/healthz", 60, web)
            workers = [bot.worker(f"worker{i}", db, nlu, folder) for i in range(2)]
            with running(*workers):
                for worker in workers:
                    wait_log(worker, "worker_started", 60)
                bot_steps = bot_rate_steps(url, db, rates, duration, folder, web, ctx["rasa_proc"])
    result = against_peer(ctx, bot_steps, rates, duration, folder)
    return {"layout": "PostgreSQL, 1 web + 2 workers, 1 Rasa", **result}


def fig_peer_two_rasa(ctx: dict, bot: BotSetup) -> dict:
    """Figure 2 with the embedded bot's NLU URL naming two Rasa replicas (the client takes
    them in turn), all on the same two cores: the most the bot can do on this machine.
    The second replica is stopped before the peer's steps."""
    rates = ctx.get("peer_rates", PEER_RATES)
    duration = ctx.get("peer_duration", 10)
    folder, db = fresh_sqlite(bot, "peer-two-rasa")
    second, second_url = start_rasa(SCRATCH / "rasa2", "rasa-nlu-2")
    with running(second):
        web, url = bot.web("web", db, f"{ctx['rasa_url']},{second_url}", folder)
        with running(web):
            wait_http(f"{url}/healthz", 60, web)
            bot_steps = bot_rate_steps(url, db, rates, duration, folder, web, None)
    result = against_peer(ctx, bot_steps, rates, duration, folder)
    return {"layout": "embedded (SQLite), two Rasa replicas", **result}


def bot_rate_steps(
    url: str,
    db: str,
    rates: list[int],
    duration: float,
    folder: Path,
    web: Proc,
    nlu: Proc | None,
) -> list[dict]:
    steps = []
    for i, rate in enumerate(rates):
        step = bot_rate_step(url, db, rate, duration, 100 + i, folder, web, nlu=nlu)
        print(json.dumps({"bot": step}), file=sys.stderr)
        steps.append(step)
        if i > 0 and step["latency"].get("p99_ms", float("inf")) > 10_000:
            break  # past saturation: higher rates only queue
    return steps


def against_peer(
    ctx: dict, bot_steps: list[dict], rates: list[int], duration: float, folder: Path
) -> dict:
    """The same rates through Rasa's own stack, and the ratio at equal p99."""
    peer_steps = []
    model = Path(ctx["peer_model"])
    peer, peer_url = start_peer(folder, model)
    with running(peer):
        ctx["peer_rss_idle_mb"] = mb(peer.rss())
        for i, rate in enumerate(rates):
            step = peer_rate_step(peer_url, rate, duration, 200 + i, folder, peer)
            print(json.dumps({"peer": step}), file=sys.stderr)
            peer_steps.append(step)
            if i > 0 and step["latency"].get("p99_ms", float("inf")) > 10_000:
                break
    target = P99_TARGET * 1000
    ours, theirs = best_at_p99(bot_steps, target), best_at_p99(peer_steps, target)
    parse_cpu = _median_of(bot_steps, "rasa_cpu_ms_per_message")
    peer_cpu = _median_of(peer_steps, "rasa_cpu_ms_per_message")
    return {
        "p99_target_ms": target,
        "duration_s": duration,
        "bot": bot_steps,
        "peer": peer_steps,
        "bot_per_s_at_p99": ours,
        "peer_per_s_at_p99": theirs,
        "ratio": round(ours / theirs, 2) if theirs else None,
        "peer_rss_idle_mb": ctx.get("peer_rss_idle_mb"),
        # Both stacks parse in one single-threaded Rasa process: at best the bot answers as
        # many messages as its Rasa parses per second of CPU, the peer as many as it parses
        # and answers. Their CPU per message bounds the ratio whatever the bot does.
        "parse_cpu_ms_per_message": parse_cpu,
        "peer_cpu_ms_per_message": peer_cpu,
        "ratio_ceiling_one_rasa": round(peer_cpu / parse_cpu, 2)
        if parse_cpu and peer_cpu
        else None,
    }


def _median_of(steps: list[dict], key: str) -> float | None:
    values = [s[key] for s in steps if s.get(key) is not None]
    return round(statistics.median(values), 2) if values else None


def closed_loop(
    ctx: dict,
    url: str,
    folder: Path,
    procs: list[Proc],
    replies: Callable[[list[dict]], dict[str, float]],
    messages: list[dict] | None = None,
    duration: float | None = None,
) -> dict:
    """Messages (figure 3's buttons unless given) as fast as the service accepts them (32
    connections), bounded by count and time; `replies(sent)` waits for the replies and
    gives each one's time by event key. CPU and RSS are those of `procs`."""
    if messages is None:
        count = ctx.get("nonlu_messages", 6000)
        messages = postback_messages(count, sessions=count // 3, salt=300)
    cpu0 = sum(proc.cpu() for proc in procs)
    loadgen_cpu0 = children_cpu()
    with Sampler(*procs):
        started = time.time()
        sent = loadgen(
            "webchat",
            url,
            messages,
            folder,
            "closed",
            concurrency=32,
            duration=duration or ctx.get("nonlu_duration", 10),
            timeout=30,
        )
        loadgen_cpu = children_cpu() - loadgen_cpu0
        accepted = [r for r in sent if r["status"] == 200]
        replied = replies(sent)
    cpu = sum(proc.cpu() for proc in procs) - cpu0
    sent_times = list(replied.values())
    accept_span = max((r["t_done"] for r in accepted), default=started) - started
    reply_span = max(sent_times, default=started) - started
    return {
        "mode": "closed loop, 32 connections",
        "accepted": len(accepted),
        "accepted_per_s": round(len(accepted) / accept_span, 1) if accept_span else 0,
        "replied": len(sent_times),
        "replied_per_s": round(len(sent_times) / reply_span, 1) if reply_span else 0,
        "webhook_latency": summary([r["t_done"] - r["t_send"] for r in accepted]),
        "rss_max_mb": mb(max(max(proc.samples or [0]) for proc in procs)),
        "cpu_ms_per_message": round(cpu * 1000 / max(len(sent_times), 1), 2),
        "loadgen_cpu_ms_per_message": round(loadgen_cpu * 1000 / max(len(sent), 1), 2),
    }


def children_cpu() -> float:
    """CPU seconds of this process's finished children (the load generator)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bot_replies(
    db: str, rows: dict[str, dict] | None = None
) -> Callable[[list[dict]], dict[str, float]]:
    """`closed_loop`'s reading of the bot's replies; the timeline goes into `rows` too."""

    def replies(sent: list[dict]) -> dict[str, float]:
        timeline = wait_drained(db, sent, within=300)
        if rows is not None:
            rows.update(timeline)
        return {key: row["sent"] for key, row in timeline.items() if row["sent"]}

    return replies


def fig_nonlu(ctx: dict, bot: BotSetup) -> dict:
    """Postbacks/language switches: NLU behind a counting proxy must see nothing."""
    folder, db = fresh_sqlite(bot, "nonlu")
    parse_log = folder / "parse.jsonl"
    parse_log.touch()
    proxy, proxy_url = nlu_proxy("nluproxy", ctx["rasa_url"], str(parse_log), folder)
    web, url = bot.web("web", db, proxy_url, folder)
    results = []
    with running(web, proxy):
        wait_http(f"{url}/healthz", 60, web)
        loop = closed_loop(ctx, url, folder, [web], bot_replies(db))
        results.append({**loop, "cpu_note": "web + embedded worker in one process (one core)"})
        # Open loop below saturation: latency to reply.
        rate = ctx.get("nonlu_rate", 30)
        step = bot_rate_step(url, db, rate, 10, 301, folder, web, postbacks=True)
        results.append({"mode": f"open loop {rate}/s", **step})
    parse_calls = len(parse_log.read_text().splitlines())
    out = {"runs": results, "nlu_calls_seen_by_proxy": parse_calls}
    print(json.dumps({"nonlu": out}, indent=1), file=sys.stderr)
    return out


def start_floor(name: str, database_url: str, folder: Path, role: str) -> tuple[Proc, str]:
    port = free_port()
    args = ["--database", database_url, "--port", str(port), "--role", role]
    proc = spawn(name, [PYTHON, "-m", "bench.floor", *args], {}, folder)
    return proc, f"http://127.0.0.1:{port}"


async def _floor_replies(database_url: str) -> dict[str, float]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT event_key, stored_at FROM floor_outbox"))
            return {key: stored_at for key, stored_at in rows.all()}
    finally:
        await engine.dispose()


def floor_replies(database_url: str) -> Callable[[list[dict]], dict[str, float]]:
    def replies(sent: list[dict]) -> dict[str, float]:
        keys = accepted_keys(sent)
        stored = poll_until(
            lambda: asyncio.run(_floor_replies(database_url)),
            lambda stored: keys <= stored.keys(),
            240,
        )
        return {key: at for key, at in stored.items() if key in keys}

    return replies


def fig_floor(ctx: dict, bot: BotSetup) -> dict:
    """The floor (bench.floor): figure 3's closed loop of buttons through a service that
    keeps the bot's delivery contract and does nothing else, built from the same parts.
    SQLite in one process, as the embedded bot (compare `nonlu`); PostgreSQL with one web
    and two worker processes, as the production layout (compare `workers`)."""
    runs = []
    folder = SCRATCH / "floor"
    shutil.rmtree(folder, ignore_errors=True)
    db = sqlite_url(folder)
    floor, url = start_floor("floor", db, folder, "both")
    with running(floor):
        wait_http(f"{url}/healthz", 30, floor)
        loop = closed_loop(ctx, url, folder, [floor], floor_replies(db))
        runs.append({"layout": "SQLite, one process (web + worker)", **loop})
    with fresh_postgres(bot, "bench_floor") as (folder, db):
        web, url = start_floor("floor-web", db, folder, "web")
        with running(web):
            wait_http(f"{url}/healthz", 30, web)
            workers = [start_floor(f"floor-worker{i}", db, folder, "worker")[0] for i in (1, 2)]
            with running(*workers):
                for worker in workers:
                    wait_log(worker, "floor_ready", 30)
                loop = closed_loop(ctx, url, folder, [web, *workers], floor_replies(db))
                runs.append({"layout": "PostgreSQL, 1 web + 2 worker processes", **loop})
    out = {"runs": runs}
    print(json.dumps({"floor": out}, indent=1), file=sys.stderr)
    return out


def fig_nlucpu(ctx: dict, bot: BotSetup) -> dict:
    """CPU the Rasa NLU server spends per /model/parse (the bot's share of the NLU cost)."""
    folder = SCRATCH / "nlucpu"
    proc: Proc = ctx["rasa_proc"]
    messages = text_messages(ctx.get("nlucpu_messages", 300), sessions=1, salt=600)
    cpu0 = proc.cpu()
    sent = loadgen(
        "rasa-parse",
        ctx["rasa_url"],
        messages,
        folder,
        "parse",
        concurrency=2,
        duration=120,
        timeout=30,
    )
    cpu = proc.cpu() - cpu0
    ok = [r for r in sent if r["status"] == 200]
    return {
        "parses": len(ok),
        "rasa_cpu_ms_per_parse": round(cpu * 1000 / max(len(ok), 1), 2),
        "latency": summary([r["t_done"] - r["t_send"] for r in ok]),
    }


def fig_idle(ctx: dict, bot: BotSetup) -> dict:
    """What an idle deployment costs: the worker's polls, the periodic jobs, the timers."""
    folder, db = fresh_sqlite(bot, "idle")
    seconds = ctx.get("idle_seconds", 20)
    per_second = []
    for n in range(3):
        web, url = bot.web(f"idle{n}", db, ctx["rasa_url"], folder)
        with running(web):
            wait_http(f"{url}/healthz", 60, web)
            time.sleep(2)  # start-up work done, first periodic jobs run
            before = web.cpu()
            time.sleep(seconds)
            per_second.append(round((web.cpu() - before) * 1000 / seconds, 1))
    return {"idle_seconds": seconds, "cpu_ms_per_s": per_second}


def fig_memory(ctx: dict, bot: BotSetup) -> dict:
    folder, db = fresh_sqlite(bot, "memory")
    starts, idle, cpu = [], [], []
    for n in range(3):
        web, url = bot.web(f"web{n}", db, ctx["rasa_url"], folder)
        with running(web):
            starts.append(round(wait_http(f"{url}/healthz", 60, web), 3))
            cpu.append(round(web.cpu(), 2))
            time.sleep(2)
            idle.append(mb(web.rss()))
    # Free text under load (language detection, the urgent keywords on every message), with
    # the NLU answering and with the NLU down (the keyword classifier answers everything).
    rate = ctx.get("memory_text_rate", 20)
    duration = ctx.get("memory_text_duration", 10)
    loads = []
    for n, (label, nlu_url) in enumerate(
        (("free text", ctx["rasa_url"]), ("free text, NLU down (keyword fallback)", dead_url()))
    ):
        web, url = bot.web(f"web-text{n}", db, nlu_url, folder)
        with running(web):
            wait_http(f"{url}/healthz", 60, web)
            step = bot_rate_step(url, db, rate, duration, 800 + n, folder, web)
        loads.append({"load": f"{label}, {rate}/s for {duration} s", **step})
    return {
        "cold_start_to_healthz_s": starts,
        "cpu_s_to_healthz": cpu,
        "rss_idle_mb": idle,
        "under_load": loads,
        "rasa_nlu_rss_mb": mb(ctx["rasa_proc"].rss()),
    }


# --- growth ---------------------------------------------------------------------------
async def _seed(database_url: str, n: int, salt: int) -> float:
    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.crypto import Vault, pseudonym
    from bot.storage.models import (
        Case,
        Contact,
        Conversation,
        InboxEvent,
        Message,
        OutboxMessage,
    )

    vault = Vault((BOT_ENV["ENCRYPTION_KEYS"],))
    key = BOT_ENV["PSEUDONYM_KEY"].encode()
    engine = create_async_engine(database_url)
    started = time.monotonic()
    now = datetime.now(UTC)
    blob = vault.encrypt_text("synthetic")
    chunk = 5000
    try:
        for lo in range(0, n, chunk):
            ids = range(lo + 1, min(n, lo + chunk) + 1)
            async with engine.begin() as conn:
                await conn.execute(
                    insert(Contact),
                    [
                        {
                            "id": i,
                            "platform": "webchat",
                            "pseudonym": pseudonym(key, "webchat", session_id(i, salt)),
                            "address_enc": vault.encrypt_json(
                                {"user_id": session_id(i, salt), "address": {}}
                            ),
                            "language": "en",
                            "language_chosen": True,
                            "notice_shown_at": now,
                            "active": True,
                            "created_at": now,
                            "last_seen_at": now,
                        }
                        for i in ids
                    ],
                )
                await conn.execute(
                    insert(Conversation),
                    [{"id": i, "contact_id": i, "handler": "bot", "updated_at": now} for i in ids],
                )
                await conn.execute(
                    insert(Message),
                    [
                        {
                            "conversation_id": i,
                            "direction": d,
                            "sender": s,
                            "text_enc": blob,
                            "language": "en",
                            "created_at": now,
                        }
                        for i in ids
                        for d, s in (("in", "user"), ("out", "bot"))
                    ],
                )
                await conn.execute(
                    insert(Case),
                    [
                        {
                            "contact_id": i,
                            "conversation_id": i,
                            "kind": "urgent",
                            "intent": "trafficking",
                            "urgent": True,
                            "status": ("open", "claimed", "closed")[i % 3],
                            "language": "en",
                            "platform": "webchat",
                            "details_enc": blob,
                            "created_at": now,
                        }
                        for i in ids
                    ],
                )
                await conn.execute(
                    insert(InboxEvent),
                    [
                        {
                            "platform": "webchat",
                            "event_id": f"seed:{i}",
                            "sender": pseudonym(key, "webchat", session_id(i, salt)),
                            "payload_enc": blob,
                            "state": "done",
                            "attempts": 1,
                            "available_at": now,
                            "received_at": now,
                            "processed_at": now,
                        }
                        for i in ids
                    ],
                )
                await conn.execute(
                    insert(OutboxMessage),
                    [
                        {
                            "idempotency_key": f"seed:{i}",
                            "platform": "webchat",
                            "recipient": pseudonym(key, "webchat", session_id(i, salt)),
                            "contact_id": i,
                            "conversation_id": i,
                            "payload_enc": blob,
                            "sender": "bot",
                            "state": "sent",
                            "attempts": 1,
                            "available_at": now,
                            "created_at": now,
                            "sent_at": now,
                        }
                        for i in ids
                    ],
                )
        if engine.dialect.name == "postgresql":
            from sqlalchemy import text

            async with engine.begin() as conn:
                for table in ("contacts", "conversations", "cases"):
                    await conn.execute(
                        text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                    )
                await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return time.monotonic() - started


def fig_growth(ctx: dict, bot: BotSetup) -> dict:
    sizes = ctx.get("growth_sizes", [1000, 10_000, 100_000])
    results = []
    salt = 77
    for n in sizes:
        folder, db = fresh_sqlite(bot, f"growth-{n}")
        seeded = asyncio.run(_seed(db, n, salt))
        web, url = bot.web("web", db, ctx["rasa_url"], folder)
        with running(web):
            wait_http(f"{url}/healthz", 60, web)
            time.sleep(1)
            idle = mb(web.rss())
            health = [http_get(f"{url}/healthz")[2] for _ in range(5)]
            scrape = [http_get(f"{url}/metrics")[2] for _ in range(5)]
            # Existing contacts (lookups in the full tables): postbacks and text.
            rate, duration = 20, 10
            count = int(rate * duration)
            rng = random.Random(n)
            existing = [session_id(rng.randint(1, n), salt) for _ in range(count)]
            msgs = [
                {
                    "session": s,
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "payload": POSTBACKS[i % len(POSTBACKS)],
                }
                for i, s in enumerate(existing)
            ]
            with Sampler(web):
                sent = loadgen(
                    "webchat",
                    url,
                    msgs,
                    folder,
                    "postbacks",
                    rate=rate,
                    duration=duration + 1,
                    timeout=30,
                )
                rows = wait_drained(db, sent, within=60)
            post_lat = answered_latencies(sent, rows)
            texts = text_messages(100, sessions=100, salt=n)
            for m in texts:
                m["session"] = session_id(rng.randint(1, n), salt)
            text_sent = loadgen(
                "webchat", url, texts, folder, "texts", rate=10, duration=11, timeout=30
            )
            rows = wait_drained(db, text_sent, within=60)
            text_lat = answered_latencies(text_sent, rows)
        size = sum(p.stat().st_size for p in folder.glob("bot.db*"))
        step = {
            "contacts_and_cases": n,
            "seed_seconds": round(seeded, 1),
            "db_mb": mb(size),
            "rss_idle_mb": idle,
            "rss_max_mb": mb(max(web.samples or [0])),
            "healthz": summary(health),
            "metrics_scrape": summary(scrape),
            "postback_accepted_to_sent": summary(post_lat),
            "text_accepted_to_sent": summary(text_lat),
        }
        print(json.dumps({"growth": step}), file=sys.stderr)
        results.append(step)
    return {"database": "sqlite (embedded default)", "steps": results}


# --- PostgreSQL: 1 -> 2 workers ---------------------------------------------------------
PG_ADMIN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_create(name: str) -> str:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def _pg_drop(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.contextmanager
def fresh_postgres(bot: BotSetup, name: str) -> Iterator[tuple[Path, str]]:
    """An emptied scratch folder SCRATCH/name and a new migrated PostgreSQL database of
    that name, dropped afterwards."""
    db = asyncio.run(_pg_create(name))
    folder = SCRATCH / name
    shutil.rmtree(folder, ignore_errors=True)
    try:
        bot.migrate(db, folder)
        yield folder, db
    finally:
        asyncio.run(_pg_drop(name))


def start_stub(folder: Path) -> tuple[Proc, str]:
    """A zero-cost fake Rasa: measures the bot's own capacity on the text path."""
    proc, url = nlu_proxy("stub-nlu", "stub", os.devnull, folder)
    wait_http(f"{url}/status", 30, proc)
    return proc, url


def fig_workers(ctx: dict, bot: BotSetup) -> dict:
    """Figure 6, with a zero-cost fake Rasa (the bot's own capacity)."""
    stub, stub_url = start_stub(SCRATCH)
    try:
        return _fig_workers(ctx, bot, stub_url, "a zero-cost fake Rasa (the bot's own capacity)")
    finally:
        stub.stop()


def fig_workers_rasa(ctx: dict, bot: BotSetup) -> dict:
    """Figure 6 with the real Rasa: what parsing ahead of the transaction buys."""
    return _fig_workers(ctx, bot, ctx["rasa_url"], "the real Rasa of this run")


def _fig_workers(ctx: dict, bot: BotSetup, nlu_url: str, nlu_note: str) -> dict:
    results = []
    count = ctx.get("workers_messages", 600)
    for kind in ("postback", "text"):
        for workers in (1, 2):
            with fresh_postgres(bot, f"bench_workers_{kind}_{workers}") as (folder, db):
                nlu = nlu_url if kind == "text" else dead_url()
                web, url = bot.web("web", db, nlu, folder, BOT__SERVICE__EMBEDDED_WORKER="false")
                n = count if kind == "postback" else ctx.get("workers_text_messages", 300)
                messages = (
                    postback_messages(n, sessions=n // 3, salt=400 + workers)
                    if kind == "postback"
                    else text_messages(n, sessions=n // 3, salt=500 + workers)
                )
                with running(web):
                    wait_http(f"{url}/healthz", 60, web)
                    procs = [bot.worker(f"worker{i}", db, nlu, folder) for i in range(workers)]
                    with running(*procs):
                        for proc in procs:
                            wait_log(proc, "worker_started", 60)
                        rows: dict[str, dict] = {}
                        replies = bot_replies(db, rows)
                        loop = closed_loop(ctx, url, folder, procs, replies, messages, 60)
                    results.append(
                        {
                            "path": kind,
                            "workers": workers,
                            "events": loop["accepted"],
                            "replied": loop["replied"],
                            "replies_per_s": loop["replied_per_s"],
                            "outbox_rows_per_event_max": max(r["rows"] for r in rows.values()),
                            "worker_rss_max_mb": [mb(max(p.samples or [0])) for p in procs],
                            "worker_cpu_ms_per_event": loop["cpu_ms_per_message"],
                        }
                    )
                    print(json.dumps({"workers": results[-1]}), file=sys.stderr)
    return {
        "database": "postgresql 127.0.0.1",
        "steps": results,
        "note": "workers started and idle first, then load through the web process;"
        f" text path with {nlu_note}",
    }


def machine() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil().virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": [round(x, 2) for x in load],
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


FIGURES = (
    "overhead",
    "nonlu",
    "memory",
    "idle",
    "peer",
    "peer_scaled",
    "nlucpu",
    "growth",
    "workers",
    "workers_rasa",
    "floor",
    "peer_two_rasa",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    parser.add_argument("--only", default=",".join(FIGURES))
    peer_model = SCRATCH / "peer" / "models" / "peer.tar.gz"
    parser.add_argument("--peer-model", type=Path, default=peer_model)
    parser.add_argument("--baseline-root", type=Path, help="also run 'overhead' on this checkout")
    parser.add_argument("--baseline-python", default=None)
    parser.add_argument(
        "--baseline-figures",
        default="overhead",
        help="figures also run on --baseline-root, each right after its own (e.g. nonlu,memory)",
    )
    parser.add_argument("--growth-sizes", default="", help="e.g. 100000 (default 1k,10k,100k)")
    parser.add_argument("--stub-nlu", action="store_true", help="fake Rasa (smoke test)")
    parser.add_argument("--quick", action="store_true", help="smaller counts (smoke test)")
    args = parser.parse_args(argv)

    def terminate(_sig: int, _frame: object) -> None:
        raise SystemExit(143)  # run the `finally` blocks: every started process is stopped

    signal.signal(signal.SIGTERM, terminate)
    only = [f for f in args.only.split(",") if f]
    ctx: dict = {"peer_model": str(args.peer_model)}
    if args.quick:
        ctx.update(
            overhead_messages=40,
            peer_rates=[10, 40],
            peer_duration=4,
            nonlu_messages=600,
            nonlu_duration=5,
            growth_sizes=[1000],
            workers_messages=300,
            workers_text_messages=60,
        )
    if args.growth_sizes:
        ctx["growth_sizes"] = [int(x) for x in args.growth_sizes.split(",")]
    results: dict = {"machine": machine(), "figures": {}}
    if args.out.exists():
        results["figures"] = json.loads(args.out.read_text()).get("figures", {})
    bot = BotSetup()
    if args.stub_nlu:  # smoke test of the machinery: a zero-cost fake Rasa
        rasa, ctx["rasa_url"] = start_stub(SCRATCH)
    else:
        rasa, ctx["rasa_url"] = start_rasa(SCRATCH / "rasa")
    ctx["rasa_proc"] = rasa
    with running(rasa):
        for name in only:
            print(f"== {name}", file=sys.stderr)
            started = time.monotonic()
            figure = globals()[f"fig_{name}"](ctx, bot)
            figure["elapsed_s"] = round(time.monotonic() - started, 1)
            figure["machine"] = machine()  # load average right after this figure
            results["figures"][name] = figure
            if args.baseline_root and name in args.baseline_figures.split(","):
                base = BotSetup(args.baseline_root, args.baseline_python or PYTHON)
                print(f"== {name} (baseline: {args.baseline_root})", file=sys.stderr)
                started = time.monotonic()
                if name == "overhead":
                    baseline = fig_overhead(ctx, base, "baseline")
                else:
                    baseline = globals()[f"fig_{name}"](ctx, base)
                baseline["elapsed_s"] = round(time.monotonic() - started, 1)
                baseline["machine"] = machine()
                baseline["root"] = str(args.baseline_root)
                results["figures"][f"{name}_baseline"] = baseline
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
        results["figures"].setdefault("memory", {})["rasa_nlu_rss_mb_end"] = mb(rasa.rss())
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(args.out)


if __name__ == "__main__":
    main()
