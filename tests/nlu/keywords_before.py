"""The keyword classifier as it was before its trigram profiles were made compact (one
dict of trigrams per intent), kept as the reference that tests/nlu/test_nlu_keywords_same.py
compares nlu/keywords.py with: same predictions, rankings and confidences on every example.
Do not change it when the classifier changes on purpose; change or drop that test instead.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
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


def _letters(text: str) -> str:
    r"""Letters, digits and combining marks only. Not `re`'s `\W`: combining marks are not
    `\w`, so it would also drop the vowel and tone marks of Thai, Lao, Khmer and Burmese
    and make "ถูกตี" (was beaten) match "ถูกตัด" (was cut)."""
    return "".join(ch for ch in text if ch.isalnum() or unicodedata.category(ch)[0] == "M")


def fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _squash(text: str) -> str:
    """Without whitespace and punctuation: how unsegmented scripts are compared."""
    return _letters(text)


def _is_latin(text: str) -> bool:
    return bool(_LATIN_WORD.match(text))


def ngrams(text: str, n: int = NGRAM) -> Counter[str]:
    grams: Counter[str] = Counter()
    for chunk in fold(text).split():
        chunk = _letters(chunk)
        if not chunk:
            continue
        padded = f" {chunk} " if _is_latin(chunk) else chunk
        if len(padded) <= n:
            grams[padded] += 1
            continue
        for i in range(len(padded) - n + 1):
            grams[padded[i : i + n]] += 1
    return grams


@dataclass(frozen=True, slots=True)
class _Keyword:
    intent: str
    text: str  # folded
    latin: bool
    pattern: re.Pattern[str] | None = None

    def matches(self, folded: str, squashed: str) -> bool:
        if self.pattern is not None:
            return bool(self.pattern.search(folded))
        return _squash(self.text) in squashed


def _keyword(intent: str, text: str) -> _Keyword | None:
    folded = fold(text)
    if not _squash(folded):
        return None
    if _is_latin(folded):
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, folded.split())) + r"(?!\w)")
        return _Keyword(intent, folded, True, pattern)
    return _Keyword(intent, folded, False)


@dataclass(slots=True)
class KeywordClassifier:
    # language -> keywords, in the order of the content file
    urgent: dict[str, list[_Keyword]] = field(default_factory=dict)
    menu: dict[str, list[_Keyword]] = field(default_factory=dict)
    # intent -> trigram weights (tf * idf, normalised)
    profiles: dict[str, dict[str, float]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)
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
        counts: dict[str, Counter[str]] = {}
        for intent, items in texts.items():
            grams: Counter[str] = Counter()
            for t in items:
                grams.update(ngrams(t))
            if grams:
                counts[intent] = grams
        df: Counter[str] = Counter()
        for grams in counts.values():
            df.update(grams.keys())
        n = max(len(counts), 1)
        self.idf = {g: math.log((n + 1) / (d + 0.5)) for g, d in df.items()}
        self.profiles = {}
        for intent, grams in counts.items():
            self.profiles[intent] = {g: self.idf[g] for g in grams}

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
                    hits[kw.intent] = max(hits.get(kw.intent, 0), len(_squash(kw.text)))
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
                    whole = len(_squash(kw.text)) * 2 >= len(squashed)
                    return MENU_CONFIDENCE if whole else MENU_IN_SENTENCE_CONFIDENCE
        return 0.0

    def topic_scores(self, text: str) -> list[tuple[str, float]]:
        grams = ngrams(text)
        total = sum(self.idf.get(g, math.log(len(self.profiles) + 1)) for g in grams)
        if not total:
            return []
        scores = []
        for intent, profile in self.profiles.items():
            hit = sum(profile[g] for g in grams if g in profile)
            if hit:
                scores.append((intent, hit / total))
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
