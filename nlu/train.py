"""Train the Rasa NLU model when the training data, config or tokenizer changed.

    python -m nlu.train [--content DIR] [--config PATH] [--models DIR]

Builds the data (nlu.build_data), then runs
``.venv-rasa/bin/rasa train nlu ... --fixed-model-name nlu-<hash>`` only when
``<models>/nlu-<hash>.tar.gz`` is missing. Prints the model path.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from nlu.build_data import build
from nlu.rasa_env import CONFIG, CONTENT_DIR, GENERATED_DIR, MODELS_DIR, ROOT, rasa_bin, rasa_env


def model_path(models_dir: Path, digest: str) -> Path:
    return models_dir / f"nlu-{digest}.tar.gz"


def train(
    content_dir: Path = CONTENT_DIR,
    config: Path = CONFIG,
    models_dir: Path = MODELS_DIR,
    *,
    force: bool = False,
    data_dir: Path | None = None,
) -> Path:
    """Return the model for this content and config, training it if it is missing.

    ``data_dir`` is where the generated nlu.yml goes (default nlu/data/generated).
    """
    built = build(content_dir, data_dir or GENERATED_DIR, config)
    target = model_path(models_dir, built.hash)
    if target.exists() and not force:
        return target
    if not rasa_bin().exists():
        raise SystemExit(f"train: {rasa_bin()} missing; run nlu/setup_rasa.sh")
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp_name = f"tmp-{os.getpid()}-nlu-{built.hash}"
    cmd = [
        str(rasa_bin()),
        "train",
        "nlu",
        "--config",
        str(config),
        "--nlu",
        str(built.path),
        "--out",
        str(models_dir),
        "--fixed-model-name",
        tmp_name,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=rasa_env(), stdout=sys.stderr, check=False)
    produced = models_dir / f"{tmp_name}.tar.gz"
    if proc.returncode != 0 or not produced.exists():
        raise SystemExit(f"train: rasa train nlu failed (exit {proc.returncode})")
    os.replace(produced, target)  # atomic: a half-written model is never picked up
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--content", type=Path, default=CONTENT_DIR)
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    parser.add_argument("--data", type=Path, default=GENERATED_DIR)
    parser.add_argument("--force", action="store_true", help="train even if the model exists")
    args = parser.parse_args(argv)
    print(
        train(
            args.content.resolve(),
            args.config.resolve(),
            args.models.resolve(),
            force=args.force,
            data_dir=args.data.resolve(),
        )
    )


if __name__ == "__main__":
    main()
