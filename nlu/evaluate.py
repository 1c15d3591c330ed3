"""Evaluate NLU pipelines per language and write docs/nlu-report.md.

    python -m nlu.evaluate [--content DIR] [--eval-dir DIR] [--config PATH ...]
                           [--kfold K] [--out docs/nlu-report.md]

For each pipeline config (default: nlu/rasa/config.yml and every
nlu/rasa/alternatives/*.yml) it trains one multilingual model on the content examples
(as deployed), measuring training time and peak memory of the ``rasa train`` process,
serves it with ``rasa run --enable-api``, and sends every held-out example of
``<eval-dir>/<lang>.yml`` through normalize -> RasaClient. Per language: top-1 accuracy,
macro-F1, urgent recall (an urgent example predicted as any urgent intent), exact urgent
recall, false-urgent rate (a non-urgent example predicted urgent), top confusions; and
inference latency p50/p99 over all requests. The keyword fallback is scored on the same
sets. ``--kfold K`` adds a K-fold cross-validation of the first config on the content
examples themselves.

Held-out file format (same shape as examples.yml): ``intents: {intent_id: [text, ...]}``;
a list ``examples: [{text: ..., intent: ...}]`` is accepted too.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.urgency import urgent_intent
from nlu.build_data import build, clean, example_files, load_examples, merge, to_rasa_yaml
from nlu.client import RasaClient
from nlu.keywords import KeywordClassifier
from nlu.normalize import normalize
from nlu.rasa_env import CONFIG, CONTENT_DIR, NLU_DIR, ROOT, rasa_bin, rasa_env
from nlu.serve import free_port, start_server, stop_server, wait_ready
from nlu.types import LANGUAGES, Prediction

EVAL_DIR = NLU_DIR / "eval"
REPORT = ROOT / "docs" / "nlu-report.md"
NOTES = NLU_DIR / "report-notes.md"  # hand-written; appended to the generated report
# An earlier run's figures kept for the record (both pipelines on the same data), last.
APPENDIX = NLU_DIR / "report-appendix.md"
MIN_LATENCY_SAMPLES = 300
SWEEP_THRESHOLDS = [0.15, 0.2, 0.25, 0.3, 0.35]
# the bot's defaults (config.yml nlu.urgent_threshold, nlu.urgent_threshold_keywords)
_NLU_CONFIG = (yaml.safe_load((ROOT / "config.yml").read_text()) or {}).get("nlu", {})
URGENT_THRESHOLD = float(_NLU_CONFIG.get("urgent_threshold", 0.25))
URGENT_THRESHOLD_KEYWORDS = float(_NLU_CONFIG.get("urgent_threshold_keywords", 0.35))

# Runs rasa train as a child and prints the child's peak RSS (KiB on Linux) last.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[1:])\n"
    "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(rc)\n"
)


def is_urgent(intent: str) -> bool:
    return intent.startswith("urgent_")


@dataclass(slots=True)
class TrainResult:
    model: Path
    seconds: float
    peak_mb: float


@dataclass(slots=True)
class LangScore:
    n: int = 0
    accuracy: float = 0.0
    macro_f1: float = 0.0
    urgent_recall: float | None = None
    urgent_exact_recall: float | None = None
    false_urgent_rate: float | None = None
    # the bot's own rule (bot/urgency.py): an urgent intent ranked at or above the urgent
    # threshold, or the keyword safety net
    escalation_recall: float | None = None
    false_escalation_rate: float | None = None
    confusions: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass(slots=True)
class Calibration:
    """How well the top confidence tracks correctness (over all held-out predictions)."""

    ece: float = 0.0  # expected calibration error, 10 equal-width bins
    mean_correct: float = 0.0
    mean_wrong: float | None = None


def calibration(confidences: list[float], correct: list[bool]) -> Calibration:
    if not confidences:
        return Calibration()
    bins: dict[int, list[tuple[float, bool]]] = {}
    for c, ok in zip(confidences, correct, strict=True):
        bins.setdefault(min(int(c * 10), 9), []).append((c, ok))
    n = len(confidences)
    ece = sum(
        len(b) / n * abs(statistics.fmean(c for c, _ in b) - statistics.fmean(ok for _, ok in b))
        for b in bins.values()
    )
    right = [c for c, ok in zip(confidences, correct, strict=True) if ok]
    wrong = [c for c, ok in zip(confidences, correct, strict=True) if not ok]
    return Calibration(
        ece, statistics.fmean(right) if right else 0.0, statistics.fmean(wrong) if wrong else None
    )


@dataclass(slots=True)
class ConfigResult:
    config: Path
    train: TrainResult
    ready_seconds: float
    per_language: dict[str, LangScore]
    keywords: dict[str, LangScore]
    latency_p50_ms: float
    latency_p99_ms: float
    calibration: Calibration


# --- data ----------------------------------------------------------------------------
def load_eval(eval_dir: Path) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for lang in LANGUAGES:
        path = eval_dir / f"{lang}.yml"
        if not path.is_file():
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items: list[tuple[str, str]] = []
        for intent, texts in (data.get("intents") or {}).items():
            items.extend((clean(str(t)), str(intent)) for t in texts or [])
        for row in data.get("examples") or []:
            items.append((clean(str(row["text"])), str(row["intent"])))
        out[lang] = [(t, i) for t, i in items if t]
    return out


# --- training and serving ------------------------------------------------------------
def train_measured(nlu_yml: Path, config: Path, out_dir: Path) -> TrainResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-c",
        _MEASURE,
        str(rasa_bin()),
        "train",
        "nlu",
        "--config",
        str(config),
        "--nlu",
        str(nlu_yml),
        "--out",
        str(out_dir),
        "--fixed-model-name",
        "model",
    ]
    start = time.monotonic()
    env = rasa_env()
    # no training cache: every measurement is a full training
    env["RASA_CACHE_DIRECTORY"] = str(out_dir / "cache")
    env["RASA_MAX_CACHE_SIZE"] = "0"
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"evaluate: training failed:\n{proc.stderr[-3000:]}")
    peak_kb = 0
    for line in proc.stdout.splitlines():
        if line.startswith("PEAK_RSS_KB"):
            peak_kb = int(line.split()[1])
    return TrainResult(out_dir / "model.tar.gz", seconds, peak_kb / 1024)


async def predict_all(
    url: str, items: list[tuple[str, str]], language: str
) -> tuple[list[Prediction], list[float]]:
    preds: list[Prediction] = []
    latencies: list[float] = []
    async with RasaClient([url], timeout=30.0) as client:
        for text, _ in items:
            norm = normalize(text).text
            start = time.perf_counter()
            pred = await client.classify(norm, language)
            latencies.append(time.perf_counter() - start)
            if pred.source != "rasa":
                raise SystemExit("evaluate: rasa did not answer")
            preds.append(pred)
    return preds, latencies


async def latency_sample(url: str, texts: list[str]) -> list[float]:
    out: list[float] = []
    async with RasaClient([url], timeout=30.0) as client:
        while len(out) < MIN_LATENCY_SAMPLES and texts:
            for text in texts:
                start = time.perf_counter()
                await client.classify(text, "und")
                out.append(time.perf_counter() - start)
    return out


# --- metrics -------------------------------------------------------------------------
def _urgent_threshold(prediction: Prediction, threshold: float | None) -> float:
    if threshold is not None:
        return threshold
    return URGENT_THRESHOLD if prediction.source == "rasa" else URGENT_THRESHOLD_KEYWORDS


def escalations(
    kw: KeywordClassifier,
    texts: list[str],
    preds: list[Prediction],
    language: str,
    threshold: float | None = None,
) -> list[bool]:
    """Whether the bot's urgency rule escalates each message: at `threshold`, or by
    default at the bot's own threshold for whoever ranked it (Rasa or the fallback)."""
    return [
        urgent_intent(
            is_urgent,
            kw,
            p.ranking or ((p.intent, p.confidence),),
            normalize(text).text,
            language,
            _urgent_threshold(p, threshold),
        )
        is not None
        for text, p in zip(texts, preds, strict=True)
    ]


