"""Coverage-guided fuzzing of normalisation, language detection and the channel parsers.

    python tests/fuzz/atheris_parsers.py -runs=200000 [-max_len=4096] [corpus_dir]

Any exception other than a 400 from a parser is a crash: atheris stops and writes the
input to crash-<sha1> (docs/fuzzing.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with atheris.instrument_imports():
    from nlu.language import detect_language
    from nlu.normalize import normalize
    from nlu.types import LANGUAGES
    from tests.fuzz.targets import channels, parse_or_reject

# FUZZ_SKIP_CHANNELS=messenger leaves out a channel with a known, pinned bug.
SKIP = set(os.environ.get("FUZZ_SKIP_CHANNELS", "").split(","))
CHANNELS = sorted((n, c) for n, c in channels().items() if n not in SKIP)
STORED = [None, *LANGUAGES]


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    target = fdp.ConsumeIntInRange(0, 1 + len(CHANNELS))
    if target == 0:
        limit = fdp.ConsumeIntInRange(1, 600)
        text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
        once = normalize(text, limit)
        if len(once.text) > limit:
            raise AssertionError("normalize output is not bounded")
        # A truncated text may read as another encoding than the whole (docs/fuzzing.md).
        if not once.truncated and normalize(once.text, limit).text != once.text:
            raise AssertionError("normalize is not idempotent")
    elif target == 1:
        stored = STORED[fdp.ConsumeIntInRange(0, len(STORED) - 1)]
        guess = detect_language(fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes()), stored)
        if guess.language not in (*LANGUAGES, "und"):
            raise AssertionError(f"unknown language {guess.language!r}")
    else:
        _, channel = CHANNELS[target - 2]
        parse_or_reject(channel, fdp.ConsumeBytes(fdp.remaining_bytes()))


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
