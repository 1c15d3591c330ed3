"""Live streams, the unclaimed-urgent job and the admin commands."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.admin import AdminError, add_volunteer, disable_volunteer, list_cases, register
from bot.console.reroute import reroute_unclaimed
from bot.outbox import decode_payload
from bot.storage.models import AuditEvent, Case, ConsoleSession, OutboxMessage, utcnow
from tests.console.support import World, login, make_case, post
from tests.support import services_of


async def first_event(client, path: str, name: str) -> dict:
    response = await client.get(path, headers={"Accept": "text/event-stream"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    current = None
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            current = line[7:]
        elif line.startswith("data: ") and current == name:
            response.close()
            return json.loads(line[6:])
    raise AssertionError(f"no {name} event")


async def test_queue_stream_shows_a_new_case_in_urgency_order(client, world: World):
    services = services_of(client)
    normal = await make_case(services, world.org_a, urgent=False, intent="talk_to_human")
    assert await login(client, "vol.a@example.org")
    data = await first_event(client, "/console/events", "queue")
    rows = data["html"]
    assert f'data-case="{world.case_a}"' in rows and f'data-case="{world.case_b}"' not in rows
    assert rows.index(f'data-case="{world.case_a}"') < rows.index(f'data-case="{normal}"')


async def test_case_stream_sends_messages_in_order_and_refuses_others(client, world: World):
    services = services_of(client)
    case_id = await make_case(services, world.org_a, texts=("one", "two <i>"))
    assert await login(client, "vol.a@example.org")
    first = await first_event(client, f"/console/cases/{case_id}/events?after=0", "message")
    assert first["text"] == "one" and first["sender"] == "user"
    response = await client.get(
        f"/console/cases/{world.case_b}/events", headers={"Accept": "text/event-stream"}
    )
    assert response.status == 403


async def test_unclaimed_urgent_case_is_rerouted_then_flagged(client, world: World):
    services = services_of(client)
    past = utcnow() - timedelta(minutes=16)
    async with services.db.begin() as session:
        await session.execute(update(Case).values(created_at=past))
    # case_a (org A) and case_b (org B) are both due: each goes to the other organisation
    # (or to a seeded one that fits as well).
    assert await reroute_unclaimed(services) == 2
    async with services.db() as session:
        a = await session.get(Case, world.case_a)
        assert a.organisation_id != world.org_a and a.reroutes == 1 and not a.flagged
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    texts = [decode_payload(services.vault, r.payload_enc)["replies"][0].text for r in rows]
    assert len(texts) == 2 and all("still looking for a helper" in t for t in texts)
    # Not due again until the wait has passed once more.
    assert await reroute_unclaimed(services) == 0
    async with services.db.begin() as session:
        await session.execute(update(Case).values(routed_at=past))
    assert await reroute_unclaimed(services) == 2  # max_reroutes (1) reached: flagged
    async with services.db() as session:
        a = await session.get(Case, world.case_a)
        assert a.flagged
        flagged = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "case_flagged")
        )
        assert flagged is not None
    # A flagged case waits for a coordinator; the job leaves it alone.
    assert await reroute_unclaimed(services) == 0


async def test_claimed_or_recent_cases_are_not_rerouted(client, world: World):
    services = services_of(client)
    assert await login(client, "vol.a@example.org")
    await post(client, f"/console/cases/{world.case_a}/claim")
    async with services.db.begin() as session:
        await session.execute(
            update(Case)
            .where(Case.id == world.case_a)
            .values(created_at=utcnow() - timedelta(hours=1))
        )
    assert await reroute_unclaimed(services) == 0


async def test_admin_functions(client, world: World):
    services = services_of(client)
    async with services.db.begin() as session:
        with pytest.raises(AdminError):
            await add_volunteer(session, "vol.a@example.org", "Dup", "org_a", "x" * 12)
        with pytest.raises(AdminError):
            await add_volunteer(session, "new@example.org", "Short", "org_a", "short")
        with pytest.raises(AdminError):
            await add_volunteer(session, "new@example.org", "No org", "nope", "x" * 12)
    assert await login(client, "vol.a@example.org")
    async with services.db.begin() as session:
        await disable_volunteer(session, "vol.a@example.org")
        assert not (await session.execute(select(ConsoleSession))).scalars().all()
    response = await client.get("/console/cases", allow_redirects=False)
    assert response.status == 303
    async with services.db() as session:
        listed = await list_cases(session, status="open", organisation_slug="org_b")
    assert [case.id for case, _ in listed] == [world.case_b]


def test_admin_argparse_spec() -> None:
    parser = argparse.ArgumentParser(prog="bot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["volunteers", "add", "a@b.org", "--name", "A", "--org", "hrdf", "--role", "coordinator"]
    )
    assert args.handler.__name__ == "cmd_volunteers_add" and args.role == "coordinator"
    args = parser.parse_args(["orgs", "add", "x", "X org", "--provinces", "tak,national"])
    assert args.handler.__name__ == "cmd_orgs_add"
    assert parser.parse_args(["cases", "list", "--status", "open"]).status == "open"
    assert parser.parse_args(["volunteers", "disable", "a@b.org"]).email == "a@b.org"
