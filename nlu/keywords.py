"""Keyword classifier: the safety net when Rasa is down. Pure Python, no Rasa, fast.

Built from the same content as the model (``content/<lang>/examples.yml`` and, when
present, ``content/<lang>/topics.yml``):

1. Urgent keywords (``urgent_keywords``) first: any match -> that urgent intent. Keywords
   of the message's language are tried first, then those of every other language, so an
   urgent message is caught even when the language guess is wrong. Thai, Lao, Khmer and
   Burmese have no spaces between words, so keywords in those scripts are matched as
   substrings with all whitespace removed; Latin keywords match on word boundaries.
2. Menu words (``menu_words``) -> ``menu``.
3. Otherwise the intent whose examples and topic title share the most distinctive
   character trigrams with the message (IDF-weighted coverage), or ``out_of_scope``.

Confidences: 0.9 for an urgent keyword or a menu word that is (nearly) the whole
message, 0.6 for a menu word inside a longer message, 0.35..0.75 for a trigram match
(higher when the best intent covers more of the message and stands out from the runner-up),
0.3 for out_of_scope. They are kept below what a confident Rasa prediction gives so the
bot can tell a fallback guess from a model answer.
"""

from __future__ import annotations

import math
import re
import unicodedata
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nlu.types import LANGUAGES, Prediction
from nlu.yamlio import load_yaml

URGENT_CONFIDENCE = 0.9
MENU_CONFIDENCE = 0.9
MENU_IN_SENTENCE_CONFIDENCE = 0.6
OUT_OF_SCOPE_CONFIDENCE = 0.3
MIN_COVERAGE = 0.35  # share of the message's trigram weight found in the intent
URGENT_MIN_COVERAGE = 0.35  # no higher bar for urgent: a missed urgent costs more (measured)
MIN_TOPIC_CONFIDENCE = 0.35
NGRAM = 3

_LATIN_WORD = re.compile(r"^[\x00-\u024f]+$")


class _KeepTable(dict):
    """`str.translate` table: a code point maps to itself when it is a letter, a digit or a
    combining mark, else to None (dropped). Filled as characters are first seen, so the
    test runs once per character instead of once per occurrence; at most _KEEP_CACHED
    entries are kept, whatever characters the messages bring."""

    def __missing__(self, code: int) -> int | None:
        ch = chr(code)
        keep = code if ch.isalnum() or unicodedata.category(ch)[0] == "M" else None
        if len(self) < _KEEP_CACHED:
            self[code] = keep
        return keep


_KEEP_CACHED = 8192
_KEEP = _KeepTable()


def _letters(text: str) -> str:
    r"""Letters, digits and combining marks only. Not `re`'s `\W`: combining marks are not
    `\w`, so it would also drop the vowel and tone marks of Thai, Lao, Khmer and Burmese
    and make "ถูกตี" (was beaten) match "ถูกตัด" (was cut)."""
    return text.translate(_KEEP)


def fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _squash(text: str) -> str:
    """Without whitespace and punctuation: how unsegmented scripts are compared."""
    return _letters(text)


def _is_latin(text: str) -> bool:
    return bool(_LATIN_WORD.match(text))


def _grams(text: str, n: int = NGRAM) -> Iterator[str]:
    """The character n-grams of each word, in order (a word shorter than n: itself)."""
    for chunk in fold(text).split():
        chunk = _letters(chunk)
        if not chunk:
            continue
        padded = f" {chunk} " if _is_latin(chunk) else chunk
        if len(padded) <= n:
            yield padded
            continue
        for i in range(len(padded) - n + 1):
            yield padded[i : i + n]


def ngrams(text: str, n: int = NGRAM) -> Counter[str]:
    return Counter(_grams(text, n))


@dataclass(frozen=True, slots=True)
class _Keyword:
    intent: str
    text: str  # folded
    squashed: str  # _squash(text), kept: every free-text message is checked against all
    latin: bool
    pattern: re.Pattern[str] | None = None

    def matches(self, folded: str, squashed: str) -> bool:
        if self.pattern is not None:
            return bool(self.pattern.search(folded))
        return self.squashed in squashed