def score(gold: list[str], pred: list[str], escalated: list[bool] | None = None) -> LangScore:
    n = len(gold)
    s = LangScore(n=n)
    if not n:
        return s
    s.accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / n
    f1s = []
    for label in sorted(set(gold) | set(pred)):
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    s.macro_f1 = statistics.fmean(f1s)
    urgent = [(g, p) for g, p in zip(gold, pred, strict=True) if is_urgent(g)]
    other = [(g, p) for g, p in zip(gold, pred, strict=True) if not is_urgent(g)]
    if urgent:
        s.urgent_recall = sum(is_urgent(p) for _, p in urgent) / len(urgent)
        s.urgent_exact_recall = sum(g == p for g, p in urgent) / len(urgent)
    if other:
        s.false_urgent_rate = sum(is_urgent(p) for _, p in other) / len(other)
    if escalated is not None:
        flagged = list(zip(gold, escalated, strict=True))
        if urgent:
            s.escalation_recall = sum(e for g, e in flagged if is_urgent(g)) / len(urgent)
        if other:
            s.false_escalation_rate = sum(e for g, e in flagged if not is_urgent(g)) / len(other)
    pairs = Counter((g, p) for g, p in zip(gold, pred, strict=True) if g != p)
    s.confusions = [(g, p, c) for (g, p), c in pairs.most_common(5)]
    return s


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[idx]


