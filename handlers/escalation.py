"""Urgent messages and hand-over to a person at a legal-aid organisation.

Order on an urgent path: safety steps and numbers first, always and at once; then consent;
then a few skippable questions; then a case. The flow state lives in conversation.flow.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Button, Reply
from bot.routing import Candidate, Need, load_rules, route
from bot.storage.models import AuditEvent, Case, Organisation, utcnow
from bot.urgency import urgent_intent
from handlers.answers import safety_text
from handlers.base import Handler, Turn, on_intent, on_postback, postback_argument

PROVINCES = ("bangkok", "chiang_rai", "sa_kaeo", "phuket", "phang_nga", "tak", "phitsanulok")
SECTORS = ("fishing", "agriculture", "construction", "domestic_work", "other")
# (flow step, question key, answers as (payload value, label key))
QUESTIONS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("province", "ask_province", tuple((p, f"province_{p}") for p in PROVINCES)),
    ("sector", "ask_sector", tuple((s, f"sector_{s}") for s in SECTORS)),
    ("safe", "ask_safe_now", (("yes", "safe_yes"), ("no", "safe_no"))),
    ("later", "ask_contact_later", (("yes", "contact_later_yes"), ("no", "contact_later_no"))),
)


def default_number(turn: Turn, topic_id: str | None = None) -> str:
    hotlines = turn.content.urgent_hotlines(topic_id) if topic_id else []
    if hotlines:
        return str(hotlines[0]["number"])
    default = turn.services.settings.section("escalation").get("default_hotline", "")
    return str(turn.content.hotlines.get(default, {}).get("number", ""))


async def safety_net(turn: Turn, threshold: float) -> list[Reply] | None:
    intent = urgent_intent(
        turn.content.is_urgent,
        turn.services.keywords,
        turn.ranking,
        turn.text,
        turn.language,
        threshold,
    )
    if intent is None:
        return None
    turn.intent = intent
    return await urgent_response(turn, intent)


async def urgent_response(turn: Turn, topic_id: str) -> list[Reply]:
    safety = Reply(safety_text(turn, topic_id))
    return [safety, *await start_handover(turn, topic_id, urgent=True)]


@on_intent("talk_to_human")
@on_postback("help")
async def talk_to_human(turn: Turn) -> list[Reply]:
    return await start_handover(turn, "talk_to_human", urgent=False)


async def start_handover(turn: Turn, topic_id: str, urgent: bool) -> list[Reply]:
    existing = await open_case_of(turn)
    if existing is not None:
        return [Reply(turn.ui("waiting_for_human", number=default_number(turn, topic_id)))]
    turn.conversation.flow = {"name": "handover", "topic": topic_id, "urgent": urgent}
    return await with_consent(turn)


# What each flow (by conversation.flow["name"]) does once the worker has given consent.
# Other flows (handlers.structured_flows) add themselves here.
AFTER_CONSENT: dict[str, Handler] = {}


async def with_consent(turn: Turn) -> list[Reply]:
    """Go on with the current flow if consent was given before; else ask for it."""
    if turn.contact.consent_at is not None:
        return await AFTER_CONSENT[str((turn.conversation.flow or {}).get("name"))](turn)
    buttons = (turn.button("consent_yes", "consent:yes"), turn.button("consent_no", "consent:no"))
    return [Reply(turn.ui("consent_ask"), buttons)]


@on_postback("consent")
async def consent_answer(turn: Turn) -> list[Reply]:
    flow = turn.conversation.flow or {}
    proceed = AFTER_CONSENT.get(str(flow.get("name")))
    if proceed is None:
        return await talk_to_human(turn)
    if postback_argument(turn) != "yes":
        turn.conversation.flow = None
        turn.session.add(
            AuditEvent(
                actor="contact", action="consent_declined", target=f"contact:{turn.contact.id}"
            )
        )
        return [Reply(turn.ui("consent_declined"), (turn.button("menu_button", "menu"),))]
    turn.contact.consent_at = utcnow()
    turn.contact.consent_version = str(
        turn.services.settings.section("escalation").get("consent_version", "1")
    )
    turn.session.add(
        AuditEvent(
            actor="contact",
            action="consent_given",
            target=f"contact:{turn.contact.id}",
            detail={"version": turn.contact.consent_version},
        )
    )
    return await proceed(turn)


@on_postback(*(step for step, _, _ in QUESTIONS))
async def question_answer(turn: Turn) -> list[Reply]:
    flow = dict(turn.conversation.flow or {})
    if flow.get("name") != "handover":
        return await talk_to_human(turn)
    step = turn.event.payload.partition(":")[0]
    answer = postback_argument(turn)
    flow[step] = None if answer == "skip" else answer
    if step == "province" and flow[step]:
        turn.contact.province = flow[step]
    if step == "sector" and flow[step]:
        turn.contact.sector = flow[step]
    turn.conversation.flow = flow
    return await next_question(turn)


async def next_question(turn: Turn) -> list[Reply]:
    flow = turn.conversation.flow or {}
    for step, question, answers in QUESTIONS:
        if step in flow:
            continue
        if step == "province" and turn.contact.province:
            flow = {**flow, step: turn.contact.province}
            continue
        buttons = tuple(Button(turn.ui(label), f"{step}:{value}") for value, label in answers)
        turn.conversation.flow = flow
        return [Reply(turn.ui(question), (*buttons, turn.button("skip", f"{step}:skip")))]
    return await open_case(turn, flow)


AFTER_CONSENT["handover"] = next_question


async def open_case_of(turn: Turn) -> Case | None:
    query = select(Case).where(
        Case.conversation_id == turn.conversation.id, Case.status != "closed"
    )
    return (await turn.session.execute(query.limit(1))).scalar_one_or_none()


async def candidates(turn: Turn) -> list[Candidate]:
    return await organisation_candidates(turn.session)


async def organisation_candidates(session: AsyncSession) -> list[Candidate]:
    """Active organisations with their open case counts (also used by bot.console.reroute)."""
    open_counts = dict(
        (
            await session.execute(
                select(Case.organisation_id, func.count())
                .where(Case.status != "closed")
                .group_by(Case.organisation_id)
            )
        ).all()
    )
    orgs = (await session.execute(select(Organisation).where(Organisation.active))).scalars()
    return [
        Candidate(
            slug=o.slug,
            name=o.name,
            provinces=tuple(o.provinces),
            languages=tuple(o.languages),
            sectors=tuple(o.sectors),
            services=tuple(o.services),
            accepting=o.accepting_cases,
            open_cases=open_counts.get(o.id, 0),
        )
        for o in orgs
    ]


async def open_case(turn: Turn, flow: dict) -> list[Reply]:
    topic = str(flow.get("topic", "talk_to_human"))
    urgent = bool(flow.get("urgent"))
    services = tuple(turn.content.meta.get(topic, {}).get("services", []) or ["legal_aid"])
    number = default_number(turn, topic if urgent else None)
    org = await place_case(
        turn,
        kind="urgent" if urgent else "human",
        topic=topic,
        services=services,
        details={"safe_now": flow.get("safe"), "contact_later": flow.get("later")},
        urgent=urgent,
    )
    if org is None:
        return [Reply(turn.ui("no_organisation", number=number))]
    return [Reply(turn.ui("case_opened", org=org.name, number=number))]


async def place_case(
    turn: Turn,
    *,
    kind: str,
    topic: str,
    services: tuple[str, ...],
    details: dict,
    urgent: bool = False,
) -> Organisation | None:
    """Route and open a case (details encrypted); ends the flow. None: nobody can take it."""
    need = Need(turn.contact.province, turn.language, turn.contact.sector, services)
    rules = load_rules(turn.content.root / "routing.yml")
    chosen = route(rules, await candidates(turn), need)
    turn.conversation.flow = None
    if chosen is None:
        return None
    org = (
        await turn.session.execute(select(Organisation).where(Organisation.slug == chosen.slug))
    ).scalar_one()
    case = Case(
        contact_id=turn.contact.id,
        conversation_id=turn.conversation.id,
        organisation_id=org.id,
        kind=kind,
        intent=topic,
        urgent=urgent,
        province=turn.contact.province,
        language=turn.language,
        sector=turn.contact.sector,
        platform=turn.event.platform,
        details_enc=turn.services.vault.encrypt_json(details),
    )
    turn.session.add(case)
    turn.conversation.handler = "human"
    await turn.session.flush()
    turn.session.add(
        AuditEvent(
            actor="system",
            action="case_opened",
            target=f"case:{case.id}",
            detail={"organisation": org.slug, "urgent": urgent, "kind": kind},
        )
    )
    return org


def wants_bot_back(turn: Turn) -> bool:
    words = {"stop", "bot", "back to bot"} | {
        turn.content.ui(lang, "back_to_bot_button").casefold() for lang in turn.content.ui_strings
    }
    return turn.text.casefold().strip() in words or turn.event.payload == "bot"


@on_postback("bot")
async def back_to_bot(turn: Turn) -> list[Reply]:
    turn.conversation.handler = "bot"
    case = await open_case_of(turn)
    if case is not None and case.status == "open":
        # Nobody took it yet: the worker withdrew the request.
        case.status, case.closed_at, case.outcome = "closed", utcnow(), "withdrawn"
    return [Reply(turn.ui("back_to_bot"), (turn.button("menu_button", "menu"),))]


async def relay_to_volunteer(turn: Turn) -> list[Reply]:
    """The message is kept for the volunteer; the bot speaks only for safety."""
    if wants_bot_back(turn):
        return await back_to_bot(turn)
    intent = turn.services.keywords.urgent_match(turn.text, turn.language) if turn.text else None
    if intent is not None:
        return [Reply(safety_text(turn, intent))]
    case = await open_case_of(turn)
    if case is not None and case.status == "open":
        return [Reply(turn.ui("waiting_for_human", number=default_number(turn, case.intent)))]
    return []
