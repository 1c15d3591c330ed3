"""Language detection: script first, then langdetect for Latin text, then the stored choice.

Rules, in order:

1. Thai, Lao, Khmer or Myanmar letters: the script with the most letters decides (th, lo,
   km, my); Latin words mixed in do not count against it. A tie between scripts goes to
   the stored language when it is one of the tied ones.
2. Myanmar script with letters used only by Shan, Mon or Karen (and not Zawgyi-encoded
   Burmese, which reuses those code points) -> ``my`` with ``other_myanmar_language``:
   the bot answers in Burmese and offers another language.
3. Latin text. English is the only language we serve in Latin script, so:
   - long enough (>= 2 words, >= 12 letters) and English: langdetect says so, or at
     least a quarter of the words (and two or more) are common English function words
     (langdetect alone misreads short sentences, "my boss did not pay my salary" -> tl)
     -> ``en`` (a user who writes a real English sentence gets English even if another
     language is stored);
   - otherwise (short, or langdetect says another language, e.g. romanised Burmese or
     Thai "karaoke" spelling) -> the stored language if there is one, else ``en``.
4. No letters at all (digits, emoji, punctuation) -> the stored language, else ``und``.
"""

from __future__ import annotations

import json
import threading
from array import array
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from nlu.types import LANGUAGES, LanguageGuess
from nlu.zawgyi import zawgyi_probability

if TYPE_CHECKING:
    from langdetect.detector_factory import DetectorFactory

_SCRIPTS: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("th", ((0x0E00, 0x0E7F),)),
    ("lo", ((0x0E80, 0x0EFF),)),
    ("km", ((0x1780, 0x17FF), (0x19E0, 0x19FF))),
    ("my", ((0x1000, 0x109F), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F))),
)

# Letters and signs of the Myanmar block that Burmese does not use (Unicode 15 names).
_OTHER_MYANMAR: tuple[tuple[int, int], ...] = (
    (0x1022, 0x1022),  # SHAN LETTER A
    (0x1028, 0x1028),  # MON E
    (0x1033, 0x1035),  # MON II, MON O, E ABOVE (Mon)
    (0x105A, 0x1060),  # MON NGA..MON MEDIAL LA
    (0x1061, 0x1064),  # SGAW KAREN SHA, EU, HATHI, KE PHO
    (0x1065, 0x106D),  # WESTERN PWO KAREN letters and tones
    (0x106E, 0x1070),  # EASTERN PWO KAREN NNA..GHWA
    (0x1071, 0x1074),  # GEBA KAREN I, KAYAH OE/U/EE
    (0x1075, 0x108D),  # SHAN letters, medial wa, vowels, tones
    (0x108F, 0x108F),  # RUMAI PALAUNG TONE-5
    (0x109A, 0x109D),  # KHAMTI TONE-1/3, AITON A/AI
    (0xA9E0, 0xA9FF),  # Myanmar Extended-B (Shan Pali, Tai Laing)
    (0xAA60, 0xAA7F),  # Myanmar Extended-A (Khamti Shan, Aiton, Phake, Pa'O)
)

MIN_LATIN_WORDS = 2
MIN_LATIN_LETTERS = 12
_LANGDETECT_EN_MIN_PROB = 0.7

_lock = threading.Lock()

_EN_WORDS_TEXT = """a about after am an and any are at be been but can can't cannot did
    didn't do does
    don't for from get got had has have he her him his how i i'm if in is it it's me my
    no not of on or our please she so that the their them there they this to us was we
    were what when where which who why will with won't would you your"""
_EN_WORDS = frozenset(_EN_WORDS_TEXT.split())