def _keyword(intent: str, text: str) -> _Keyword | None:
    folded = fold(text)
    squashed = _squash(folded)
    if not squashed:
        return None
    if _is_latin(folded):
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, folded.split())) + r"(?!\w)")
        return _Keyword(intent, folded, squashed, True, pattern)
    return _Keyword(intent, folded, squashed, False)


@dataclass(slots=True)
class KeywordClassifier:
    # language -> keywords, in the order of the content file
    urgent: dict[str, list[_Keyword]] = field(default_factory=dict)
    menu: dict[str, list[_Keyword]] = field(default_factory=dict)
    # The trigram profiles as an inverted index (compact: a profile as a dict of its own
    # trigrams took ~15 MB for 57 intents and 12k examples; this takes ~4 MB):
    # intents that have a profile, in the order of the content files
    intents: tuple[str, ...] = ()
    # trigram -> the indices (into `intents`, ascending) of the intents whose examples
    # have it; a trigram's weight is its IDF, which depends only on how many intents have
    # it: _idf_by_count[len(postings[g])]
    postings: dict[str, bytes | array[int]] = field(default_factory=dict)
    _idf_by_count: tuple[float, ...] = (0.0,)
    urgent_order: list[str] = field(default_factory=list)

    # --- building -------------------------------------------------------------------
    @classmethod
    def from_content(cls, content_dir: str | Path) -> KeywordClassifier:
        content_dir = Path(content_dir)
        urgent_order = _urgent_ids(content_dir)
        clf = cls(urgent_order=list(urgent_order))
        texts: dict[str, list[str]] = defaultdict(list)
        for lang in LANGUAGES:
            examples = _load(content_dir / lang / "examples.yml")
            topics = _load(content_dir / lang / "topics.yml").get("topics") or {}
            for intent, words in (examples.get("urgent_keywords") or {}).items():
                kws = [k for w in words or [] if (k := _keyword(str(intent), str(w)))]
                clf.urgent.setdefault(lang, []).extend(kws)
                if intent not in clf.urgent_order:
                    clf.urgent_order.append(str(intent))
            clf.menu[lang] = [
                k for w in examples.get("menu_words") or [] if (k := _keyword("menu", str(w)))
            ]
            for intent, items in (examples.get("intents") or {}).items():
                texts[str(intent)].extend(str(t) for t in items or [])
            for intent, topic in topics.items():
                if isinstance(topic, dict) and topic.get("title"):
                    texts[str(intent)].append(str(topic["title"]))
        clf._build_profiles(texts)
        return clf

    def _build_profiles(self, texts: dict[str, list[str]]) -> None:
        intents: list[str] = []
        postings: dict[str, array[int]] = {}
        for intent, items in texts.items():
            grams: set[str] = set()
            for t in items:
                grams.update(_grams(t))
            if not grams:
                continue
            index = len(intents)
            intents.append(intent)
            for g in grams:
                posting = postings.get(g)
                if posting is None:
                    postings[g] = posting = array("I")
                posting.append(index)
        n = max(len(intents), 1)
        self.intents = tuple(intents)
        # idf = log((n + 1) / (df + 0.5)), df = the number of intents with the trigram
        self._idf_by_count = tuple(math.log((n + 1) / (d + 0.5)) for d in range(n + 1))
        # bytes (one byte per intent index) while there are at most 256 intents
        small = len(intents) <= 256
        self.postings = {g: bytes(p.tolist()) if small else p for g, p in postings.items()}

    @property
    def idf(self) -> dict[str, float]:
        """trigram -> inverse document frequency (intents as documents); built on demand."""
        return {g: self._idf_by_count[len(p)] for g, p in self.postings.items()}

    @property
    def profiles(self) -> dict[str, dict[str, float]]:
        """intent -> {trigram: weight}, the index turned inside out; built on demand."""
        out: dict[str, dict[str, float]] = {intent: {} for intent in self.intents}
        for g, posting in self.postings.items():
            weight = self._idf_by_count[len(posting)]
            for i in posting:
                out[self.intents[i]][g] = weight
        return out

    # --- classifying ----------------------------------------------------------------
    def _languages(self, language: str) -> list[str]:
        return [language] + [lang for lang in LANGUAGES if lang != language]

    def urgent_match(self, text: str, language: str = "und") -> str | None:
        folded = fold(text)
        squashed = _squash(folded)
        for lang in self._languages(language):
            hits: dict[str, int] = {}
            for kw in self.urgent.get(lang, []):
                if kw.matches(folded, squashed):
                    hits[kw.intent] = max(hits.get(kw.intent, 0), len(kw.squashed))
            if hits:
                order = {intent: i for i, intent in enumerate(self.urgent_order)}
                return max(hits, key=lambda i: (hits[i], -order.get(i, len(order))))
        return None

    def menu_match(self, text: str, language: str = "und") -> float:
        folded = fold(text)
        squashed = _squash(folded)
        if not squashed:
            return 0.0
        for lang in self._languages(language):
            for kw in self.menu.get(lang, []):
                if kw.matches(folded, squashed):
                    whole = len(kw.squashed) * 2 >= len(squashed)
                    return MENU_CONFIDENCE if whole else MENU_IN_SENTENCE_CONFIDENCE
        return 0.0

    def topic_scores(self, text: str) -> list[tuple[str, float]]:
        """(intent, share of the message's trigram weight found in its examples), best first.

        Each intent's hit is the sum of the weights of the message's trigrams it has, in
        the order of the message, so the numbers are exactly those of summing over one
        profile at a time (`sum` over the same numbers in the same order)."""
        unknown = math.log(len(self.intents) + 1)  # a trigram no intent has
        idf_by_count = self._idf_by_count
        postings = self.postings
        weights: list[float] = []
        found: dict[int, list[float]] = {}  # intent index -> weights of its trigrams
        for g in dict.fromkeys(_grams(text)):
            posting = postings.get(g)
            if posting is None:
                weights.append(unknown)
                continue
            weight = idf_by_count[len(posting)]
            weights.append(weight)
            for i in posting:
                if i in found:
                    found[i].append(weight)
                else:
                    found[i] = [weight]
        total = sum(weights)
        if not total:
            return []
        scores = []
        for i in sorted(found):  # the order of the profiles
            hit = sum(found[i])
            if hit:
                scores.append((self.intents[i], hit / total))
        scores.sort(key=lambda x: -x[1])
        return scores

    def predict(self, text: str, language: str = "und") -> Prediction:
        urgent = self.urgent_match(text, language)
        if urgent:
            return Prediction(urgent, URGENT_CONFIDENCE, ((urgent, URGENT_CONFIDENCE),))
        menu = self.menu_match(text, language)
        scores = self.topic_scores(text)
        if menu >= MENU_CONFIDENCE or (menu and (not scores or scores[0][1] < 0.6)):
            return Prediction("menu", menu, (("menu", menu),))
        if scores:
            best, s1 = scores[0]
            s2 = scores[1][1] if len(scores) > 1 else 0.0
            # how clearly the best intent stands out from the runner-up
            sharp = min(1.0, 2.0 * (s1 - s2) / s1)
            conf = 0.2 + 0.55 * min(s1, 1.0) * sharp
            strong_enough = s1 >= (
                URGENT_MIN_COVERAGE
                if best in self.urgent_order or best.startswith("urgent_")
                else MIN_COVERAGE
            )
            if strong_enough and conf >= MIN_TOPIC_CONFIDENCE:
                ranking = (
                    (best, round(conf, 4)),
                    *tuple(
                        (intent, round(min(0.5 * s * sharp, conf), 4)) for intent, s in scores[1:5]
                    ),
                )
                return Prediction(best, round(conf, 4), ranking)
        others = tuple((i, round(0.25 * s, 4)) for i, s in scores[:4])
        ranking = (("out_of_scope", OUT_OF_SCOPE_CONFIDENCE), *others)
        return Prediction("out_of_scope", OUT_OF_SCOPE_CONFIDENCE, ranking)

    async def classify(self, text: str, language: str) -> Prediction:
        return self.predict(text, language)

    async def healthy(self) -> bool:
        return True


def _load(path: Path) -> dict:
    if not path.is_file():
        return {}
    return load_yaml(path) or {}


def _urgent_ids(content_dir: Path) -> list[str]:
    """Urgent intent ids in the order of content/topics.yml (kind: urgent), if present."""
    topics = _load(content_dir / "topics.yml").get("topics") or {}
    return [i for i, t in topics.items() if isinstance(t, dict) and t.get("kind") == "urgent"]
