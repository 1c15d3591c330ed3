"""Small talk: greetings, thanks, goodbyes, yes/no outside a flow, and "are you a bot"."""

from __future__ import annotations

from bot.messages import Reply
from handlers.base import Turn, on_intent
from handlers.menus import menu_button, show_menu

_SIMPLE = {
    "goodbye": "goodbye",
    "thanks": "thanks",
    "bot_challenge": "bot_challenge",
    "affirm": "affirm_ack",
    "deny": "deny_ack",
    "out_of_scope": "out_of_scope",
}


@on_intent("greet")
async def greet(turn: Turn) -> list[Reply]:
    menu = await show_menu(turn)
    return [Reply(turn.ui("greet")), *menu]


@on_intent(*_SIMPLE)
async def simple_reply(turn: Turn) -> list[Reply]:
    key = _SIMPLE[turn.intent or "out_of_scope"]
    buttons = (menu_button(turn),)
    if turn.intent in ("bot_challenge", "out_of_scope"):
        buttons = (turn.button("menu_help", "help"), menu_button(turn))
    return [Reply(turn.ui(key), buttons)]
