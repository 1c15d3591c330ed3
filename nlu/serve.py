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
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import IO

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    model: Path, port: int, log: IO[bytes], host: str = "127.0.0.1"
) -> subprocess.Popen[bytes]:
    """Start ``rasa run`` in its own process group (stop it with stop_server)."""
    return subprocess.Popen(
        command(model, port, host),
        cwd=ROOT,
        env=rasa_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 180.0) -> float:
    """Wait until GET /status answers; return the seconds it took. Raises if rasa dies."""
    start = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"rasa run exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/status", timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"rasa run not ready after {timeout:.0f} s")
        time.sleep(0.5)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


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
