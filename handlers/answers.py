"""Answers from the toolkit: information topics and the urgent safety steps."""

from __future__ import annotations

from bot.messages import Reply
from handlers.base import Turn, on_postback, postback_argument
from handlers.menus import menu_button, show_menu, topic_button


async def answer_topic(turn: Turn, topic_id: str) -> list[Reply]:
    text = turn.content.topic(turn.language, topic_id)
    if text is None:
        return await show_menu(turn)
    if text.kind == "urgent":
        from handlers.escalation import urgent_response

        return await urgent_response(turn, topic_id)
    body = f"{text.title}\n\n{text.answer}"
    if text.draft and text.language != "en":
        body += f"\n\n({turn.ui('draft_notice')})"
    buttons = tuple(topic_button(turn, t) for t in turn.content.related(topic_id)[:4])
    if topic_id == "trafficking_signs":  # offer the screening (handlers.structured_flows)
        buttons = (turn.button("screening_button", "screening"), *buttons)
    return [Reply(body, (*buttons, menu_button(turn)))]


def safety_text(turn: Turn, topic_id: str) -> str:
    """What to do now and whom to call: said before anything else on an urgent path."""
    text = turn.content.topic(turn.language, topic_id)
    lines: list[str] = []
    if text is not None:
        lines.append(text.title)
        lines += [f"{n}. {step}" for n, step in enumerate(text.steps, start=1)]
    for hotline in turn.content.urgent_hotlines(topic_id):
        lines.append(f"☎ {hotline['number']} {hotline.get('owner', '')}".rstrip())
    if text is not None and text.handover:
        lines.append(text.handover)
    return "\n".join(lines)


@on_postback("topic")
async def topic_postback(turn: Turn) -> list[Reply]:
    return await answer_topic(turn, postback_argument(turn))