# --- runs ----------------------------------------------------------------------------
def evaluate_config(
    config: Path, content: Path, evalsets: dict[str, list[tuple[str, str]]], work: Path
) -> ConfigResult:
    kw = KeywordClassifier.from_content(content)
    built = build(content, work / "data", config)
    print(f"evaluate: training {config.name} on {built.examples} examples", file=sys.stderr)
    trained = train_measured(built.path, config, work / "model")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(work / "rasa.log", "wb") as log:
        proc = start_server(trained.model, port, log)
    try:
        ready = wait_ready(url, proc)
        per_language: dict[str, LangScore] = {}
        latencies: list[float] = []
        confidences: list[float] = []
        correct: list[bool] = []
        for lang, items in evalsets.items():
            preds, lat = asyncio.run(predict_all(url, items, lang))
            latencies.extend(lat)
            confidences.extend(p.confidence for p in preds)
            correct.extend(p.intent == i for p, (_, i) in zip(preds, items, strict=True))
            per_language[lang] = score(
                [i for _, i in items],
                [p.intent for p in preds],
                escalations(kw, [t for t, _ in items], preds, lang),
            )
        texts = [normalize(t).text for items in evalsets.values() for t, _ in items]
        latencies.extend(asyncio.run(latency_sample(url, texts)))
    finally:
        stop_server(proc)
    keywords = {}
    for lang, items in evalsets.items():
        preds = [kw.predict(normalize(t).text, lang) for t, _ in items]
        keywords[lang] = score(
            [i for _, i in items],
            [p.intent for p in preds],
            escalations(kw, [t for t, _ in items], preds, lang),
        )
    return ConfigResult(
        config,
        trained,
        ready,
        per_language,
        keywords,
        percentile(latencies, 50) * 1000,
        percentile(latencies, 99) * 1000,
        calibration(confidences, correct),
    )


@dataclass(slots=True)
class FoldPredictions:
    """Every content example's prediction by the fold model that did not train on it."""

    texts: dict[str, list[str]] = field(default_factory=dict)
    gold: dict[str, list[str]] = field(default_factory=dict)
    preds: dict[str, list[Prediction]] = field(default_factory=dict)

    def scores(self) -> dict[str, LangScore]:
        return {
            lang: score(gold, [p.intent for p in self.preds[lang]])
            for lang, gold in self.gold.items()
        }


def kfold(config: Path, content: Path, k: int, work: Path) -> FoldPredictions:
    """K-fold over the content examples: one multilingual model per fold."""
    rng = random.Random(13)
    per_lang = {f.parent.name: load_examples(f) for f in example_files(content)}
    rows = [
        (lang, intent, text)
        for lang, intents in per_lang.items()
        for intent, texts in intents.items()
        for text in texts
    ]
    rng.shuffle(rows)
    out = FoldPredictions(
        {lang: [] for lang in per_lang},
        {lang: [] for lang in per_lang},
        {lang: [] for lang in per_lang},
    )
    for fold in range(k):
        test = [r for i, r in enumerate(rows) if i % k == fold]
        train_rows = [r for i, r in enumerate(rows) if i % k != fold]
        intents: dict[str, list[str]] = {}
        for _, intent, text in train_rows:
            intents.setdefault(intent, []).append(text)
        fold_dir = work / f"fold{fold}"
        fold_dir.mkdir(parents=True)
        nlu_yml = fold_dir / "nlu.yml"
        nlu_yml.write_text(to_rasa_yaml(merge([intents])), encoding="utf-8")
        print(f"evaluate: k-fold {fold + 1}/{k}", file=sys.stderr)
        trained = train_measured(nlu_yml, config, fold_dir / "model")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with open(fold_dir / "rasa.log", "wb") as log:
            proc = start_server(trained.model, port, log)
        try:
            wait_ready(url, proc)
            for lang in per_lang:
                items = [(t, i) for lg, i, t in test if lg == lang]
                preds, _ = asyncio.run(predict_all(url, items, lang))
                out.texts[lang].extend(t for t, _ in items)
                out.gold[lang].extend(i for _, i in items)
                out.preds[lang].extend(preds)
        finally:
            stop_server(proc)
    return out


