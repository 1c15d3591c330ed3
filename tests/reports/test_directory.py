"""The shared organisation directory: who may edit, approval, differences from the file."""

from __future__ import annotations

from sqlalchemy import select

from bot.reports.directory import differences
from bot.storage.models import AuditEvent, Organisation
from tests.console.support import World, login, post
from tests.support import services_of


async def org(client, org_id: int) -> Organisation:  # type: ignore[no-untyped-def]
    async with services_of(client).db() as session:
        return await session.get(Organisation, org_id)


async def test_coordinator_edits_own_entry_only(client, world: World) -> None:
    assert await login(client, "coord.a@example.org")
    assert (await client.get(f"/console/organisations/{world.org_a}")).status == 200
    response = await post(
        client,
        f"/console/organisations/{world.org_a}/edit",
        name="Org A Legal Aid",
        services="legal_aid",
        provinces="tak",
        languages="my",
        sectors="fishing",
        hours="Mon-Fri 9-17",
        public_contacts="https://org-a.example\n02 000 0000",
    )
    assert response.status == 303
    edited = await org(client, world.org_a)
    assert edited.name == "Org A Legal Aid" and edited.languages == ["my"]
    assert edited.accepting_cases is False  # the box was not ticked
    assert edited.public_contacts == ["https://org-a.example", "02 000 0000"]
    response = await post(client, f"/console/organisations/{world.org_b}/edit", name="Mine now")
    assert response.status == 403
    assert (await org(client, world.org_b)).name == "Org B"
    async with services_of(client).db() as session:
        events = (await session.execute(select(AuditEvent))).scalars().all()
    edits = [e for e in events if e.action == "org_edited"]
    assert len(edits) == 1 and "name" in edits[0].detail["fields"]
    assert any(e.action == "access_denied" for e in events)


async def test_volunteers_have_no_directory(client, world: World) -> None:
    assert await login(client, "vol.a@example.org")
    assert (await client.get("/console/organisations")).status == 403
    assert (await client.get(f"/console/organisations/{world.org_a}")).status == 403


async def test_proposed_organisation_waits_for_an_admin(client, world: World) -> None:
    assert await login(client, "coord.a@example.org")
    response = await post(client, "/console/organisations", slug="mae_sot_help", name="Help")
    assert response.status == 303
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    proposed = await org(client, new_id)
    assert (proposed.active, proposed.approved) == (False, False)  # routing skips it
    assert (await post(client, f"/console/organisations/{new_id}/approve")).status == 403
    assert await login(client, "admin@example.org")
    assert (await post(client, f"/console/organisations/{new_id}/approve")).status == 303
    approved = await org(client, new_id)
    assert (approved.active, approved.approved) == (True, True)


def test_differences_from_the_content_file() -> None:
    entry = {
        "name": "MAP Foundation",
        "provinces": ["tak", "chiang_mai"],
        "languages": ["my", "th"],
        "sectors": ["all"],
        "services": ["legal_aid"],
        "contacts": [{"kind": "url", "value": "https://mapfoundationcm.org"}],
    }
    same = Organisation(
        slug="map_foundation",
        name="MAP Foundation",
        provinces=["chiang_mai", "tak"],
        languages=["th", "my"],
        sectors=["all"],
        services=["legal_aid"],
    )
    assert differences(same, entry) == []
    same.languages = ["my"]
    same.public_contacts = ["https://mapfoundationcm.org", "053 000 000"]
    fields = [f for f, _, _ in differences(same, entry)]
    assert fields == ["languages", "public_contacts"]
    assert differences(same, None) == [("entry", "—", "map_foundation")]
