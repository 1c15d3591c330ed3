"""Script-aware word segmentation for en, th, my, km and lo (no Rasa imports).

The text is cut into runs of one script; each run is segmented by its own rules:

- Thai: pythainlp ``newmm`` (dictionary shipped in the wheel),
- Lao: laonlp ``word_tokenize`` (dictionary shipped in the wheel),
- Khmer: khmer-nltk ``word_tokenize`` (CRF model shipped in the wheel),
- Myanmar script (Burmese, also Shan/Mon/Karen letters): syllable breaking with the usual
  regular-expression rules (a break before every consonant that is not stacked under a
  virama and not killed by an asat, and before independent vowels, digits and signs),
- anything else: runs of letters and digits (Latin words, numbers).

Whitespace, punctuation and emoji separate runs and are not tokens. Every token carries its
start offset in the original text, so ``text[start:start + len(word)] == word``.
All segmenters work offline; nothing is downloaded.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache

THAI = "th"
LAO = "lo"
KHMER = "km"
MYANMAR = "my"
OTHER = "other"

_THAI_CHARS = "\u0e00-\u0e7f"
_LAO_CHARS = "\u0e80-\u0eff"
_KHMER_CHARS = "\u1780-\u17ff\u19e0-\u19ff"
_MYANMAR_CHARS = "\u1000-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f"

_RUN = re.compile(
    rf"(?P<th>[{_THAI_CHARS}]+)"
    rf"|(?P<lo>[{_LAO_CHARS}]+)"
    rf"|(?P<km>[{_KHMER_CHARS}]+)"
    rf"|(?P<my>[{_MYANMAR_CHARS}]+)"
    rf"|(?P<other>[^\W_{_THAI_CHARS}{_LAO_CHARS}{_KHMER_CHARS}{_MYANMAR_CHARS}]+)"
)

# Myanmar syllable breaking (after the widely used "sylbreak" rules).
_MY_CONSONANT = (
    "\u1000-\u1021"  # Burmese consonants
    "\u103f"  # great sa
    "\u1050-\u1055"  # Pali/Sanskrit and Mon letters
    "\u105a-\u105d"  # Mon
    "\u1061\u1065\u1066"  # Karen
    "\u106e-\u1070"  # Eastern Pwo Karen
    "\u1075-\u1081"  # Shan
    "\u108e"  # Rumai Palaung
    "\ua9e0-\ua9e4\ua9e7-\ua9ef\ua9fa-\ua9fe"  # Myanmar Extended-B
    "\uaa60-\uaa6f\uaa71-\uaa76\uaa7a\uaa7e\uaa7f"  # Myanmar Extended-A
)
_MY_OTHER = (
    "\u1023-\u102a"  # independent vowels
    "\u103f\u104c-\u104f"  # sections, locative, etc.
    "\u104a\u104b"  # punctuation
)
_MY_DIGITS = "\u1040-\u1049\u1090-\u1099"  # a run of digits stays one token
_VIRAMA = "\u1039"
_ASAT = "\u103a"
_MY_BREAK = re.compile(
    rf"(?<!{_VIRAMA})[{_MY_CONSONANT}](?![{_ASAT}{_VIRAMA}])|[{_MY_OTHER}]"
    rf"|(?<![{_MY_DIGITS}])[{_MY_DIGITS}]|(?<=[{_MY_DIGITS}])[^{_MY_DIGITS}]"
)
_MY_PUNCT = {"\u104a", "\u104b"}

log = logging.getLogger(__name__)


def myanmar_syllables(text: str) -> list[tuple[str, int]]:
    """Break a run of Myanmar script into syllables, with offsets relative to the run."""
    starts = sorted({0, *(m.start() for m in _MY_BREAK.finditer(text))})
    out: list[tuple[str, int]] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        piece = text[start:end]
        if piece and piece not in _MY_PUNCT:
            out.append((piece, start))
    return out


@lru_cache(maxsize=1)
def _thai() -> Callable[[str], list[str]]:
    from pythainlp.tokenize import word_tokenize

    return lambda s: word_tokenize(s, engine="newmm", keep_whitespace=False)


@lru_cache(maxsize=1)
def _lao() -> Callable[[str], list[str]]:
    from laonlp.tokenize import word_tokenize

    return word_tokenize


@lru_cache(maxsize=1)
def _khmer() -> Callable[[str], list[str]]:
    # khmer-nltk logs "Loaded model" at INFO on import; keep the server log quiet.
    logging.getLogger("khmer-nltk").setLevel(logging.WARNING)
    from khmernltk import word_tokenize

    return word_tokenize


def _align(words: list[str], run: str) -> list[tuple[str, int]]:
    """Find each word of a segmenter's output in the run, in order."""
    out: list[tuple[str, int]] = []
    pos = 0
    for word in words:
        word = word.strip()
        if not word:
            continue
        idx = run.find(word, pos)
        if idx < 0:  # a segmenter that changed the text: keep what can be placed
            log.debug("segment: %r not found in %r", word, run)
            continue
        out.append((word, idx))
        pos = idx + len(word)
    return out


def _segment_run(kind: str, run: str) -> list[tuple[str, int]]:
    if kind == MYANMAR:
        return myanmar_syllables(run)
    if kind == OTHER:
        return [(run, 0)]
    seg = {THAI: _thai, LAO: _lao, KHMER: _khmer}[kind]()
    words = _align(seg(run), run)
    return words or [(run, 0)]


def script_runs(text: str) -> list[tuple[str, str, int]]:
    """(script, run, start) for each run of one script in the text."""
    return [(m.lastgroup or OTHER, m.group(), m.start()) for m in _RUN.finditer(text)]


def segment(text: str) -> list[tuple[str, int]]:
    """Words (or Burmese syllables) of the text with their start offsets."""
    tokens: list[tuple[str, int]] = []
    for kind, run, start in script_runs(text):
        tokens.extend((w, start + off) for w, off in _segment_run(kind, run))
    return tokens


def words(text: str) -> list[str]:
    return [w for w, _ in segment(text)]


# One phrase per script whose segmenter loads a dictionary or a model on first use.
WARM_UP_TEXTS = ("ค่าแรงขั้นต่ำ", "ຄ່າແຮງຂັ້ນຕ່ຳ", "ប្រាក់ឈ្នួល")


def warm_up() -> None:
    """Load every segmenter now rather than on the first message of its script.

    Loading Thai's dictionary took over 3 s on the first Thai message after a start, more
    than the bot's NLU timeout, so that message fell back to keywords.
    """
    for text in WARM_UP_TEXTS:
        segment(text)
