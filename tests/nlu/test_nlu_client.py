"""RasaClient against a real Rasa server (conftest) and against a dead port."""

from __future__ import annotations

import pytest

from nlu.client import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, RasaClient
from nlu.keywords import KeywordClassifier
from nlu.language import detect_language
from nlu.normalize import normalize


def test_breaker_opens_after_consecutive_failures_and_half_opens() -> None:
    now = [0.0]
    b = CircuitBreaker(failure_threshold=2, cooldown=10.0, clock=lambda: now[0])
    assert b.allow() and b.state == CLOSED
    b.record_failure()
    b.record_success()  # a success resets the count
    b.record_failure()
    assert b.state == CLOSED
    b.record_failure()
    assert b.state == OPEN and not b.allow()
    now[0] = 10.0
    assert b.state == HALF_OPEN
    assert b.allow()  # one trial
    assert not b.allow()  # ... at a time
    b.record_failure()  # trial failed: open again for a full cooldown
    assert b.state == OPEN
    now[0] = 20.0
    assert b.allow()
    b.record_success()
    assert b.state == CLOSED


async def test_dead_server_falls_back_to_keywords(
    keyword_classifier: KeywordClassifier, dead_url: str
) -> None:
    dead = dead_url
    async with RasaClient(
        [dead], timeout=1.0, fallback=keyword_classifier, failure_threshold=2, cooldown=60
    ) as client:
        text = normalize("ကယ်ပါ သူဌေးက ရိုက်နေတယ်").text
        pred = await client.classify(text, detect_language(text).language)
        assert (pred.intent, pred.source) == ("urgent_violence", "keywords")
        assert client.state == "degraded"
        assert not await client.healthy()
        await client.classify(text, "my")
        assert client.breakers[dead].state == OPEN
        # open breaker: answered by the keywords without trying the server again
        pred = await client.classify("ကျွန်တော် အလုပ်ထွက်လို့မရဘူး", "my")
        assert pred.source == "keywords"
        assert not client.breakers[dead].allow()


# (raw text as typed, expected language, expected intent)
QUESTIONS = [
    ("นายจ้างยังไม่จ่ายเงินเดือนเลย", "th", "wage_unpaid"),
    ("သူဌေးက ပတ်စ်ပို့ ပြန်မပေးဘူး", "my", "documents_retained"),
    ("သူေဌးက လစာ မေပးေသးဘူး", "my", "wage_unpaid"),  # Zawgyi
    ("ខ្ញុំចង់បន្តប័ណ្ណការងារ", "km", "work_permit"),
    ("ນາຍຈ້າງຍຶດໜັງສືຜ່ານແດນ", "lo", "documents_retained"),
    ("my employer is holding my passport", "en", "documents_retained"),
]


@pytest.mark.rasa
@pytest.mark.parametrize(("raw", "language", "intent"), QUESTIONS)
async def test_questions_reach_their_topic_through_rasa(
    rasa_url: str, keyword_classifier: KeywordClassifier, raw: str, language: str, intent: str
) -> None:
    norm = normalize(raw)
    guess = detect_language(norm.text)
    assert guess.language == language
    async with RasaClient([rasa_url], timeout=10.0, fallback=keyword_classifier) as client:
        pred = await client.classify(norm.text, guess.language)
        assert pred.source == "rasa"
        assert pred.intent == intent, pred.ranking[:3]
        assert pred.ranking[0][0] == intent
        assert client.state == "ok"
        assert await client.healthy()


@pytest.mark.rasa
async def test_round_robin_skips_a_dead_replica(
    rasa_url: str, keyword_classifier: KeywordClassifier, dead_url: str
) -> None:
    dead = dead_url
    async with RasaClient(
        [dead, rasa_url],
        timeout=10.0,
        fallback=keyword_classifier,
        failure_threshold=1,
        cooldown=60,
    ) as client:
        for _ in range(4):
            pred = await client.classify("ถูกขังอยู่ในบ้าน ออกไม่ได้", "th")
            assert (pred.intent, pred.source) == ("urgent_trapped", "rasa")
        assert client.breakers[dead].state == OPEN
        assert client.state == "ok"
        assert await client.healthy()


@pytest.mark.rasa
async def test_state_recovers_when_rasa_answers_again(
    rasa_url: str, keyword_classifier: KeywordClassifier
) -> None:
    now = [0.0]
    client = RasaClient(
        [rasa_url],
        timeout=10.0,
        fallback=keyword_classifier,
        failure_threshold=1,
        cooldown=5,
        clock=lambda: now[0],
    )
    try:
        client.breakers[rasa_url].record_failure()  # as if it had been down
        pred = await client.classify("สวัสดีครับ", "th")
        assert pred.source == "keywords" and client.state == "degraded"
        now[0] = 5.0  # cooldown over: the half-open trial reaches the real server
        pred = await client.classify("สวัสดีครับ", "th")
        assert (pred.intent, pred.source) == ("greet", "rasa")
        assert client.state == "ok"
    finally:
        await client.close()


@pytest.mark.rasa
@pytest.mark.parametrize("text", ["🙏", "1546", "???", "ok"])
async def test_rasa_answers_text_without_words(
    rasa_url: str, keyword_classifier: KeywordClassifier, text: str
) -> None:
    async with RasaClient([rasa_url], timeout=10.0, fallback=keyword_classifier) as client:
        pred = await client.classify(text, "en")
        assert pred.source == "rasa"
        assert 0.0 <= pred.confidence <= 1.0


async def test_empty_text_needs_no_server(dead_url: str) -> None:
    async with RasaClient([dead_url], timeout=1.0) as client:
        pred = await client.classify("   ", "en")
        assert (pred.intent, pred.confidence) == ("out_of_scope", 0.0)
