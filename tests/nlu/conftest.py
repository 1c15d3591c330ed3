"""NLU test fixtures: fixture content, and a real Rasa server serving the model of the real
content (the one `make model` trains, cached by data hash, so the suite trains nothing more).

The server fixture skips only when the Rasa virtualenv (.venv-rasa, or $NLU_RASA_VENV) is
absent; create it with ``bash nlu/setup_rasa.sh``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nlu.keywords import KeywordClassifier
from nlu.rasa_env import rasa_available, rasa_bin
from nlu.serve import free_port, start_server, stop_server, wait_ready
from tests.support import FIXTURE_NLU_CONTENT, content_nlu_model

FIXTURE_CONTENT = FIXTURE_NLU_CONTENT
SERVER_START_TIMEOUT = 180.0


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
    return content_nlu_model(tmp_path_factory.mktemp("nlu-data"))


@pytest.fixture(scope="session")
def rasa_url(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``rasa run --enable-api`` on a free port, serving the content's model."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("rasa") / "rasa.log"
    with open(log_path, "wb") as log:
        proc = start_server(rasa_model, port, log)
    try:
        try:
            wait_ready(url, proc, SERVER_START_TIMEOUT)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{log_path.read_text()[-3000:]}") from exc
        yield url
    finally:
        stop_server(proc)
