"""Structured flows: report abuse, and a trafficking screening with referral.

Both keep their state in conversation.flow, use the consent step and case opening of
handlers.escalation, and let every question be skipped. Postbacks: "report" starts the
report, "rep:<step>:<value>" answers it; "screening" starts the screening,
"scr:<question>:<yes|no|skip>" answers it, "scr:refer:<yes|no>" answers the referral offer.
The one typed answer (where it happened) comes through FLOW_TEXT_HANDLERS (bot.pipeline).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.messages import Button, Reply
from handlers.answers import safety_text
from handlers.base import Turn, on_flow_text, on_postback, postback_argument
from handlers.escalation import (
    AFTER_CONSENT,
    default_number,
    open_case_of,
    place_case,
    with_consent,
)
from handlers.menus import menu_button

# ---------------------------------------------------------------- report abuse

# (step, question key, answers as (value, label key)); no answers: typed text.
REPORT_STEPS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("anonymous", "report_ask_anonymous", (("yes", "report_anonymous"), ("no", "report_named"))),
    (
        "what",
        "report_ask_what",
        (
            ("violence", "report_what_violence"),
            ("unpaid", "report_what_unpaid"),
            ("confined", "report_what_confined"),
            ("documents", "report_what_documents"),
            ("other", "report_what_other"),
        ),
    ),
    ("where", "report_ask_where", ()),
    (
        "when",
        "report_ask_when",
        (
            ("today", "report_when_today"),
            ("week", "report_when_week"),
            ("earlier", "report_when_earlier"),
        ),
    ),
    (
        "people",
        "report_ask_people",
        (("1", "report_people_1"), ("2-5", "report_people_2_5"), ("6+", "report_people_more")),
    ),
)
REPORT_SERVICES = ("labour_complaints", "trafficking_screening")
MAX_WHERE_CHARS = 500


@on_postback("report")
async def start_report(turn: Turn) -> list[Reply]:
    if await open_case_of(turn) is not None:
        return [Reply(turn.ui("waiting_for_human", number=default_number(turn)))]
    turn.conversation.flow = {"name": "report"}
    return [Reply(turn.ui("report_intro")), *next_report_step(turn)]


@on_postback("rep")
async def report_answer(turn: Turn) -> list[Reply]:
    flow = dict(turn.conversation.flow or {})
    if flow.get("name") != "report":
        return await start_report(turn)
    step, _, value = postback_argument(turn).partition(":")
    allowed = {s: {v for v, _ in answers} for s, _, answers in REPORT_STEPS}
    if step not in allowed or (value != "skip" and value not in allowed[step]):
        return next_report_step(turn)
    flow[step] = None if value == "skip" else value
    flow.pop("awaits_text", None)
    turn.conversation.flow = flow
    return await report_continue(turn)


@on_flow_text("report", prefixes=("rep", "consent"))
async def report_text(turn: Turn) -> list[Reply]:
    flow = dict(turn.conversation.flow or {})
    flow["where"] = turn.text.strip()[:MAX_WHERE_CHARS] or None  # kept as typed
    flow.pop("awaits_text", None)
    turn.conversation.flow = flow
    return await report_continue(turn)


def next_report_step(turn: Turn) -> list[Reply]:
    """The first unanswered question, or [] when all are answered."""
    flow = turn.conversation.flow or {}
    for step, question, answers in REPORT_STEPS:
        if step in flow:
            continue
        buttons = [Button(turn.ui(label), f"rep:{step}:{value}") for value, label in answers]
        buttons.append(turn.button("skip", f"rep:{step}:skip"))
        if not answers:
            turn.conversation.flow = {**flow, "awaits_text": True}
        return [Reply(turn.ui(question), tuple(buttons))]
    return []


async def report_continue(turn: Turn) -> list[Reply]:
    return next_report_step(turn) or await with_consent(turn)


URGENT_REPORTS = frozenset({"violence", "confined"})


async def open_report(turn: Turn) -> list[Reply]:
    flow = turn.conversation.flow or {}
    anonymous = flow.get("anonymous") == "yes"
    details = {
        "anonymous": anonymous,
        "what": flow.get("what"),
        "where": flow.get("where"),
        "when": flow.get("when"),
        "people": flow.get("people"),
        # Anonymous: nobody writes back later or elsewhere; only the open chat remains.
        "contact_later": "no" if anonymous else None,
    }
    # Violence or being kept from leaving goes to the top of the queue and is re-routed
    # if nobody takes it, like any urgent case.
    urgent = flow.get("what") in URGENT_REPORTS
    number = default_number(turn, "urgent_trapped" if urgent else None)
    org = await place_case(
        turn,
        kind="report",
        topic="report",
        services=REPORT_SERVICES,
        details=details,
        urgent=urgent,
    )
    if org is None:
        return [Reply(turn.ui("no_organisation", number=number))]
    key = "report_thanks_anonymous" if anonymous else "report_thanks"
    return [Reply(turn.ui(key, org=org.name, number=number))]


AFTER_CONSENT["report"] = open_report

# ---------------------------------------------------------- trafficking screening

# ILO forced-labour indicators, asked in this order.
SCREENING_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("deceived", "screen_q_deceived"),
    ("cannot_leave", "screen_q_cannot_leave"),
    ("documents", "screen_q_documents"),
    ("wages", "screen_q_wages"),
    ("debt", "screen_q_debt"),
    ("threats", "screen_q_threats"),
    ("violence", "screen_q_violence"),
)
SCREENING_SERVICES = ("trafficking_screening",)


def risk_level(answers: Mapping[str, str | None]) -> str:
    """high: violence, cannot leave, or 3+ yes; medium: 1-2 yes; low: none."""
    yes = sum(1 for q, _ in SCREENING_QUESTIONS if answers.get(q) == "yes")
    if answers.get("violence") == "yes" or answers.get("cannot_leave") == "yes" or yes >= 3:
        return "high"
    return "medium" if yes else "low"


@on_postback("screening")
async def start_screening(turn: Turn) -> list[Reply]:
    if await open_case_of(turn) is not None:
        return [Reply(turn.ui("waiting_for_human", number=default_number(turn)))]
    turn.conversation.flow = {"name": "screening", "answers": {}}
    return [Reply(turn.ui("screen_intro")), *await next_screening_step(turn)]


@on_postback("scr")
async def screening_answer(turn: Turn) -> list[Reply]:
    flow = dict(turn.conversation.flow or {})
    if flow.get("name") != "screening":
        return await start_screening(turn)
    question, _, value = postback_argument(turn).partition(":")
    if question == "refer":
        if value == "yes" and "risk" in flow:
            return await with_consent(turn)
        turn.conversation.flow = None
        return [Reply(turn.ui("screen_no_referral"), (menu_button(turn),))]
    answers = dict(flow.get("answers") or {})
    if question in dict(SCREENING_QUESTIONS) and value in ("yes", "no", "skip"):
        answers[question] = None if value == "skip" else value
    turn.conversation.flow = {**flow, "answers": answers}
    return await next_screening_step(turn)


async def next_screening_step(turn: Turn) -> list[Reply]:
    flow = dict(turn.conversation.flow or {})
    answers = flow.get("answers") or {}
    for question, key in SCREENING_QUESTIONS:
        if question in answers:
            continue
        buttons = (
            turn.button("screen_yes", f"scr:{question}:yes"),
            turn.button("screen_no", f"scr:{question}:no"),
            turn.button("skip", f"scr:{question}:skip"),
        )
        return [Reply(turn.ui(key), buttons)]
    risk = risk_level(answers)
    turn.conversation.flow = {**flow, "risk": risk}
    replies: list[Reply] = []
    if risk == "high":
        replies.append(Reply(safety_text(turn, "urgent_trapped")))  # safety first
    replies.append(Reply(turn.ui(f"screen_result_{risk}")))
    nrm = turn.content.topic(turn.language, "referral_mechanism")
    if nrm is not None:
        replies.append(Reply(f"{nrm.title}\n\n{nrm.answer}"))
    buttons = (
        turn.button("screen_refer_yes", "scr:refer:yes"),
        turn.button("screen_refer_no", "scr:refer:no"),
    )
    replies.append(Reply(turn.ui("screen_refer_ask"), buttons))
    return replies


async def open_screening(turn: Turn) -> list[Reply]:
    flow = turn.conversation.flow or {}
    risk = str(flow.get("risk") or risk_level(flow.get("answers") or {}))
    number = default_number(turn, "urgent_trapped" if risk == "high" else None)
    org = await place_case(
        turn,
        kind="screening",
        topic="trafficking_signs",
        services=SCREENING_SERVICES,
        details={"answers": dict(flow.get("answers") or {}), "risk": risk},
        urgent=risk == "high",
    )
    if org is None:
        return [Reply(turn.ui("no_organisation", number=number))]
    return [Reply(turn.ui("case_opened", org=org.name, number=number))]


AFTER_CONSENT["screening"] = open_screening
# The screening has no typed answers, but its postbacks must not count as leaving it.
on_flow_text("screening", prefixes=("scr", "consent"))(screening_answer)
