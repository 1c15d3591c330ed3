"""Reports: aggregates only, k-suppression on distinct contacts, roles, audit, CSV."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.console.auth import Account
from bot.reports import Filters, build, suppressed_rows
from bot.storage.models import AuditEvent
from tests.console.support import World, login
from tests.reports.support import add_case, add_contact
from tests.support import services_of

ADMIN = Account(0, 0, "admin", "Admin", "a@example.org", "x")


def account(role: str, org: int) -> Account:
    return Account(0, org, role, role, f"{role}@example.org", "x")


# (contacts asking about the topic, messages each, shown?)
SUPPRESSION_TABLE = [
    (4, 1, False),
    (5, 1, True),
    (4, 30, False),  # many messages from four people: still four people
    (6, 3, True),
]


@pytest.mark.parametrize(("people", "each", "shown"), SUPPRESSION_TABLE)
async def test_topic_cells_count_distinct_contacts(client, people, each, shown) -> None:
    services = services_of(client)
    for _ in range(people):
        await add_contact(services, questions={"wage_unpaid": each})
    async with services.db() as session:
        report = await build(session, ADMIN, Filters(report="topics"), k=5)
    (cell,) = [c for c in report.totals if c.key == "wage_unpaid"]
    if shown:
        assert (cell.contacts, cell.count) == (people, people * each)
    else:
        assert cell.suppressed and cell.count is None and cell.contacts is None
    (period,) = report.over_time
    assert period.suppressed is not shown


async def test_split_by_dimension_suppresses_each_cell(client) -> None:
    services = services_of(client)
    for province, people in (("tak", 6), ("bangkok", 5), ("phuket", 4)):
        for _ in range(people):
            await add_contact(services, province=province, questions={"wage_minimum": 2})
    async with services.db() as session:
        report = await build(session, ADMIN, Filters(report="topics", by="province"), k=5)
    cells = {c.dim: c for c in report.rows}
    # Phuket (4) is hidden; Bangkok (5) too, or the topic's total minus the shown cells
    # would give Phuket's count back.
    assert cells["tak"].contacts == 6 and cells["tak"].count == 12
    assert cells["phuket"].suppressed and cells["bangkok"].suppressed
    assert cells["phuket"].count is None and cells["bangkok"].count is None
    assert report.totals[0].contacts == 15 and report.totals[0].count == 30


# (contacts per cell of one group, k, cells hidden)
SECONDARY_TABLE = [
    ([10, 9, 8], 5, set()),
    ([10, 9, 4], 5, {1, 2}),  # one small cell: the next smallest goes with it
    ([10, 3, 2], 5, {1, 2}),  # two small cells holding 5 together: enough
    ([10, 2, 1], 5, {0, 1, 2}),  # 3 hidden contacts are not enough: hide the rest too
    ([4], 5, {0}),
    ([5], 5, set()),
]


@pytest.mark.parametrize(("contacts", "k", "hidden"), SECONDARY_TABLE)
def test_secondary_suppression(contacts, k, hidden) -> None:
    assert suppressed_rows([("g", n) for n in contacts], k) == hidden


def test_groups_are_suppressed_separately() -> None:
    cells = [("a", 10), ("a", 4), ("b", 7), ("b", 8)]
    assert suppressed_rows(cells, 5) == {0, 1}


async def test_case_reports_and_coordinator_scope(client, world: World) -> None:
    services = services_of(client)
    for i in range(5):
        contact = await add_contact(services)
        await add_case(services, world.org_a, contact, outcome="resolved", reply_minutes=10 + i)
    for _ in range(5):
        contact = await add_contact(services)
        await add_case(services, world.org_b, contact, outcome="referred", reply_minutes=30)
    async with services.db() as session:
        outcomes_a = await build(
            session, account("coordinator", world.org_a), Filters("outcomes"), 5
        )
        outcomes_all = await build(session, ADMIN, Filters("outcomes"), 5)
        first = await build(session, ADMIN, Filters("first_reply"), 5)
        urgent = await build(session, ADMIN, Filters("urgent", by="channel"), 5)
    assert {c.key: c.count for c in outcomes_a.totals} == {"resolved": 5}
    assert {c.key: c.count for c in outcomes_all.totals} == {"resolved": 5, "referred": 5}
    (kind,) = first.totals
    assert kind.key == "urgent" and kind.count == 10 and abs(kind.minutes - 21.0) < 0.1
    # world's own two cases have other contacts: 12 urgent cases from 12 contacts
    assert sum(c.count or 0 for c in urgent.totals) == 12


async def test_volunteer_cannot_build_a_report(client) -> None:
    async with services_of(client).db() as session:
        with pytest.raises(PermissionError):
            await build(session, account("volunteer", 1), Filters(), 5)


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("vol.a@example.org", 403),
        ("coord.a@example.org", 200),
        ("admin@example.org", 200),
    ],
)
@pytest.mark.parametrize("path", ["/console/reports", "/console/reports.csv"])
async def test_report_pages_by_role(client, world: World, email, status, path) -> None:
    assert await login(client, email)
    response = await client.get(path)
    assert response.status == status
    async with services_of(client).db() as session:
        actions = (await session.execute(select(AuditEvent.action))).scalars().all()
    if status == 403:
        assert "access_denied" in actions
    else:
        assert ("export_report" if path.endswith(".csv") else "view_report") in actions


async def test_page_and_csv_show_suppressed_cells_only_as_less_than_k(client, world) -> None:
    services = services_of(client)
    for _ in range(6):
        await add_contact(services, questions={"wage_unpaid": 2})
    for _ in range(5):
        await add_contact(services, questions={"ss_medical": 1})
    for _ in range(3):
        await add_contact(services, questions={"work_permit": 1})
    assert await login(client, "admin@example.org")
    page = await (await client.get("/console/reports?report=topics")).text()
    assert "<svg" in page and "&lt;5" in page
    assert "secret question text" not in page
    wage = services.content.title("en", "wage_unpaid")
    permit = services.content.title("en", "work_permit")
    csv_text = await (await client.get("/console/reports.csv?report=topics&table=main")).text()
    lines = csv_text.strip().splitlines()
    assert lines[0] == "topic,count,contacts"
    assert f"{wage},12,6" in lines
    assert f"{permit},<5,<5" in lines or f'"{permit}",<5,<5' in lines
    medical = services.content.title("en", "ss_medical")  # hidden with it (secondary)
    assert f"{medical},<5,<5" in lines or f'"{medical}",<5,<5' in lines
    time_csv = await (await client.get("/console/reports.csv?report=topics&table=time")).text()
    assert time_csv.splitlines()[1].endswith(",20,14")


async def test_k_is_a_setting(client) -> None:
    services = services_of(client)
    for _ in range(3):
        await add_contact(services, questions={"wage_unpaid": 1})
    async with services.db() as session:
        assert not (await build(session, ADMIN, Filters(), k=3)).totals[0].suppressed
        assert (await build(session, ADMIN, Filters(), k=4)).totals[0].suppressed
