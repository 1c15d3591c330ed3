"""Workers opt in by button or word, and out in one word."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from bot.outbox import decode_payload
from bot.storage.models import OutboxMessage, Subscription
from tests.support import say, services_of


async def topics(services) -> set[str]:  # type: ignore[no-untyped-def]
    async with services.db() as session:
        return set((await session.execute(select(Subscription.topic))).scalars())


async def last_buttons(services) -> list[str]:  # type: ignore[no-untyped-def]
    async with services.db() as session:
        row = (
            (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())))
            .scalars()
            .first()
        )
        replies = decode_payload(services.vault, row.payload_enc)["replies"]
    return [b.payload for r in replies for b in r.buttons]


async def test_opt_in_by_button_and_out_by_one_word(chat) -> None:
    services = services_of(chat)
    session = str(uuid.uuid4())
    await say(chat, session, payload="lang:km")
    assert "subs" in await last_buttons(services)  # the menu has a News entry
    shown = await say(chat, session, payload="subs")
    assert shown == [services.content.ui("km", "subs_prompt")]
    assert {"sub:wage_changes", "sub:registration_deadlines"} <= set(await last_buttons(services))
    await say(chat, session, payload="sub:wage_changes")
    await say(chat, session, payload="sub:wage_changes")  # twice is still once
    await say(chat, session, payload="sub:social_security_changes")
    assert await topics(services) == {"wage_changes", "social_security_changes"}
    await say(chat, session, payload="subs")
    assert "unsub:wage_changes" in await last_buttons(services)
    await say(chat, session, payload="unsub:wage_changes")
    assert await topics(services) == {"social_security_changes"}
    answer = await say(chat, session, text="STOP")
    assert answer[-1] == services.content.ui("km", "subs_removed")
    assert await topics(services) == set()


async def test_subscribe_word_and_unknown_topic(chat) -> None:
    services = services_of(chat)
    session = str(uuid.uuid4())
    await say(chat, session, payload="lang:en")
    assert (await say(chat, session, text="subscribe"))[-1] == services.content.ui(
        "en", "subs_prompt"
    )
    await say(chat, session, payload="sub:nonsense")
    assert await topics(services) == set()
