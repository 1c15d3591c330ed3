"""Structured flows: report abuse and trafficking screening, driven through the web chat."""

from __future__ import annotations

import uuid

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.storage.models import Case, Conversation
from handlers.structured_flows import risk_level
from tests.support import say, services_of

Q = ("deceived", "cannot_leave", "documents", "wages", "debt", "threats", "violence")


@pytest.mark.parametrize(
    ("yes", "level"),
    [
        ((), "low"),
        (("deceived",), "medium"),
        (("wages", "debt"), "medium"),
        (("violence",), "high"),
        (("cannot_leave",), "high"),
        (("deceived", "documents", "wages"), "high"),
        (("threats", "debt", "documents", "wages"), "high"),
    ],
)
def test_risk_level_table(yes: tuple[str, ...], level: str) -> None:
    answers = {q: ("yes" if q in yes else "no") for q in Q}
    assert risk_level(answers) == level
    assert risk_level({q: None for q in Q}) == "low"  # all skipped


async def cases(chat: TestClient) -> list[Case]:
    async with services_of(chat).db() as db:
        return list((await db.execute(select(Case))).scalars())


async def test_report_with_typed_place_opens_a_report_case(chat: TestClient) -> None:
    services = services_of(chat)
    s = str(uuid.uuid4())
    await say(chat, s, payload="lang:en")
    menu = await say(chat, s, payload="menu:safety")
    assert menu == [services.content.ui("en", "menu_safety")]
    first = await say(chat, s, payload="report")
    assert services.content.ui("en", "report_ask_anonymous") in first
    await say(chat, s, payload="rep:anonymous:yes")
    where_q = await say(chat, s, payload="rep:what:unpaid")
    assert where_q == [services.content.ui("en", "report_ask_where")]
    # typed text is the answer, not a question for the NLU
    when_q = await say(chat, s, text="Boat Sea Star 123, port Songkhla, employer Mr Somchai")
    assert when_q == [services.content.ui("en", "report_ask_when")]
    await say(chat, s, payload="rep:when:week")
    consent = await say(chat, s, payload="rep:people:2-5")
    assert consent == [services.content.ui("en", "consent_ask")]
    done = await say(chat, s, payload="consent:yes")
    [case] = await cases(chat)
    assert case.kind == "report" and case.intent == "report" and not case.urgent
    details = services.vault.decrypt_json(case.details_enc)
    assert details == {
        "anonymous": True,
        "what": "unpaid",
        "where": "Boat Sea Star 123, port Songkhla, employer Mr Somchai",
        "when": "week",
        "people": "2-5",
        "contact_later": "no",
    }
    assert "this chat" in done[0] and "anonymous" in done[0]
    async with services.db() as db:
        conversation = await db.get(Conversation, case.conversation_id)
    assert conversation.flow is None and conversation.handler == "human"


async def test_report_skip_everywhere(chat: TestClient) -> None:
    services = services_of(chat)
    s = str(uuid.uuid4())
    await say(chat, s, payload="lang:th")
    await say(chat, s, payload="report")
    for step in ("anonymous", "what", "where", "when"):
        await say(chat, s, payload=f"rep:{step}:skip")
    consent = await say(chat, s, payload="rep:people:skip")
    assert consent == [services.content.ui("th", "consent_ask")]
    await say(chat, s, payload="consent:yes")
    [case] = await cases(chat)
    details = services.vault.decrypt_json(case.details_enc)
    assert case.kind == "report" and details["anonymous"] is False
    assert {details[k] for k in ("what", "where", "when", "people")} == {None}


async def test_report_of_someone_kept_from_leaving_is_an_urgent_case(chat: TestClient) -> None:
    s = str(uuid.uuid4())
    await say(chat, s, payload="lang:en")
    await say(chat, s, payload="report")
    await say(chat, s, payload="rep:anonymous:no")
    await say(chat, s, payload="rep:what:confined")
    for step in ("where", "when", "people"):
        await say(chat, s, payload=f"rep:{step}:skip")
    await say(chat, s, payload="consent:yes")
    [case] = await cases(chat)
    assert case.kind == "report" and case.urgent


