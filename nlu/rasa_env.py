"""Where the Rasa virtualenv and the NLU files are, and the environment Rasa runs in.

The bot never imports Rasa: it runs ``.venv-rasa/bin/rasa`` as a subprocess with the
repository root on PYTHONPATH, so the pipeline can name the tokenizer as
``nlu.rasa.components.multiscript_tokenizer.MultiScriptTokenizer``.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NLU_DIR = ROOT / "nlu"
CONFIG = NLU_DIR / "rasa" / "config.yml"
COMPONENT_SOURCES = (
    NLU_DIR / "rasa" / "components" / "multiscript_tokenizer.py",
    NLU_DIR / "rasa" / "components" / "segment.py",
    NLU_DIR / "rasa" / "components" / "linear_classifier.py",
    NLU_DIR / "requirements-rasa.txt",
)
GENERATED_DIR = NLU_DIR / "data" / "generated"
MODELS_DIR = NLU_DIR / "models"
CONTENT_DIR = ROOT / "content"


def rasa_venv() -> Path:
    """The Rasa virtualenv: $NLU_RASA_VENV or .venv-rasa at the repository root."""
    return Path(os.environ.get("NLU_RASA_VENV") or ROOT / ".venv-rasa")


def rasa_bin() -> Path:
    return rasa_venv() / "bin" / "rasa"


def rasa_available() -> bool:
    return rasa_bin().exists()


def rasa_env() -> dict[str, str]:
    """Environment for a rasa subprocess: repo root importable, no telemetry, quiet TF."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + path if path else "")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_CACHE_DIRECTORY", str(MODELS_DIR / ".rasa-cache"))
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    # The bot's own venv must not leak into Rasa's interpreter.
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONHOME", None)
    return env
