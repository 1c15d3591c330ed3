"""Build Rasa training data from content/<lang>/examples.yml.

    python -m nlu.build_data [--content DIR] [--out DIR] [--config PATH]

Writes ``<out>/nlu.yml`` (Rasa 3.1 NLU format) and ``<out>/hash.txt``: the sha256 of the
example files, the pipeline config and the tokenizer source, so a model named
``nlu-<hash>`` is retrained only when one of them changes. Needs only PyYAML.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nlu.rasa_env import COMPONENT_SOURCES, CONFIG, CONTENT_DIR, GENERATED_DIR
from nlu.types import LANGUAGES
from nlu.yamlio import load_yaml


@dataclass(frozen=True, slots=True)
class BuiltData:
    path: Path
    hash: str
    languages: tuple[str, ...]
    examples: int


def example_files(content_dir: Path) -> list[Path]:
    return [
        content_dir / lang / "examples.yml"
        for lang in LANGUAGES
        if (content_dir / lang / "examples.yml").is_file()
    ]


def load_examples(path: Path) -> dict[str, list[str]]:
    """Intent -> examples of one examples.yml (NFC, whitespace collapsed, no blanks)."""
    data = load_yaml(path) or {}
    out: dict[str, list[str]] = {}
    for intent, texts in (data.get("intents") or {}).items():
        cleaned = [clean(t) for t in texts or [] if isinstance(t, str)]
        out[str(intent)] = [t for t in cleaned if t]
    return out


def clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def compute_hash(files: Iterable[Path], config: Path) -> str:
    h = hashlib.sha256()
    for path in [*files, config, *COMPONENT_SOURCES]:
        h.update(path.name.encode() + b"\0")
        if path.parent.name in LANGUAGES:
            h.update(path.parent.name.encode() + b"\0")
        h.update(path.read_bytes() if path.exists() else b"")
        h.update(b"\0")
    return h.hexdigest()


def merge(per_language: Iterable[dict[str, list[str]]]) -> dict[str, list[str]]:
    """Merge intents over languages; a text claimed by two intents is dropped from both."""
    merged: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    conflicts: set[str] = set()
    for intents in per_language:
        for intent, texts in intents.items():
            bucket = merged.setdefault(intent, [])
            for text in texts:
                key = text.casefold()
                if key in owner and owner[key] != intent:
                    conflicts.add(key)
                    continue
                if key not in owner:
                    owner[key] = intent
                    bucket.append(text)
    if conflicts:
        print(
            f"build_data: dropped {len(conflicts)} texts listed under two intents", file=sys.stderr
        )
    return {
        intent: [t for t in texts if t.casefold() not in conflicts]
        for intent, texts in sorted(merged.items())
    }


def to_rasa_yaml(intents: dict[str, list[str]]) -> str:
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in intents.items():
        if not texts:
            continue
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in texts)
    return "\n".join(lines) + "\n"


def build(
    content_dir: Path = CONTENT_DIR,
    out_dir: Path = GENERATED_DIR,
    config: Path = CONFIG,
    files: list[Path] | None = None,
) -> BuiltData:
    files = example_files(content_dir) if files is None else files
    if not files:
        raise SystemExit(f"build_data: no <lang>/examples.yml under {content_dir}")
    intents = merge(load_examples(f) for f in files)
    digest = compute_hash(files, config)
    out_dir.mkdir(parents=True, exist_ok=True)
    nlu_path = out_dir / "nlu.yml"
    nlu_path.write_text(to_rasa_yaml(intents), encoding="utf-8")
    (out_dir / "hash.txt").write_text(digest + "\n", encoding="utf-8")
    return BuiltData(
        path=nlu_path,
        hash=digest,
        languages=tuple(f.parent.name for f in files),
        examples=sum(len(v) for v in intents.values()),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--content", type=Path, default=CONTENT_DIR)
    parser.add_argument("--out", type=Path, default=GENERATED_DIR)
    parser.add_argument("--config", type=Path, default=CONFIG)
    args = parser.parse_args(argv)
    built = build(args.content, args.out, args.config)
    print(
        f"{built.path} {built.hash} languages={','.join(built.languages)} examples={built.examples}"
    )


if __name__ == "__main__":
    main()
