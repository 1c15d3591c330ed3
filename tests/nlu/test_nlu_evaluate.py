from __future__ import annotations

from pathlib import Path

import pytest

from nlu.evaluate import (
    FoldPredictions,
    calibration,
    escalations,
    load_eval,
    percentile,
    score,
    threshold_sweep,
)
from nlu.keywords import KeywordClassifier
from nlu.types import Prediction
from tests.nlu.conftest import FIXTURE_CONTENT


def test_score_per_language_metrics() -> None:
    gold = ["wage_unpaid", "urgent_trapped", "greet", "urgent_violence", "menu"]
    pred = ["wage_unpaid", "urgent_violence", "urgent_trapped", "menu", "menu"]
    s = score(gold, pred)
    assert s.n == 5
    assert s.accuracy == pytest.approx(0.4)
    assert s.urgent_recall == pytest.approx(0.5)  # trapped -> violence still escalates
    assert s.urgent_exact_recall == 0.0
    assert s.false_urgent_rate == pytest.approx(1 / 3)  # greet -> urgent_trapped
    assert ("urgent_trapped", "urgent_violence", 1) in s.confusions
    # labels: wage_unpaid 1.0, menu 2/3, others 0
    assert s.macro_f1 == pytest.approx((1.0 + 2 / 3) / 5)
    assert s.escalation_recall is None  # not measured without the bot's rule


def test_escalation_by_the_bots_rule_is_scored_apart_from_top_1() -> None:
    gold = ["urgent_trapped", "urgent_violence", "wage_unpaid", "greet"]
    pred = ["documents_retained", "urgent_violence", "wage_unpaid", "greet"]
    # the rule escalated the first urgent message (a ranked urgent intent or a keyword)
    # but not the second, and raised one false alarm
    s = score(gold, pred, escalated=[True, False, True, False])
    assert s.urgent_recall == pytest.approx(0.5)
    assert s.escalation_recall == pytest.approx(0.5)
    assert s.false_escalation_rate == pytest.approx(0.5)


def test_calibration_and_percentile() -> None:
    cal = calibration([0.95, 0.95, 0.95, 0.95], [True, True, True, False])
    assert cal.ece == pytest.approx(0.2)
    assert cal.mean_wrong == pytest.approx(0.95)
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert percentile(list(range(101)), 99) == 99


def test_load_eval_accepts_both_shapes(tmp_path: Path) -> None:
    (tmp_path / "th.yml").write_text(
        "language: th\nintents:\n  greet: [สวัสดี]\nexamples:\n  - {text: เมนู, intent: menu}\n",
        encoding="utf-8",
    )
    assert load_eval(tmp_path) == {"th": [("สวัสดี", "greet"), ("เมนู", "menu")]}


def test_threshold_sweep_applies_the_bots_rule_to_the_fold_predictions() -> None:
    ranked = Prediction("wage_unpaid", 0.6, (("wage_unpaid", 0.6), ("urgent_violence", 0.3)))
    folds = FoldPredictions(
        texts={"en": ["boss angry about pay", "pay was late", "hello"]},
        gold={"en": ["urgent_violence", "wage_unpaid", "greet"]},
        preds={"en": [ranked, ranked, Prediction("greet", 0.9, (("greet", 0.9),))]},
    )
    low, high = threshold_sweep(
        KeywordClassifier.from_content(FIXTURE_CONTENT), folds, [0.25, 0.35]
    )
    assert (low.threshold, low.escalated_urgent["en"], low.escalated_other["en"]) == (
        0.25,
        1.0,
        0.5,
    )
    assert (high.threshold, high.escalated_urgent["en"], high.escalated_other["en"]) == (
        0.35,
        0.0,
        0.0,
    )


def test_escalations_use_the_bots_threshold_for_whoever_ranked() -> None:
    """The report's rule is the bot's: 0.25 for Rasa's ranking, 0.35 for the fallback's."""
    ranking = (("wage_unpaid", 0.6), ("urgent_violence", 0.3))
    kw = KeywordClassifier.from_content(FIXTURE_CONTENT)
    by = {
        source: escalations(
            kw, ["pay was late"], [Prediction("wage_unpaid", 0.6, ranking, source)], "en"
        )
        for source in ("rasa", "keywords")
    }
    assert by == {"rasa": [True], "keywords": [False]}
