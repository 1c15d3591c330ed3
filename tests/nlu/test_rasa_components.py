"""The Rasa components' own tests (nlu/rasa/tests), run by the Rasa virtualenv's Python.

They import Rasa (Python 3.10), which the bot's interpreter never does, so this suite
starts them in a subprocess and fails with their output if any of them fails.
"""

from __future__ import annotations

import subprocess

import pytest

from nlu.rasa_env import ROOT, rasa_available, rasa_bin, rasa_env, rasa_venv

pytestmark = pytest.mark.rasa


def test_rasa_component_tests_pass() -> None:
    if not rasa_available():
        pytest.skip(f"Rasa virtualenv missing ({rasa_bin()}); run: bash nlu/setup_rasa.sh")
    # The repository's pytest settings name warnings of the bot's packages, which the Rasa
    # venv does not have: run with none of them.
    result = subprocess.run(
        [
            str(rasa_venv() / "bin" / "python"),
            *("-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "filterwarnings="),
            str(ROOT / "nlu" / "rasa" / "tests"),
        ],
        cwd=ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
