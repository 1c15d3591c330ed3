"""Urgent cases nobody claimed in time: re-route them, or flag them for a coordinator.

`reroute_unclaimed` is a periodic job for the worker loop. It is safe to run in several
processes at once: due cases are locked (SKIP LOCKED on PostgreSQL) and the worker's
message has an idempotency key.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.contacts import recipient_of
from bot.logs import get_logger
from bot.messages import Reply
from bot.outbox import enqueue
from bot.routing import Need, load_rules, route
from bot.services import Services
from bot.storage.models import AuditEvent, Case, Contact, Organisation, utcnow
from handlers.escalation import organisation_candidates

log = get_logger("reroute")
BATCH = 50


async def reroute_unclaimed(services: Services) -> int:
    """Handle every urgent case left unclaimed too long; return how many were handled."""
    section = services.settings.section("escalation")
    minutes = float(section.get("unclaimed_urgent_minutes", 15))
    max_reroutes = int(section.get("max_reroutes", 1))
    cutoff = utcnow() - timedelta(minutes=minutes)
    async with services.db.begin() as session:
        due = (
            (
                await session.execute(
                    select(Case)
                    .where(
                        Case.status == "open",
                        Case.urgent.is_(True),
                        Case.flagged.is_(False),
                        func.coalesce(Case.routed_at, Case.created_at) < cutoff,
                    )
                    .order_by(Case.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        for case in due:
            await _reroute(session, services, case, max_reroutes)
    if due:
        log.info("unclaimed_urgent_handled", cases=len(due))
    return len(due)


async def _tried(session: AsyncSession, case: Case) -> set[int]:
    rows = await session.execute(
        select(AuditEvent.detail).where(
            AuditEvent.target == f"case:{case.id}", AuditEvent.action == "case_rerouted"
        )
    )
    tried = {case.organisation_id} if case.organisation_id else set()
    for (detail,) in rows:
        if isinstance(detail, dict) and isinstance(detail.get("source"), int):
            tried.add(detail["source"])
    return tried


async def _reroute(
    session: AsyncSession, services: Services, case: Case, max_reroutes: int
) -> None:
    content = services.content
    now = utcnow()
    target: Organisation | None = None
    if case.reroutes < max_reroutes:
        tried = await _tried(session, case)
        slugs_tried = set(
            (
                await session.execute(select(Organisation.slug).where(Organisation.id.in_(tried)))
            ).scalars()
        )
        topic = case.intent or "talk_to_human"
        need = Need(
            case.province,
            case.language,
            case.sector,
            tuple(content.meta.get(topic, {}).get("services", []) or ["legal_aid"]),
        )
        others = [c for c in await organisation_candidates(session) if c.slug not in slugs_tried]
        chosen = route(load_rules(content.root / "routing.yml"), others, need)
        if chosen is not None:
            target = (
                await session.execute(select(Organisation).where(Organisation.slug == chosen.slug))
            ).scalar_one()
    if target is not None:
        session.add(
            AuditEvent(
                actor="system",
                action="case_rerouted",
                target=f"case:{case.id}",
                detail={"source": case.organisation_id, "to": target.id, "reason": "unclaimed"},
            )
        )
        case.organisation_id = target.id
        case.reroutes += 1
    else:
        case.flagged = True
        session.add(
            AuditEvent(
                actor="system",
                action="case_flagged",
                target=f"case:{case.id}",
                detail={"reason": "unclaimed", "organisation": case.organisation_id},
            )
        )
    case.routed_at = now
    await _hotline_again(session, services, case)


async def _hotline_again(session: AsyncSession, services: Services, case: Case) -> None:
    contact = await session.get(Contact, case.contact_id) if case.contact_id else None
    if contact is None:
        return
    content = services.content
    language = contact.language or case.language or "en"
    hotlines = content.urgent_hotlines(case.intent) if case.intent else []
    if hotlines:
        number = str(hotlines[0]["number"])
    else:
        default = str(services.settings.section("escalation").get("default_hotline", ""))
        number = str(content.hotlines.get(default, {}).get("number", ""))
    await enqueue(
        session,
        services.vault,
        key=f"reroute:{case.id}:{case.reroutes}:{int(case.flagged)}",
        platform=contact.platform,
        recipient=replace(recipient_of(services.vault, contact), language=language),
        conversation_id=case.conversation_id,
        replies=[Reply(content.ui(language, "unclaimed_urgent_hotline", number=number))],
    )
