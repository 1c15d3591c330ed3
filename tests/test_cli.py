"""The `bot` command as an operator runs it: classify, migrate, refusing a stale schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.config import ROOT
from tests.support import dead_nlu_url, process_environment


def run_bot(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
    )


def test_run_refuses_an_unmigrated_database_and_names_the_command(tmp_path: Path) -> None:
    env = process_environment(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    result = run_bot(["worker"], env)
    assert result.returncode == 2
    assert "bot migrate" in result.stderr
    migrated = run_bot(["migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stdout


def test_missing_secret_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = process_environment(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", PSEUDONYM_KEY="")
    result = run_bot(["worker"], env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "PSEUDONYM_KEY" in result.stderr


def test_classify_reads_and_writes_json_lines(tmp_path: Path) -> None:
    env = process_environment(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", NLU_URL=dead_nlu_url())
    lines = [
        {"text": "  my boss did not pay my salary  "},
        {"text": "ผมถูกนายจ้างขังไว้ ออกไปไหนไม่ได้"},
        {"text": "😀😀"},
        "not json",
    ]
    stdin = "\n".join(json.dumps(x) if isinstance(x, dict) else x for x in lines) + "\n"
    result = run_bot(["classify"], env, stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 4
    first, thai, emoji, broken = out
    assert set(first) == {"text", "normalized", "language", "intent", "confidence", "urgent"}
    assert first["normalized"] == "my boss did not pay my salary"
    assert first["language"] == "en"
    assert thai["language"] == "th"
    assert thai["urgent"] is True and thai["intent"].startswith("urgent_")
    assert emoji["intent"] == "menu" and emoji["urgent"] is False
    assert "error" in broken
