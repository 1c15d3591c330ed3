"""A real `rasa run` for the fault scenario, on the model of content/: started,
SIGKILLed mid-traffic and started again on the same port (the bot's NLU_URL)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

from nlu.rasa_env import rasa_available, rasa_bin
from nlu.serve import free_port, start_server, stop_server, wait_ready
from tests.support import content_nlu_model

# Loading TensorFlow and the model takes 25-30 s on an idle core, longer while the bot's
# processes and the traffic share the machine.
READY_WITHIN = 180.0


def content_model(data_dir: Path) -> tuple[Path | None, str]:
    """(the cached or newly trained model of content/, "") or (None, why there is none)."""
    if not rasa_available():
        return None, f"Rasa virtualenv missing ({rasa_bin()}); run: bash nlu/setup_rasa.sh"
    try:
        return content_nlu_model(data_dir), ""
    except SystemExit as exc:  # nlu.train says why it could not train
        return None, f"no trained NLU model: {exc}"


class RasaServer:
    def __init__(self, model: Path, folder: Path) -> None:
        self.model = model
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with open(self.folder / f"rasa{self.starts}.log", "wb") as log:
            self.process = start_server(self.model, self.port, log)

    async def ready(self) -> float:
        """Wait until it answers /status; the seconds it took."""
        assert self.process is not None
        try:
            return await asyncio.to_thread(wait_ready, self.url, self.process, READY_WITHIN)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{self.log_tail()}") from exc

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean shutdown, as in a crash or OOM kill."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop_server(self.process)

    def log_tail(self, chars: int = 2000) -> str:
        log = self.folder / f"rasa{self.starts}.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""