@dataclass(frozen=True, slots=True)
class ThresholdRow:
    threshold: float
    escalated_urgent: dict[str, float]  # per language: urgent examples escalated
    escalated_other: dict[str, float]  # per language: other examples escalated


def threshold_sweep(
    kw: KeywordClassifier, folds: FoldPredictions, thresholds: list[float]
) -> list[ThresholdRow]:
    """The bot's urgency rule on the fold predictions at each urgent threshold: how a
    threshold is chosen without looking at the held-out sets."""
    rows = []
    for threshold in thresholds:
        urgent: dict[str, float] = {}
        other: dict[str, float] = {}
        for lang, gold in folds.gold.items():
            preds = folds.preds[lang]
            flags = escalations(kw, folds.texts[lang], preds, lang, threshold)
            scored = score(gold, [p.intent for p in preds], flags)
            urgent[lang] = scored.escalation_recall or 0.0
            other[lang] = scored.false_escalation_rate or 0.0
        rows.append(ThresholdRow(threshold, urgent, other))
    return rows


# --- report --------------------------------------------------------------------------
def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _lang_table(scores: dict[str, LangScore]) -> list[str]:
    lines = [
        "| lang | n | top-1 acc | macro-F1 | urgent recall (any / exact) | false-urgent rate "
        "| escalated by the bot: urgent / not urgent "
        "| top confusions (gold → predicted ×n) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for lang, s in scores.items():
        conf = "; ".join(f"{g} → {p} ×{c}" for g, p, c in s.confusions[:3]) or "–"
        lines.append(
            f"| {lang} | {s.n} | {_pct(s.accuracy)} | {_pct(s.macro_f1)} | "
            f"{_pct(s.urgent_recall)} / {_pct(s.urgent_exact_recall)} | "
            f"{_pct(s.false_urgent_rate)} | "
            f"{_pct(s.escalation_recall)} / {_pct(s.false_escalation_rate)} | {conf} |"
        )
    return lines


def mean_of(scores: dict[str, LangScore], attr: str) -> float:
    vals = [getattr(s, attr) for s in scores.values() if getattr(s, attr) is not None]
    return statistics.fmean(vals) if vals else 0.0


def choose(results: list[ConfigResult]) -> ConfigResult:
    """Highest mean urgent recall, then macro-F1, then the faster training."""
    return max(
        results,
        key=lambda r: (
            round(mean_of(r.per_language, "urgent_recall"), 3),
            round(mean_of(r.per_language, "macro_f1"), 3),
            -r.train.seconds,
        ),
    )


def render(
    results: list[ConfigResult],
    folds: FoldPredictions | None,
    sweep: list[ThresholdRow],
    k: int,
    content: Path,
    eval_dir: Path,
    evalsets: dict[str, list[tuple[str, str]]],
) -> str:
    best = choose(results)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out = [
        "# NLU evaluation report",
        "",
        f"Generated by `python -m nlu.evaluate` on {stamp}.",
        f"Training content: `{_rel(content)}` "
        f"({', '.join(f.parent.name for f in example_files(content))}); held-out sets: "
        f"`{_rel(eval_dir)}` ({', '.join(f'{lang}: {len(v)}' for lang, v in evalsets.items())}).",
        "One multilingual model per pipeline, trained on every language's examples, as deployed.",
        "Urgent recall counts an urgent example predicted as any urgent intent (escalation "
        "happens either way); exact counts the right urgent intent. Latency is the client's "
        "round trip to `rasa run` on localhost (normalize excluded), one request at a time.",
        '"Escalated by the bot" applies the bot\'s own urgency rule (`bot/urgency.py`: any '
        f"urgent intent ranked at or above the urgent threshold, {URGENT_THRESHOLD} for Rasa's "
        f"ranking and {URGENT_THRESHOLD_KEYWORDS} for the keyword fallback's, or the keyword "
        "safety net), which is what decides escalation in live traffic.",
        "",
        "## Pipelines",
        "",
        "| config | train time | train peak RSS | server ready | mean acc | mean macro-F1 "
        "| mean urgent recall | mean false-urgent | mean escalated: urgent / not urgent "
        "| parse p50 | parse p99 | ECE | mean conf right / wrong |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        out.append(
            f"| `{_rel(r.config)}` | {r.train.seconds:.1f} s | {r.train.peak_mb:.0f} MB | "
            f"{r.ready_seconds:.1f} s | {_pct(mean_of(r.per_language, 'accuracy'))} | "
            f"{_pct(mean_of(r.per_language, 'macro_f1'))} | "
            f"{_pct(mean_of(r.per_language, 'urgent_recall'))} | "
            f"{_pct(mean_of(r.per_language, 'false_urgent_rate'))} | "
            f"{_pct(mean_of(r.per_language, 'escalation_recall'))} / "
            f"{_pct(mean_of(r.per_language, 'false_escalation_rate'))} | "
            f"{r.latency_p50_ms:.1f} ms | {r.latency_p99_ms:.1f} ms | "
            f"{r.calibration.ece:.3f} | {r.calibration.mean_correct:.2f} / "
            f"{'–' if r.calibration.mean_wrong is None else f'{r.calibration.mean_wrong:.2f}'} |"
        )
    out += [
        "",
        f"**Best by the rule (urgent recall, then macro-F1, then training time):** "
        f"`{_rel(best.config)}`.",
        "",
    ]
    for r in results:
        out += [f"## `{_rel(r.config)}` per language", "", *_lang_table(r.per_language), ""]
    out += [
        "## Keyword fallback (Rasa down) on the same sets",
        "",
        *_lang_table(results[0].keywords),
        "",
    ]
    if folds:
        out += [
            f"## {k}-fold cross-validation of `{_rel(results[0].config)}` on the content examples",
            "",
            *_lang_table(folds.scores()),
            "",
            *_sweep_table(sweep),
        ]
    return "\n".join(out) + "\n"


def _sweep_table(sweep: list[ThresholdRow]) -> list[str]:
    if not sweep:
        return []
    langs = list(sweep[0].escalated_urgent)
    out = [
        "### Escalated by the bot's rule, by urgent threshold (same folds)",
        "",
        "Urgent examples escalated / other examples escalated. The threshold applies to "
        "Rasa's ranking; the keyword safety net is included, as in live traffic.",
        "",
        "| threshold | " + " | ".join(langs) + " | mean |",
        "| --- | " + " | ".join("---" for _ in langs) + " | --- |",
    ]
    for row in sweep:
        cells = [
            f"{_pct(row.escalated_urgent[lang])} / {_pct(row.escalated_other[lang])}"
            for lang in langs
        ]
        mean = (
            f"{_pct(statistics.fmean(row.escalated_urgent.values()))} / "
            f"{_pct(statistics.fmean(row.escalated_other.values()))}"
        )
        out.append(f"| {row.threshold:.2f} | " + " | ".join(cells) + f" | {mean} |")
    return [*out, ""]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--content", type=Path, default=CONTENT_DIR)
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    parser.add_argument("--config", type=Path, action="append", dest="configs")
    parser.add_argument("--kfold", type=int, default=0)
    parser.add_argument(
        "--sweep",
        type=float,
        nargs="*",
        default=SWEEP_THRESHOLDS,
        help="urgent thresholds scored on the k-fold predictions",
    )
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument(
        "--append",
        type=Path,
        action="append",
        help="markdown appended to the report, in order (default: the notes, then the appendix)",
    )
    args = parser.parse_args(argv)
    configs = args.configs or [CONFIG, *sorted((CONFIG.parent / "alternatives").glob("*.yml"))]
    content = args.content.resolve()
    evalsets = load_eval(args.eval_dir)
    if not evalsets and not args.kfold:
        raise SystemExit(f"evaluate: no <lang>.yml in {args.eval_dir} (or use --kfold K)")
    results = []
    with tempfile.TemporaryDirectory(prefix="nlu-eval-") as tmp:
        for n, config in enumerate(configs):
            work = Path(tmp) / f"c{n}"
            results.append(evaluate_config(config.resolve(), content, evalsets, work))
        folds = (
            kfold(configs[0].resolve(), content, args.kfold, Path(tmp) / "kfold")
            if args.kfold > 1
            else None
        )
    sweep = (
        threshold_sweep(KeywordClassifier.from_content(content), folds, args.sweep) if folds else []
    )
    text = render(results, folds, sweep, args.kfold, content, args.eval_dir, evalsets)
    for extra in args.append or [NOTES, APPENDIX]:
        if extra.is_file():
            text += "\n" + extra.read_text(encoding="utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(args.out)


if __name__ == "__main__":
    main()
