"""Who sees what: a table over roles and organisations."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.storage.models import AuditEvent, Case
from tests.console.support import World, login, post
from tests.support import services_of

# (account, status of case A, status of case B); case A is org A's, case B org B's.
VIEW_TABLE = [
    ("vol.a@example.org", 200, 403),
    ("coord.a@example.org", 200, 403),
    ("vol.b@example.org", 403, 200),
    ("admin@example.org", 200, 200),
]


@pytest.mark.parametrize(("email", "status_a", "status_b"), VIEW_TABLE, ids=lambda v: str(v))
async def test_case_view_by_role(client, world: World, email, status_a, status_b) -> None:
    assert await login(client, email)
    for case_id, expected in ((world.case_a, status_a), (world.case_b, status_b)):
        response = await client.get(f"/console/cases/{case_id}")
        assert response.status == expected, (email, case_id)


@pytest.mark.parametrize(
    ("email", "sees_a", "sees_b"),
    [
        ("vol.a@example.org", True, False),
        ("coord.a@example.org", True, False),
        ("vol.b@example.org", False, True),
        ("admin@example.org", True, True),
    ],
)
async def test_queue_lists_only_visible_cases(client, world: World, email, sees_a, sees_b):
    assert await login(client, email)
    page = await (await client.get("/console/cases")).text()
    assert (f'data-case="{world.case_a}"' in page) is sees_a
    assert (f'data-case="{world.case_b}"' in page) is sees_b


@pytest.mark.parametrize("action", ["claim", "release", "note", "close", "reply", "transfer"])
async def test_actions_on_another_organisations_case_are_forbidden(client, world, action):
    assert await login(client, "vol.b@example.org")
    fields = {"text": "hello", "outcome": "resolved", "organisation": str(world.org_b)}
    response = await post(client, f"/console/cases/{world.case_a}/{action}", **fields)
    assert response.status == 403
    async with services_of(client).db() as session:
        case = await session.get(Case, world.case_a)
        assert case.status == "open" and case.organisation_id == world.org_a
        denied = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "access_denied", AuditEvent.target == f"case:{world.case_a}"
            )
        )
        assert denied is not None


async def test_volunteer_cannot_act_on_a_colleagues_claim_but_coordinator_can(client, world):
    assert await login(client, "vol.a@example.org")
    assert (await post(client, f"/console/cases/{world.case_a}/claim")).status == 303
    assert await login(client, "vol2.a@example.org")
    response = await post(client, f"/console/cases/{world.case_a}/reply", text="hi")
    assert response.status == 403
    assert await login(client, "coord.a@example.org")
    response = await post(client, f"/console/cases/{world.case_a}/release")
    assert response.status == 303
    async with services_of(client).db() as session:
        assert (await session.get(Case, world.case_a)).status == "open"


async def test_transfer_moves_the_case_out_of_sight(client, world):
    assert await login(client, "vol.a@example.org")
    response = await post(
        client, f"/console/cases/{world.case_a}/transfer", organisation=str(world.org_b)
    )
    assert response.status == 303
    assert (await client.get(f"/console/cases/{world.case_a}")).status == 403
    assert await login(client, "vol.b@example.org")
    assert (await client.get(f"/console/cases/{world.case_a}")).status == 200


async def test_signed_out_requests_go_to_the_login(client, world):
    response = await client.get("/console/cases", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/console/login"
    response = await client.get(
        "/console/events", headers={"Accept": "text/event-stream"}, allow_redirects=False
    )
    assert response.status == 401
    response = await client.post(f"/console/cases/{world.case_a}/claim", allow_redirects=False)
    assert response.status in (303, 401)
    async with services_of(client).db() as session:
        assert (await session.get(Case, world.case_a)).status == "open"


async def test_console_speaks_thai_when_asked(client, world):
    assert await login(client, "vol.a@example.org")
    response = await client.get("/console/lang?to=th&next=/console/cases")
    page = await response.text()
    assert "ระบบจัดการเคส" in page and 'lang="th"' in page
    response = await client.get("/console/lang?to=en&next=//evil.example/", allow_redirects=False)
    assert response.headers["Location"] == "/console/cases"
