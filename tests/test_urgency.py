"""The urgency rule shared by live traffic, `bot classify` and the NLU report."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from bot.storage.models import Message
from bot.urgency import urgent_intent
from nlu.keywords import KeywordClassifier
from nlu.types import Prediction
from tests.nlu.conftest import FIXTURE_CONTENT
from tests.support import chat_client, say, services_of


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


class RankingClassifier:
    """Ranks every text wage_unpaid first and urgent_violence second, at 0.3: between the
    two urgent thresholds (Rasa's 0.25, the keyword fallback's 0.35)."""

    def __init__(self, source: str) -> None:
        self.source = source

    async def classify(self, text: str, language: str) -> Prediction:
        ranking = (("wage_unpaid", 0.6), ("urgent_violence", 0.3))
        return Prediction("wage_unpaid", 0.6, ranking, source=self.source)

    async def healthy(self) -> bool:
        return True


@pytest.mark.parametrize(("source", "escalated"), [("rasa", True), ("keywords", False)])
async def test_the_urgent_threshold_depends_on_who_ranked(
    database_url: str, source: str, escalated: bool
) -> None:
    async with chat_client(database_url) as client:
        services = services_of(client)
        services.classifier = RankingClassifier(source)
        assert (
            services.settings.urgent_threshold < 0.3 < services.settings.urgent_threshold_keywords
        )
        await say(client, str(uuid.uuid4()), text="my boss did not pay me this month")
        async with services.db() as db:
            intent = await db.scalar(
                select(Message.intent).where(Message.direction == "in").order_by(Message.id.desc())
            )
    assert intent == ("urgent_violence" if escalated else "wage_unpaid")
