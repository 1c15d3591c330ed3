"""Broadcasts: who is in the audience, platform rules, resuming without sending twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.broadcasts import audience_by_platform, missing_languages, send_due_broadcasts
from bot.storage.models import AuditEvent, Broadcast, ChannelCounter, OutboxMessage, utcnow
from tests.console.support import World, login, post
from tests.reports.support import add_contact
from tests.support import services_of

TEXTS = {lang: f"News in {lang}" for lang in ("en", "th", "my", "km", "lo")}

PEOPLE = [
    # (platform, language, province, topics)
    ("telegram", "my", "tak", ("wage_changes",)),
    ("telegram", "my", "tak", ("wage_changes", "registration_deadlines")),
    ("line", "km", "tak", ("wage_changes",)),
    ("line", "my", "bangkok", ("wage_changes",)),
    ("webchat", "lo", "bangkok", ("registration_deadlines",)),
    ("messenger", "th", None, ("wage_changes",)),
]

AUDIENCE_TABLE = [
    # (topic, province, language, expected per platform)
    ("wage_changes", None, None, {"telegram": 2, "line": 2, "messenger": 1}),
    ("wage_changes", "tak", None, {"telegram": 2, "line": 1}),
    ("wage_changes", None, "my", {"telegram": 2, "line": 1}),
    ("wage_changes", "tak", "km", {"line": 1}),
    ("registration_deadlines", None, None, {"telegram": 1, "webchat": 1}),
    ("registration_deadlines", "bangkok", "lo", {"webchat": 1}),
    ("social_security_changes", None, None, {}),
]


async def add_people(services) -> None:  # type: ignore[no-untyped-def]
    for platform, language, province, topics in PEOPLE:
        await add_contact(
            services, platform=platform, language=language, province=province, topics=topics
        )
    # Opted in but gone: unfollowed, or asked to be forgotten.
    await add_contact(services, topics=("wage_changes",), active=False)


@pytest.mark.parametrize(("topic", "province", "language", "expected"), AUDIENCE_TABLE)
async def test_audience_selection(client, topic, province, language, expected) -> None:
    services = services_of(client)
    await add_people(services)
    async with services.db() as session:
        assert await audience_by_platform(session, topic, province, language) == expected


async def make_broadcast(services, **fields) -> int:  # type: ignore[no-untyped-def]
    async with services.db.begin() as session:
        b = Broadcast(**{"topic": "wage_changes", "texts": TEXTS, "status": "scheduled", **fields})
        session.add(b)
        await session.flush()
        return b.id


async def outbox_keys(services) -> list[str]:  # type: ignore[no-untyped-def]
    async with services.db() as session:
        return list((await session.execute(select(OutboxMessage.idempotency_key))).scalars())


async def test_interrupted_broadcast_resumes_and_sends_each_once(client) -> None:
    services = services_of(client)
    ids = [await add_contact(services, topics=("wage_changes",)) for _ in range(7)]
    broadcast_id = await make_broadcast(services)
    assert await send_due_broadcasts(services, batch=3, max_batches=1) == 3  # then "dies"
    assert len(await outbox_keys(services)) == 3
    async with services.db() as session:
        b = await session.get(Broadcast, broadcast_id)
        assert (b.status, b.enqueued, b.cursor) == ("sending", 3, ids[2])
    # A second worker re-runs the same batch from an old cursor: the keys drop duplicates.
    async with services.db.begin() as session:
        (await session.get(Broadcast, broadcast_id)).cursor = ids[1]
    await send_due_broadcasts(services, batch=3)
    keys = await outbox_keys(services)
    assert sorted(keys) == sorted(f"bc:{broadcast_id}:{i}" for i in ids)
    async with services.db() as session:
        b = await session.get(Broadcast, broadcast_id)
        assert (b.status, b.enqueued, b.audience) == ("done", 7, 7)
    assert await send_due_broadcasts(services, batch=3) == 0
    assert len(await outbox_keys(services)) == 7


async def test_messenger_window_and_line_budget(client) -> None:
    services = services_of(client)
    old = utcnow() - timedelta(hours=30)
    await add_contact(services, platform="messenger", topics=("wage_changes",), last_seen=old)
    await add_contact(services, platform="messenger", topics=("wage_changes",))
    for _ in range(4):
        await add_contact(services, platform="line", topics=("wage_changes",))
    quota = int(services.settings.section("channels.line")["monthly_push_quota"])
    from bot.broadcasts import line_period

    async with services.db.begin() as session:
        session.add(ChannelCounter(platform="line", period=line_period(services), count=quota - 2))
    broadcast_id = await make_broadcast(services)
    await send_due_broadcasts(services, batch=2)
    async with services.db() as session:
        b = await session.get(Broadcast, broadcast_id)
        assert (b.enqueued, b.skipped_window, b.skipped_quota, b.line_budget) == (3, 1, 2, 2)
        platforms = (
            await session.execute(
                select(OutboxMessage.platform, func.count()).group_by(OutboxMessage.platform)
            )
        ).all()
    assert dict(platforms) == {"messenger": 1, "line": 2}


async def test_future_and_draft_broadcasts_wait(client) -> None:
    services = services_of(client)
    await add_contact(services, topics=("wage_changes",))
    await make_broadcast(services, scheduled_at=utcnow() + timedelta(hours=1))
    await make_broadcast(services, status="draft")
    assert await send_due_broadcasts(services) == 0


def test_all_five_languages_are_required() -> None:
    assert missing_languages(TEXTS) == []
    assert missing_languages({**TEXTS, "lo": "  "}) == ["lo"]


async def test_admin_composes_previews_and_schedules(client, world: World) -> None:
    services = services_of(client)
    await add_contact(services, platform="line", topics=("wage_changes",))
    assert await login(client, "admin@example.org")
    fields = {f"text_{k}": v for k, v in TEXTS.items() if k != "lo"}
    response = await post(
        client, "/console/broadcasts", topic="wage_changes", province="", language="", **fields
    )
    assert response.status == 303
    path = response.headers["Location"]
    page = await (await client.get(path)).text()
    assert "Missing: Lao" in page and "LINE: 1 push messages" in page
    assert (await post(client, f"{path}/schedule", at="")).status == 409
    async with services.db.begin() as session:
        b = (await session.execute(select(Broadcast))).scalar_one()
        b.texts = {**TEXTS, "lo": "<b>ລາວ</b>"}
    assert (await post(client, f"{path}/schedule", at="")).status == 303
    page = await (await client.get(path)).text()
    assert "&lt;b&gt;ລາວ&lt;/b&gt;" in page and "Scheduled" in page
    await send_due_broadcasts(services)
    async with services.db() as session:
        actions = set((await session.execute(select(AuditEvent.action))).scalars())
    assert {"broadcast_created", "broadcast_schedule", "view_broadcast"} <= actions


@pytest.mark.parametrize("email", ["vol.a@example.org", "coord.a@example.org"])
async def test_only_admins_broadcast(client, world: World, email) -> None:
    assert await login(client, email)
    assert (await client.get("/console/broadcasts")).status == 403
    response = await post(client, "/console/broadcasts", topic="wage_changes", **TEXTS)
    assert response.status == 403
