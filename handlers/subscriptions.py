"""Opting in to broadcasts (bot.broadcasts) and out again in one word.

Postbacks: "subs" shows the topics, "sub:<topic>" opts in, "unsub" opts out of everything,
"unsub:<topic>" out of one topic. Words: SUBSCRIBE / NEWS, STOP / UNSUBSCRIBE (see
`COMMAND_WORDS`, read by bot.pipeline). A subscription follows the contact's language and
province, so changing either changes which broadcasts reach them.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.broadcasts import TOPICS
from bot.messages import Button, Reply
from bot.storage import leases
from bot.storage.models import Subscription
from handlers.base import Turn, on_postback, postback_argument

# Exact words (case-folded) that act like the postback of the same value.
COMMAND_WORDS = {
    "stop": "unsub",
    "unsubscribe": "unsub",
    "subscribe": "subs",
    "news": "subs",
}


async def subscribed(turn: Turn) -> set[str]:
    rows = await turn.session.execute(
        select(Subscription.topic).where(Subscription.contact_id == turn.contact.id)
    )
    return set(rows.scalars().all())


def topic_name(turn: Turn, topic: str) -> str:
    return turn.ui(f"subs_topic_{topic}")


@on_postback("subs")
async def show_subscriptions(turn: Turn) -> list[Reply]:
    mine = await subscribed(turn)
    buttons = [
        Button(
            turn.ui("subs_off_button", topic=topic_name(turn, t))
            if t in mine
            else turn.ui("subs_on_button", topic=topic_name(turn, t)),
            f"unsub:{t}" if t in mine else f"sub:{t}",
        )
        for t in TOPICS
    ]
    if mine:
        buttons.append(turn.button("subs_stop_button", "unsub"))
    buttons.append(turn.button("menu_button", "menu"))
    return [Reply(turn.ui("subs_prompt"), tuple(buttons))]


@on_postback("sub")
async def subscribe(turn: Turn) -> list[Reply]:
    topic = postback_argument(turn)
    if topic not in TOPICS:
        return await show_subscriptions(turn)
    await turn.session.flush()  # the contact row must exist before the subscription
    await leases.insert_new(
        turn.session, Subscription, [{"contact_id": turn.contact.id, "topic": topic}]
    )
    return [
        Reply(
            turn.ui("subs_added", topic=topic_name(turn, topic)),
            (turn.button("subs_more_button", "subs"), turn.button("menu_button", "menu")),
        )
    ]


@on_postback("unsub")
async def unsubscribe(turn: Turn) -> list[Reply]:
    topic = postback_argument(turn)
    query = delete(Subscription).where(Subscription.contact_id == turn.contact.id)
    if topic in TOPICS:
        query = query.where(Subscription.topic == topic)
    await turn.session.execute(query)
    key = "subs_removed_one" if topic in TOPICS else "subs_removed"
    return [
        Reply(
            turn.ui(key, topic=topic_name(turn, topic) if topic in TOPICS else ""),
            (turn.button("subs_more_button", "subs"), turn.button("menu_button", "menu")),
        )
    ]
