"""Each entry point imports on its own, in a fresh interpreter: an import cycle shows up
only when the cycle's first module is imported first, so the suite's own import order
would hide it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import ROOT

ENTRY_POINTS = [
    "bot.cli",
    "bot.web",
    "bot.worker",
    "bot.pipeline",
    "bot.broadcasts",
    "bot.console",
    "bot.reports",
    "handlers",
]


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_module_imports_on_its_own(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
