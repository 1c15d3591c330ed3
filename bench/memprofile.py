"""Where the memory of `bot run` goes: RSS by stage, Python allocations by package.

    python -m bench.memprofile                    # RSS by stage, free text, stub NLU
    python -m bench.memprofile --trace            # + tracemalloc by package at each stage
    python -m bench.memprofile --nlu down         # NLU unreachable: the keyword fallback
    python -m bench.memprofile --load buttons --messages 600

Runs what `bot run` runs (the web app with the embedded worker, SQLite) in this process,
then sends load from `bench.loadgen` in a separate process and waits until every event
is answered. Stages: the bare interpreter, the imports of `bot.cli` and `bot.web`, ready
(the app started: content, keyword classifier, engine, worker), idle 2 s later, and after
the load. For each stage: RSS, and its split into anonymous memory (the heap: Python
objects, malloc arenas, thread stacks) and file-backed pages (shared libraries' code
and data, mapped files), from /proc/self/smaps. With --trace, tracemalloc also groups
the live Python allocations by package at each stage (tracemalloc costs memory and time
itself, so read RSS from a run without it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TextIO

STARTED = time.perf_counter()
_TRACE = "--trace" in sys.argv
if _TRACE:
    import tracemalloc

    tracemalloc.start(1)


_GC = {"seconds": 0.0, "collections": [0, 0, 0], "started": 0.0}


def _gc_timer(phase: str, info: dict) -> None:
    if phase == "start":
        _GC["started"] = time.perf_counter()
    else:
        _GC["seconds"] += time.perf_counter() - _GC["started"]
        _GC["collections"][info["generation"]] += 1


def rss_parts() -> dict[str, float]:
    """RSS (MB) split by kind of mapping, from /proc/self/smaps."""
    parts = {"anon": 0, "file": 0}
    libs: dict[str, int] = {}
    name = ""
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if not fields:
                continue
            if not fields[0].endswith(":") or "-" in fields[0]:  # a mapping's header
                name = fields[5] if len(fields) > 5 else ""
                continue
            if fields[0] == "Rss:":
                kb = int(fields[1])
                if name.startswith("/"):
                    parts["file"] += kb
                    libs[name] = libs.get(name, 0) + kb
                else:
                    parts["anon"] += kb
    out = {k: round(v / 1024, 1) for k, v in parts.items()}
    out["rss"] = round((parts["anon"] + parts["file"]) / 1024, 1)
    top = sorted(libs.items(), key=lambda kv: -kv[1])[:12]
    out["top_files"] = {os.path.basename(k): round(v / 1024, 1) for k, v in top}  # type: ignore[assignment]
    return out


def package_of(filename: str) -> str:
    """A readable owner for a source file: the package under site-packages, or ours."""
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            rest = filename.split(marker, 1)[1]
            if marker == "/lib/python3":
                rest = "stdlib:" + rest.split("/", 2)[1].removesuffix(".py")
            return rest.split("/")[0].removesuffix(".py")
    for ours in ("bot/", "nlu/", "handlers/", "bench/"):
        if f"/{ours}" in filename:
            tail = filename.split(f"/{ours}", 1)[1]
            return ours + tail
    return filename


def by_package(limit: int = 25) -> list[tuple[str, float, int]]:
    snapshot = tracemalloc.take_snapshot()
    sizes: dict[str, list[int]] = {}
    for stat in snapshot.statistics("filename"):
        key = package_of(stat.traceback[0].filename)
        entry = sizes.setdefault(key, [0, 0])
        entry[0] += stat.size
        entry[1] += stat.count
    rows = sorted(sizes.items(), key=lambda kv: -kv[1][0])
    return [(k, round(v[0] / 2**20, 2), v[1]) for k, v in rows[:limit]]


def report(stage: str, results: list[dict]) -> None:
    parts = rss_parts()
    row: dict = {"stage": stage, "t": round(time.perf_counter() - STARTED, 2), **parts}
    row["modules"] = len(sys.modules)
    row["cpu_s"] = round(time.process_time(), 2)
    row["gc_s"] = round(_GC["seconds"], 3)
    row["gc_collections"] = list(_GC["collections"])
    if _TRACE:
        current, _peak = tracemalloc.get_traced_memory()
        row["traced_mb"] = round(current / 2**20, 1)
        row["packages"] = by_package()
    results.append(row)
    top = ", ".join(f"{k} {v}" for k, v in list(parts["top_files"].items())[:6])  # type: ignore[union-attr]
    print(
        f"{stage:>10}: rss {parts['rss']:6.1f} MB  anon {parts['anon']:6.1f}  "
        f"file {parts['file']:5.1f}  modules {row['modules']:4d}  cpu {row['cpu_s']:5.2f} s  "
        f"gc {row['gc_s']:.2f} s {row['gc_collections']}  ({top})",
        file=sys.stderr,
    )
    if _TRACE:
        print(f"{'':>12}traced by Python: {row['traced_mb']} MB", file=sys.stderr)
        for name, size, count in row["packages"]:
            print(f"{'':>14}{size:7.2f} MB {count:8d} blocks  {name}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trace", action="store_true", help="tracemalloc by package")
    parser.add_argument("--nlu", choices=["stub", "down"], default="stub")
    parser.add_argument("--load", choices=["text", "buttons", "none"], default="text")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--out", help="write the stages as JSON here")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() once ready")
    args = parser.parse_args(argv)
    results: list[dict] = []
    import gc

    gc.callbacks.append(_gc_timer)
    report("interpreter", results)

    import importlib

    for module in ("bot.cli", "bot.web"):  # what `python -m bot.cli run` imports
        importlib.import_module(module)

    report("imports", results)
    import asyncio
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="memprofile-"))
    with open(folder / "bot.log", "w") as log:
        asyncio.run(_run(args, results, folder, log))
    if args.out:
        import json

        with open(args.out, "w") as out:
            json.dump(results, out, indent=1)


async def _run(args: argparse.Namespace, results: list[dict], folder: Path, log: TextIO) -> None:
    import asyncio
    import shutil

    from aiohttp import web

    from bench.run import BOT_ENV, PYTHON, Proc, free_port, spawn, wait_http
    from bot.config import load_settings
    from bot.logs import configure_logging
    from bot.web import create_app

    db = f"sqlite+aiosqlite:///{folder}/bot.db"
    stub: Proc | None = None
    if args.nlu == "stub":
        port = free_port()
        cmd = [PYTHON, "-m", "bench.nluproxy", "--listen", str(port), "--upstream", "stub"]
        stub = spawn("stub-nlu", [*cmd, "--log", os.devnull], {}, folder)
        nlu_url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_http, f"{nlu_url}/status", 30, stub)
    else:
        nlu_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    port = free_port()
    os.environ.update(
        {
            **BOT_ENV,
            "DATABASE_URL": db,
            "NLU_URL": nlu_url,
            "BOT__SERVICE__HOST": "127.0.0.1",
            "BOT__SERVICE__PORT": str(port),
        }
    )
    configure_logging(stream=log)
    settings = load_settings()
    # in a child: `bot migrate` imports alembic, which `bot run` does not
    migrating = await asyncio.create_subprocess_exec(
        PYTHON, "-m", "bot.cli", "migrate", stdout=asyncio.subprocess.DEVNULL
    )
    if await migrating.wait():
        raise SystemExit("bot migrate failed")
    runner = web.AppRunner(create_app(settings), access_log=None)
    try:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        report("ready", results)
        if args.gc_freeze:
            import gc

            gc.freeze()
        await asyncio.sleep(2)
        report("idle", results)
        if args.load != "none":
            answered = await _load(args, port, db, folder)
            report(f"{args.load}x{answered}", results)
    finally:
        await runner.cleanup()
        if stub is not None:
            stub.stop()
        shutil.rmtree(folder, ignore_errors=True)


# Run in a child process so that this process holds only what `bot run` holds.
_CHILD = """
import json, sys
from bench.run import postback_messages, text_messages, wait_drained
kind, n, src, out, db = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
if out == "-":
    make = text_messages if kind == "text" else postback_messages
    messages = make(n, sessions=max(n // 3, 1), salt=700)
    with open(src, "w") as f:
        f.writelines(json.dumps(m, ensure_ascii=False) + "\\n" for m in messages)
else:
    sent = [json.loads(line) for line in open(out) if line.strip()]
    rows = wait_drained(db, sent, 180)
    print(sum(1 for r in rows.values() if r.get("sent")))
"""


async def _load(args: argparse.Namespace, port: int, db: str, folder: Path) -> int:
    """Send the load from bench.loadgen and wait until every event is answered."""
    import asyncio

    from bench.run import PYTHON, REPO

    src, out = folder / "in.jsonl", folder / "out.jsonl"
    n = str(args.messages)
    kind = args.load
    make = await asyncio.create_subprocess_exec(
        PYTHON, "-c", _CHILD, kind, n, str(src), "-", db, cwd=REPO
    )
    await make.wait()
    load = [
        *(PYTHON, "-m", "bench.loadgen", "--target", "webchat"),
        *("--url", f"http://127.0.0.1:{port}", "--messages", str(src), "--out", str(out)),
        *("--rate", str(args.rate), "--duration", str(args.messages / args.rate + 5)),
        *("--timeout", "30"),
    ]
    proc = await asyncio.create_subprocess_exec(*load, cwd=REPO)
    await proc.wait()
    drain = await asyncio.create_subprocess_exec(
        PYTHON, "-c", _CHILD, kind, n, str(src), str(out), db, cwd=REPO, stdout=-1
    )
    stdout, _ = await drain.communicate()
    return int(stdout or 0)


if __name__ == "__main__":
    main()
