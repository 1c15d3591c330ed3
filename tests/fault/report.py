"""`python -m tests.fault.report [sessions] [per_session]`: run the fault scenario on a
fresh PostgreSQL database and write the counts to docs/reliability.md."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bot.config import ROOT
from tests.fault.scenario import Report, dump, run_scenario
from tests.support import postgres_database

DOC = ROOT / "docs" / "reliability.md"
MARK = "<!-- fault-report -->"


def render(report: Report) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = [
        ("messages sent (distinct events)", report.messages),
        ("of which urgent", report.urgent),
        ("events redelivered (same id again)", report.redelivered),
        ("HTTP retries by the client (same id)", report.http_retries),
        ("inbox rows stored", report.inbox_rows),
        ("handled (inbox done)", report.handled),
        ("lost", report.lost),
        ("replies delivered (outbox sent)", report.replies),
        ("duplicate replies (second outbox row for one event)", report.duplicate_replies),
        ("outbox rows whose send was logged twice", report.sends_logged_twice),
        ("urgent messages answered with safety steps + consent ask", report.urgent_escalated),
        ("rows left pending/dead", sum(report.stuck.values())),
        ("wall time, s", report.seconds),
    ]
    lines = [
        MARK,
        f"Last run: {when}, `python -m tests.fault.report` (2 workers, 1 web, PostgreSQL).",
        "",
        "| count | value |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        "Faults injected:",
        *(f"- {fault}" for fault in report.faults),
        "",
        "Not exercised yet:",
        *(f"- {skip}" for skip in report.skipped),
        MARK,
    ]
    return "\n".join(lines)


def write_report(report: Report) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Reliability\n\n{MARK}\n{MARK}\n"
    head, _, rest = text.partition(MARK)
    _, _, tail = rest.partition(MARK)
    DOC.write_text(head + render(report) + tail, encoding="utf-8")


async def main(sessions: int, per_session: int) -> None:
    async with postgres_database() as url:
        with tempfile.TemporaryDirectory() as folder:
            report = await run_scenario(
                url, Path(folder), sessions=sessions, per_session=per_session
            )
    print(dump(report))
    write_report(report)
    print(f"wrote {DOC}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(args + [30, 4][len(args) :])))
