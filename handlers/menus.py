"""The topic menu, its groups, and the clarifying question when the NLU is unsure."""

from __future__ import annotations

from bot.messages import Button, Reply
from handlers.base import Turn, on_intent, on_postback, postback_argument
from nlu.types import LANGUAGES


def menu_button(turn: Turn) -> Button:
    return turn.button("menu_button", "menu")


def topic_button(turn: Turn, topic_id: str) -> Button:
    return Button(turn.content.title(turn.language, topic_id), f"topic:{topic_id}")


@on_intent("menu")
@on_postback("menu")
async def show_menu(turn: Turn) -> list[Reply]:
    group_id = postback_argument(turn) if turn.event.payload.startswith("menu") else ""
    for group in turn.content.menu_groups:
        if group["id"] == group_id:
            buttons = [topic_button(turn, t) for t in group["topics"] if t in turn.content.meta]
            if group_id == "safety":  # the structured flows (handlers.structured_flows)
                buttons += [
                    turn.button("report_button", "report"),
                    turn.button("screening_button", "screening"),
                ]
            return [Reply(turn.ui(group["label"]), (*buttons, menu_button(turn)))]
    buttons = [turn.button(g["label"], f"menu:{g['id']}") for g in turn.content.menu_groups]
    buttons += [turn.button("menu_help", "help"), turn.button("language_button", "language")]
    buttons.append(turn.button("subs_button", "subs"))  # news opt-in (handlers.subscriptions)
    return [Reply(turn.ui("menu_prompt"), tuple(buttons))]


async def clarify(turn: Turn) -> list[Reply]:
    """Low confidence: offer the top three topics instead of guessing."""
    candidates = [
        intent for intent, _ in turn.ranking if turn.content.kind(intent) in ("info", "urgent")
    ][:3]
    if not candidates:
        return await show_menu(turn)
    buttons = (*(topic_button(turn, t) for t in candidates), menu_button(turn))
    return [Reply(turn.ui("clarify"), buttons)]


def language_buttons(turn: Turn) -> tuple[Button, ...]:
    # Each language name is written in its own script, the same in every ui file.
    return tuple(
        Button(turn.content.ui(lang, f"lang_{lang}"), f"lang:{lang}") for lang in LANGUAGES
    )
