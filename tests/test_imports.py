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


# What `bot run` and `bot worker` import must leave out what only some paths use:
# alembic (with Mako and Pygments' lexers) is for `bot migrate`, asyncpg and SQLAlchemy's
# PostgreSQL dialect only for a PostgreSQL database, rich (and Pygments) only for
# structlog's console renderer (bot.logs). Each is several MB of every process.
NOT_AT_START = ("alembic", "mako", "asyncpg", "sqlalchemy.dialects.postgresql", "rich", "pygments")


@pytest.mark.parametrize("modules", ["bot.cli, bot.web", "bot.cli, bot.worker"])
def test_start_up_leaves_out_what_only_some_paths_use(modules: str) -> None:
    code = (
        f"import sys, {modules}\n"
        f"print(sorted(m for m in sys.modules if m.startswith({NOT_AT_START!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
