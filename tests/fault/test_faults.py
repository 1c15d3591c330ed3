"""Fault suite (PostgreSQL, bounded time): a worker SIGKILLed, database connections
dropped, events redelivered — no message lost, no reply doubled, every urgent message
escalated. Set RELIABILITY_REPORT=1 to rewrite docs/reliability.md with the counts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fault.report import write_report
from tests.fault.scenario import dump, run_scenario

pytestmark = pytest.mark.postgres


async def test_no_message_lost_no_reply_doubled_under_faults(
    postgres_url: str, tmp_path: Path
) -> None:
    report = await run_scenario(postgres_url, tmp_path, sessions=30, per_session=4)
    print(dump(report))
    if os.environ.get("RELIABILITY_REPORT"):
        write_report(report)
    assert report.inbox_rows == report.messages  # redeliveries dropped
    assert report.lost == 0, report.stuck
    assert report.duplicate_replies == 0
    assert report.replies == report.messages  # one reply per message, every one delivered
    assert report.urgent_escalated == report.urgent
    assert report.stuck == {}
