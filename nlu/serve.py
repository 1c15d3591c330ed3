"""Serve the NLU model: ``rasa run --enable-api`` (the Procfile ``nlu`` process).

    python -m nlu.serve [--model PATH] [--port 5005] [--host 127.0.0.1] [--content DIR]

Without ``--model`` it uses (training first if missing) the model for the current
content, config and tokenizer (see nlu.train). The process is replaced by Rasa (exec), so
signals from the process manager reach Rasa directly. Host and port default to
$NLU_HOST / $NLU_PORT, else 127.0.0.1:5005.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from nlu.rasa_env import CONFIG, CONTENT_DIR, MODELS_DIR, ROOT, rasa_bin, rasa_env


def command(model: Path, port: int, host: str) -> list[str]:
    return [
        str(rasa_bin()),
        "run",
        "--enable-api",
        "--port",
        str(port),
        "--interface",
        host,
        "-m",
        str(model),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--content", type=Path, default=CONTENT_DIR)
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--port", type=int, default=int(os.environ.get("NLU_PORT", "5005")))
    parser.add_argument("--host", default=os.environ.get("NLU_HOST", "127.0.0.1"))
    args = parser.parse_args(argv)
    model = args.model
    if model is None:
        from nlu.train import train

        model = train(args.content.resolve(), args.config.resolve(), MODELS_DIR)
    cmd = command(model.resolve(), args.port, args.host)
    os.chdir(ROOT)
    os.execve(cmd[0], cmd, rasa_env())


if __name__ == "__main__":
    main()