def _in(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


# langdetect's profiles of the languages written in Latin script (31 of its 55). Only text
# without Thai, Lao, Khmer or Myanmar letters reaches langdetect (rule 3), and the n-grams
# of other scripts never occur in it. On the 1,428 Latin texts of nlu/eval, content/ and
# the training data that reach langdetect, the decision is the same as with all 55.
# fmt: off
LATIN_PROFILES = (
    "af", "ca", "cs", "cy", "da", "de", "en", "es", "et", "fi", "fr", "hr", "hu", "id", "it", "lt",
    "lv", "nl", "no", "pl", "pt", "ro", "sk", "sl", "so", "sq", "sv", "sw", "tl", "tr", "vi",
)
# fmt: on


# An n-gram's row in the model: a dense array of its probabilities in the LATIN_PROFILES
# languages when it has at least _DENSE of them, else (offset of its first non-zero entry in
# the flat arrays) * _ROW + (their count).
_ROW = 64
_DENSE = 8
assert len(LATIN_PROFILES) < _ROW


@lru_cache(maxsize=1)
def _detector_factory() -> DetectorFactory:
    """langdetect's model of LATIN_PROFILES, compact: mostly only the non-zero probabilities.

    langdetect's own loader reads all 55 profiles into a list of Python floats per n-gram
    (about 80 MB). Of the 24,327 n-grams of the 31 Latin profiles, 85 % have a probability
    in fewer than 8 languages (14,031 in one only): those keep only their non-zero entries,
    in two flat arrays (language, probability); the 3,727 others, the common n-grams that
    most updates draw, keep a dense array of doubles. 4.7 MB of Python objects against
    10.8 MB with a dense array for every n-gram (6-7 MB of RSS against 10.2). The detector
    multiplies by exactly the same numbers (see _sparse_detector_class), so its
    probabilities are bit for bit those of langdetect's own model of the same profiles.
    """
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    class SparseFactory(DetectorFactory):
        def _create_detector(self):  # type: ignore[no-untyped-def]
            return _sparse_detector_class()(self)

    factory = SparseFactory()
    factory.set_seed(0)  # deterministic
    width = len(LATIN_PROFILES)
    ids: dict[str, int] = {}  # n-gram -> its number, in order of first appearance
    entry_ids, entry_langs, entry_probs = array("I"), array("B"), array("d")
    for index, lang in enumerate(LATIN_PROFILES):
        # what DetectorFactory.add_profile does, one profile file at a time
        profile = json.loads((Path(PROFILES_DIRECTORY) / lang).read_text(encoding="utf-8"))
        factory.langlist.append(lang)
        n_words = profile["n_words"]
        for word, count in profile["freq"].items():
            number = ids.setdefault(word, len(ids))
            if 1 <= len(word) <= 3:
                prob = 1.0 * count / n_words[len(word) - 1]
                if prob:  # a zero adds nothing: weight + 0.0 == weight
                    entry_ids.append(number)
                    entry_langs.append(index)
                    entry_probs.append(prob)
    counts = array("I", bytes(4 * len(ids)))
    for number in entry_ids:
        counts[number] += 1
    # Sparse rows contiguous in the flat arrays (a counting sort), dense rows apart.
    starts = array("I", bytes(4 * len(ids)))
    offset = 0
    for number, count in enumerate(counts):
        if count < _DENSE:
            starts[number] = offset
            offset += count
    langs, probs = array("B", bytes(offset)), array("d", bytes(8 * offset))
    dense: dict[int, array[float]] = {}
    fill = array("I", starts)
    for number, lang_index, prob in zip(entry_ids, entry_langs, entry_probs, strict=True):
        if counts[number] >= _DENSE:
            row = dense.get(number)
            if row is None:
                row = dense[number] = array("d", bytes(8 * width))
            row[lang_index] = prob
            continue
        at = fill[number]
        langs[at], probs[at] = lang_index, prob
        fill[number] = at + 1
    factory.word_lang_prob_map = {
        word: dense[number] if number in dense else starts[number] * _ROW + counts[number]
        for word, number in ids.items()
    }
    factory.sparse_langs, factory.sparse_probs = langs, probs  # type: ignore[attr-defined]
    return factory


@lru_cache(maxsize=1)
def _sparse_detector_class() -> type:
    from langdetect.detector import Detector

    class SparseDetector(Detector):
        """langdetect's Detector on the compact model of _detector_factory."""

        def __init__(self, factory: DetectorFactory) -> None:
            super().__init__(factory)
            self.sparse_langs = factory.sparse_langs  # type: ignore[attr-defined]
            self.sparse_probs = factory.sparse_probs  # type: ignore[attr-defined]

        def _update_lang_prob(self, prob: list[float], word: str | None, alpha: float) -> bool:
            """Detector._update_lang_prob: prob[i] *= weight + p[i] for every language i,
            where p[i] is the n-gram's probability in it (0.0 where a sparse row has none,
            and weight + 0.0 == weight)."""
            row = self.word_lang_prob_map.get(word) if word is not None else None
            if row is None:
                return False
            weight = alpha / self.BASE_FREQ
            if type(row) is int:  # sparse: the languages in order, then their numbers
                langs, probs = self.sparse_langs, self.sparse_probs
                at, end = row // _ROW, row // _ROW + row % _ROW
                nonzero = langs[at] if at < end else -1
                for i in range(len(prob)):
                    if i == nonzero:
                        prob[i] *= weight + probs[at]
                        at += 1
                        nonzero = langs[at] if at < end else -1
                    else:
                        prob[i] *= weight
            else:
                for i in range(len(prob)):
                    prob[i] *= weight + row[i]
            return True

    return SparseDetector


def latin_is_english(text: str) -> bool:
    """Whether the (long enough) Latin text is English."""
    words = [w.strip('.,!?;:"()').lower() for w in text.split()]
    common = sum(w in _EN_WORDS for w in words)
    if common >= 2 and common * 4 >= len(words):
        return True
    from langdetect.lang_detect_exception import LangDetectException

    try:
        with _lock:  # the factory is built once, by whichever thread comes first
            detector = _detector_factory().create()
        detector.append(text)
        langs = detector.get_probabilities()
    except LangDetectException:
        return False
    return any(lang.lang == "en" and lang.prob >= _LANGDETECT_EN_MIN_PROB for lang in langs)


def _known(stored: str | None) -> str | None:
    return stored if stored in LANGUAGES else None


def detect_language(text: str, stored: str | None = None) -> LanguageGuess:
    stored = _known(stored)
    counts = dict.fromkeys(("th", "lo", "km", "my"), 0)
    other_myanmar = 0
    latin = 0
    for ch in text:
        code = ord(ch)
        if code < 0x250 and ch.isalpha():  # Basic Latin .. Latin Extended-B
            latin += 1
            continue
        for lang, ranges in _SCRIPTS:
            if _in(code, ranges):
                counts[lang] += 1
                if lang == "my" and _in(code, _OTHER_MYANMAR):
                    other_myanmar += 1
                break

    best = max(counts.values())
    if best:
        tied = [lang for lang, n in counts.items() if n == best]
        lang = stored if stored in tied else tied[0]
        if lang == "my" and other_myanmar and zawgyi_probability(text) < 0.5:
            return LanguageGuess("my", other_myanmar_language=True)
        return LanguageGuess(lang)

    if latin:
        words = [w for w in text.split() if any(c.isalpha() for c in w)]
        if len(words) >= MIN_LATIN_WORDS and latin >= MIN_LATIN_LETTERS and latin_is_english(text):
            return LanguageGuess("en")
        return LanguageGuess(stored or "en")

    return LanguageGuess(stored or "und")