async def test_report_declining_consent_opens_no_case(chat: TestClient) -> None:
    services = services_of(chat)
    s = str(uuid.uuid4())
    await say(chat, s, payload="lang:my")
    await say(chat, s, payload="report")
    await say(chat, s, payload="rep:anonymous:no")
    await say(chat, s, payload="rep:what:violence")
    await say(chat, s, text="Mae Sot")
    await say(chat, s, payload="rep:when:today")
    await say(chat, s, payload="rep:people:1")
    answer = await say(chat, s, payload="consent:no")
    assert answer == [services.content.ui("my", "consent_declined")]
    assert await cases(chat) == []


async def test_leaving_the_report_lets_text_reach_the_nlu_again(chat: TestClient) -> None:
    services = services_of(chat)
    s = str(uuid.uuid4())
    await say(chat, s, payload="lang:en")
    await say(chat, s, payload="report")
    await say(chat, s, payload="rep:anonymous:no")
    await say(chat, s, payload="rep:what:other")  # now waiting for where
    await say(chat, s, payload="menu")  # the worker left the flow
    await say(chat, s, text="Songkhla")
    async with services.db() as db:
        conversation = (await db.execute(select(Conversation))).scalar_one()
    assert conversation.flow is None


async def screen(chat: TestClient, s: str, answers: dict[str, str]) -> list[str]:
    out: list[str] = []
    for q in Q:
        out = await say(chat, s, payload=f"scr:{q}:{answers.get(q, 'skip')}")
    return out


async def test_screening_high_risk_refers_with_safety_first(chat: TestClient) -> None:
    services = services_of(chat)
    s = str(uuid.uuid4())
    await say(chat, s, payload="lang:en")
    first = await say(chat, s, payload="screening")
    assert services.content.ui("en", "screen_q_deceived") in first
    result = await screen(chat, s, {"deceived": "yes", "cannot_leave": "yes", "wages": "no"})
    trapped = services.content.topic("en", "urgent_trapped")
    assert result[0].startswith(trapped.title)  # safety steps first
    assert result[1] == services.content.ui("en", "screen_result_high")
    nrm = services.content.topic("en", "referral_mechanism")
    assert result[2].startswith(nrm.title)
    assert result[3] == services.content.ui("en", "screen_refer_ask")
    assert await say(chat, s, payload="scr:refer:yes") == [services.content.ui("en", "consent_ask")]
    await say(chat, s, payload="consent:yes")
    [case] = await cases(chat)
    assert case.kind == "screening" and case.urgent
    details = services.vault.decrypt_json(case.details_enc)
    assert details["risk"] == "high"
    assert details["answers"]["cannot_leave"] == "yes" and details["answers"]["debt"] is None


async def test_screening_medium_risk_declined_consent_opens_no_case(chat: TestClient) -> None:
    services = services_of(chat)
    s = str(uuid.uuid4())
    await say(chat, s, payload="lang:km")
    await say(chat, s, payload="screening")
    result = await screen(chat, s, {"wages": "yes", "debt": "yes", "violence": "no"})
    assert result[0] == services.content.ui("km", "screen_result_medium")
    await say(chat, s, payload="scr:refer:yes")
    await say(chat, s, payload="consent:no")
    assert await cases(chat) == []


async def test_screening_all_skipped_is_low_and_no_referral(chat: TestClient) -> None:
    services = services_of(chat)
    s = str(uuid.uuid4())
    await say(chat, s, payload="lang:lo")
    await say(chat, s, payload="screening")
    result = await screen(chat, s, {})
    assert result[0] == services.content.ui("lo", "screen_result_low")
    answer = await say(chat, s, payload="scr:refer:no")
    assert answer == [services.content.ui("lo", "screen_no_referral")]
    assert await cases(chat) == []
