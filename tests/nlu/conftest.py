"""NLU test fixtures: fixture content and a real Rasa server (trained once, cached by hash).

The server fixture skips only when the Rasa virtualenv (.venv-rasa, or $NLU_RASA_VENV) is
absent; create it with ``bash nlu/setup_rasa.sh``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from nlu.keywords import KeywordClassifier
from nlu.rasa_env import CONFIG, MODELS_DIR, ROOT, rasa_available, rasa_bin, rasa_env

FIXTURE_CONTENT = Path(__file__).parent / "fixtures" / "content"
SERVER_START_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dead_url() -> str:
    """A URL where nothing listens (a port just closed)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def fixture_content() -> Path:
    return FIXTURE_CONTENT


@pytest.fixture(scope="session")
def keyword_classifier() -> KeywordClassifier:
    return KeywordClassifier.from_content(FIXTURE_CONTENT)


@pytest.fixture(scope="session")
def rasa_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not rasa_available():
        pytest.skip(f"Rasa virtualenv missing ({rasa_bin()}); run: bash nlu/setup_rasa.sh")
    from nlu.train import train

    data_dir = tmp_path_factory.mktemp("nlu-data")
    return train(FIXTURE_CONTENT, CONFIG, MODELS_DIR, data_dir=data_dir)


@pytest.fixture(scope="session")
def rasa_url(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from nlu.serve import command

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("rasa") / "rasa.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command(rasa_model, port, "127.0.0.1"),
            cwd=ROOT,
            env=rasa_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as a whole below
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"rasa run exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/status", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"rasa run not ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
