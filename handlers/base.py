"""What a handler receives and how handlers are found.

A handler turns one turn of the conversation into platform-neutral replies. It may change
the contact or conversation (they are ORM objects inside the turn's transaction).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.messages import Button, Incoming, Reply
from bot.storage.models import Contact, Conversation

if TYPE_CHECKING:
    from bot.parse_ahead import Parsed
    from bot.services import Services


@dataclass
class Turn:
    event: Incoming
    contact: Contact
    conversation: Conversation
    session: AsyncSession
    services: Services
    language: str
    inbox_id: int = 0
    text: str = ""
    intent: str | None = None
    confidence: float = 0.0
    ranking: tuple[tuple[str, float], ...] = ()
    nlu_source: str | None = None  # "rasa" or "keywords" (fallback) when the NLU was asked
    parsed: Parsed | None = None  # the NLU's answer asked before the transaction, if any
    recent_messages: int = 0  # the sender's messages in the last minute, this one included
    notices: list[str] = field(default_factory=list)  # ui keys said before the answer
    erased: bool = False  # the contact erased their data during this turn: log nothing

    @property
    def content(self) -> Content:
        return self.services.content

    def ui(self, key: str, **values: str) -> str:
        return self.content.ui(self.language, key, **values)

    def button(self, key: str, payload: str) -> Button:
        return Button(self.ui(key), payload)


Handler = Callable[[Turn], Awaitable[list[Reply]]]

INTENT_HANDLERS: dict[str, Handler] = {}
POSTBACK_HANDLERS: dict[str, Handler] = {}


def on_intent(*intents: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for intent in intents:
            INTENT_HANDLERS[intent] = handler
        return handler

    return register


def on_postback(*prefixes: str) -> Callable[[Handler], Handler]:
    """Postback payloads look like "prefix" or "prefix:argument"."""

    def register(handler: Handler) -> Handler:
        for prefix in prefixes:
            POSTBACK_HANDLERS[prefix] = handler
        return handler

    return register


def postback_argument(turn: Turn) -> str:
    _, _, argument = turn.event.payload.partition(":")
    return argument


# Flows that wait for typed text (conversation.flow = {"name": ..., "awaits_text": True}):
# bot.pipeline hands such a text to FLOW_TEXT_HANDLERS[name] instead of the NLU, after the
# keyword safety net. FLOW_PREFIXES[name]: the postbacks that belong to the flow; any other
# postback (menu, topic, ...) means the worker left it, and the flow is dropped.
FLOW_TEXT_HANDLERS: dict[str, Handler] = {}
FLOW_PREFIXES: dict[str, frozenset[str]] = {}


def on_flow_text(name: str, prefixes: tuple[str, ...]) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        FLOW_TEXT_HANDLERS[name] = handler
        FLOW_PREFIXES[name] = frozenset(prefixes)
        return handler

    return register


def text_flow_handler(turn: Turn) -> Handler | None:
    flow = turn.conversation.flow or {}
    if not flow.get("awaits_text"):
        return None
    return FLOW_TEXT_HANDLERS.get(str(flow.get("name")))


def leave_flow_on_foreign_postback(turn: Turn) -> None:
    flow = turn.conversation.flow or {}
    name = str(flow.get("name"))
    if name in FLOW_PREFIXES and turn.event.payload.partition(":")[0] not in FLOW_PREFIXES[name]:
        turn.conversation.flow = None
