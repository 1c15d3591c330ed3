"""The peer: the same messages through Rasa's own stack (`rasa run`, REST channel).

    python -m bench.peer build DIR     # domain.yml, rules.yml, config.yml, nlu.yml in DIR
    python -m bench.peer train DIR     # ... then `rasa train` into DIR/models

The project answers every intent with one `utter_<intent>` response through a rule, using
the same NLU pipeline (nlu/rasa/config.yml) and the same generated training data
(nlu/data/generated/nlu.yml) as the bot's model, plus a RulePolicy: the least Rasa needs
to reply, so the comparison is NLU + Rasa's dialogue stack versus NLU + the bot.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

from nlu.build_data import build
from nlu.rasa_env import CONFIG, CONTENT_DIR, ROOT, rasa_bin, rasa_env


def intents_of(nlu_file: Path) -> list[str]:
    data = yaml.safe_load(nlu_file.read_text(encoding="utf-8"))
    return sorted({item["intent"] for item in data["nlu"] if "intent" in item})


def write_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    # The same generator (and so the same examples) as nlu/data/generated/nlu.yml.
    nlu_file = build(CONTENT_DIR, folder, CONFIG).path
    intents = intents_of(nlu_file)
    domain = {
        "version": "3.1",
        "intents": intents,
        "responses": {f"utter_{i}": [{"text": f"Answer about {i}."}] for i in intents},
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
    }
    (folder / "domain.yml").write_text(yaml.safe_dump(domain, sort_keys=False), encoding="utf-8")
    rules = {
        "version": "3.1",
        "rules": [
            {"rule": f"answer {i}", "steps": [{"intent": i}, {"action": f"utter_{i}"}]}
            for i in intents
        ],
    }
    (folder / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["policies"] = [{"name": "RulePolicy"}]
    (folder / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return folder


def train(folder: Path) -> Path:
    write_project(folder)
    cmd = [
        str(rasa_bin()),
        "train",
        "--config",
        str(folder / "config.yml"),
        "--domain",
        str(folder / "domain.yml"),
        "--data",
        str(folder / "nlu.yml"),
        str(folder / "rules.yml"),
        "--out",
        str(folder / "models"),
        "--fixed-model-name",
        "peer",
    ]
    subprocess.run(cmd, cwd=ROOT, env=rasa_env(), check=True, stdout=sys.stderr)
    return folder / "models" / "peer.tar.gz"


def serve_command(model: Path, port: int) -> list[str]:
    """`rasa run` with the REST channel (webhooks/rest/webhook), in-memory tracker store."""
    return [
        str(rasa_bin()),
        "run",
        "--port",
        str(port),
        "--interface",
        "127.0.0.1",
        "-m",
        str(model),
        "--connector",
        "rest",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["build", "train"])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.action == "build":
        print(write_project(args.folder.resolve()))
    else:
        print(train(args.folder.resolve()))


if __name__ == "__main__":
    main()
