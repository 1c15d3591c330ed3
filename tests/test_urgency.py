"""The urgency rule shared by live traffic, `bot classify` and the NLU report."""

from __future__ import annotations

import pytest

from bot.urgency import urgent_intent
from nlu.keywords import KeywordClassifier
from tests.nlu.conftest import FIXTURE_CONTENT


def is_urgent(intent: str) -> bool:
    return intent.startswith("urgent_")


@pytest.fixture(scope="module")
def keywords() -> KeywordClassifier:
    return KeywordClassifier.from_content(FIXTURE_CONTENT)


@pytest.mark.parametrize(
    ("ranking", "text", "expected"),
    [
        # the best guess is urgent but below the threshold: a flat ranking, not urgent
        ((("urgent_trapped", 0.2), ("wage_unpaid", 0.19)), "Songkhla", None),
        # an urgent runner-up at the urgent threshold
        ((("wage_unpaid", 0.5), ("urgent_violence", 0.35)), "boss angry", "urgent_violence"),
        # an urgent runner-up below it: not urgent
        ((("wage_unpaid", 0.6), ("urgent_violence", 0.3)), "boss angry", None),
        # nothing urgent ranked, but the keyword safety net
        ((("greet", 0.9),), "ကယ်ပါ သူဌေးက ရိုက်နေတယ်", "urgent_violence"),
        ((("greet", 0.9),), "hello", None),
        ((), "", None),
    ],
)
def test_urgent_intent(
    keywords: KeywordClassifier,
    ranking: tuple[tuple[str, float], ...],
    text: str,
    expected: str | None,
) -> None:
    language = "my" if "ကယ်" in text else "en"
    assert urgent_intent(is_urgent, keywords, ranking, text, language, 0.35) == expected
