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
PLATFORM_NAMES = {"webchat": "web chat", "line": "LINE", "telegram": "Telegram"}


def table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
    ]


def name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform.capitalize())


def counts(report: Report) -> list[str]:
    mix = ", ".join(f"{name(p)} {n}" for p, n in report.by_platform.items())
    return table(
        ("count", "value"),
        [
            ("messages sent (distinct events)", f"{report.messages} ({mix})"),
            ("of which urgent", report.urgent),
            ("events redelivered (same id again)", report.redelivered),
            ("HTTP retries by the sender (same id)", report.http_retries),
            ("inbox rows stored", report.inbox_rows),
            ("handled (inbox done)", report.handled),
            ("lost", report.lost),
            ("replies delivered (outbox sent)", report.replies),
            ("replies dead-lettered as unknown (send interrupted, never repeated)", report.unknown),
            ("duplicate replies (second outbox row for one event)", report.duplicate_replies),
            ("outbox rows whose send was logged twice", report.sends_logged_twice),
            ("urgent messages answered with safety steps + consent ask", report.urgent_escalated),
            ("rows left pending/dead", sum(report.stuck.values())),
            ("429s answered by the fakes", report.rate_limited),
            ("requests repeated after a 429", report.retries_after_429),
            ("of them sooner than the 429's retry hint", report.retries_before_hint),
            (
                "LINE pushes repeated with an accepted X-Line-Retry-Key (409, not delivered again)",
                report.line_retry_keys_refused,
            ),
            ("scripted platform failures no request met", report.scripted_failures_unmet),
            ("wall time, s", report.seconds),
        ],
    )


def platform_counts(report: Report) -> list[str]:
    rows = [
        (
            name(platform),
            r.rows_sent,
            r.rows_unknown,
            r.messages_expected,
            r.messages_received,
            r.received_twice,
            r.missing,
            r.unknown_received,
        )
        for platform, r in report.platforms.items()
    ]
    header = (
        "platform",
        "outbox sent",
        "outbox unknown",
        "messages of sent rows",
        "messages the fake accepted",
        "received twice",
        "missing",
        "of unknown rows, accepted",
    )
    return table(header, rows)


def nlu_counts(report: Report) -> list[str]:
    nlu = report.nlu
    phases = ("before", "during", "after")
    rows = [
        (who, *(nlu[f"{source}_{phase}"] for phase in phases))
        for who, source in (("Rasa", "rasa"), ("keyword fallback", "keywords"))
    ]
    return [
        *table(("messages classified by", "before the kill", "outage", "after the restart"), rows),
        "",
        f"Rasa ready {nlu['start_seconds']} s after start, {nlu['restart_seconds']} s after the"
        f" restart; `/healthz` said nlu `{nlu['healthz_during_outage']}` during the outage and"
        f" `{nlu['healthz_after_restart']}` after it.",
    ]


def render(report: Report, command: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    nlu = "Rasa on the model of content/" if report.nlu else "no NLU (keyword fallback)"
    lines = [
        MARK,
        f"Last run: {when}, `{command}` (2 workers, 1 web, PostgreSQL, {nlu},"
        " fake LINE/Telegram/Messenger).",
        "",
        *counts(report),
        "",
        "Replies per platform (outbox rows against what the fake platform accepted):",
        "",
        *platform_counts(report),
        "",
    ]
    if report.nlu:
        lines += [*nlu_counts(report), ""]
    lines += ["Faults injected:", *(f"- {fault}" for fault in report.faults)]
    if report.skipped:
        lines += ["", "Not exercised in this run:", *(f"- {skip}" for skip in report.skipped)]
    return "\n".join([*lines, MARK])


def write_report(report: Report, command: str = "pytest tests/fault") -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Reliability\n\n{MARK}\n{MARK}\n"
    head, _, rest = text.partition(MARK)
    _, _, tail = rest.partition(MARK)
    DOC.write_text(head + render(report, command) + tail, encoding="utf-8")


async def main(sessions: int, per_session: int) -> None:
    async with postgres_database() as url:
        with tempfile.TemporaryDirectory() as folder:
            report = await run_scenario(
                url, Path(folder), sessions=sessions, per_session=per_session
            )
    print(dump(report))
    write_report(report, f"python -m tests.fault.report {sessions} {per_session}")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(args + [30, 4][len(args) :])))
