"""A bounded run of the coverage-guided harness (a longer one: docs/fuzzing.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ROOT

pytest.importorskip("atheris", reason="atheris is not installed (add it to the dev extras)")
HARNESS = Path(__file__).with_name("atheris_parsers.py")


def test_harness_runs_clean_for_a_bounded_number_of_inputs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(HARNESS), "-runs=3000", "-max_len=2048", "-seed=1"],
        cwd=tmp_path,  # crash files, if any, land here
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "FUZZ_SKIP_CHANNELS": "messenger"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done 3000 runs" in result.stderr
