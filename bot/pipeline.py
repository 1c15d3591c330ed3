"""One incoming event, end to end (DESIGN.md "One message, end to end").

normalise -> language -> (volunteer holds it? relay) -> postback or NLU -> handler ->
outbox. Everything for one event happens in one transaction, together with marking the
inbox row done, so a crash at any point leaves the event to be handled again from scratch
and the outbox's idempotency key keeps the reply single.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

import handlers  # registers every handler module (and their command words)
from bot import metrics
from bot.batch import Batch, start_batch
from bot.contacts import recipient_of, sender_of
from bot.messages import EventKind, Incoming, Reply
from bot.outbox import Queued, enqueue
from bot.parse_ahead import Parsed
from bot.parse_early import timed_classify
from bot.services import Services
from handlers.answers import answer_topic
from handlers.base import (
    INTENT_HANDLERS,
    POSTBACK_HANDLERS,
    Turn,
    leave_flow_on_foreign_postback,
    text_flow_handler,
)
from handlers.escalation import relay_to_volunteer, safety_net
from handlers.menus import clarify, show_menu
from handlers.onboarding import privacy_notice_due, welcome
from handlers.privacy import is_quick_exit, quick_exit
from nlu.language import detect_language
from nlu.normalize import has_words, normalize
from nlu.types import Prediction


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # for metrics: text, postback, follow, unsupported, relayed, urgent, ...
    language: str
    replies: int
    nlu_source: str | None = None  # who classified the text: "rasa", "keywords" or nobody
    queued: Queued | None = None  # the reply's outbox row, if one was added


# Words the interface tells people to type ("Type HELP", "Type DELETE") work as buttons,
# in any case and whatever the NLU thinks.
COMMAND_WORDS = {
    "help": "help",
    "delete": "delete",
    "/delete": "delete",
    "menu": "menu",
    "/start": "menu",
}
COMMAND_WORDS.update(handlers.subscriptions.COMMAND_WORDS)  # STOP, SUBSCRIBE, ...


def command_word(text: str) -> str | None:
    """The command a typed word stands for ("HELP", "menu."), if it is one."""
    return COMMAND_WORDS.get(text.casefold().strip(" .!"))


async def handle_event(
    services: Services,
    session: AsyncSession,
    inbox_id: int,
    event: Incoming,
    parsed: Parsed | None = None,
    batch: Batch | None = None,
) -> Outcome:
    """Handle one event in the caller's transaction. `parsed`: the NLU's answer asked
    before the transaction (bot/parse_ahead.py), used if it was for this very text;
    `batch`: what the events handled in this transaction share (bot/batch.py), which the
    caller finishes after the last; without one (or one without this event), the event
    is a batch of its own."""
    if batch is not None and batch.covers(event):
        return await _handle(services, session, inbox_id, event, parsed, batch)
    own = await start_batch(services, session, [(inbox_id, event)])
    outcome = await _handle(services, session, inbox_id, event, parsed, own)
    await own.finish(session)
    return outcome


async def _handle(
    services: Services,
    session: AsyncSession,
    inbox_id: int,
    event: Incoming,
    parsed: Parsed | None,
    batch: Batch,
) -> Outcome:
    contact = batch.contacts[sender_of(event)]
    if event.kind is EventKind.UNFOLLOW:
        contact.active = False
        return Outcome("unfollow", contact.language or "und", 0)
    contact.active = True
    conversation = batch.conversations[contact.id]
    turn = Turn(
        event=event,
        contact=contact,
        conversation=conversation,
        session=session,
        services=services,
        language=contact.language or "en",
        inbox_id=inbox_id,
        parsed=parsed,
        recent_messages=batch.recent.get(inbox_id, 0),
    )
    kind, replies = await _route(turn)
    if not turn.erased:
        batch.log_message(
            {
                "conversation_id": conversation.id,
                "direction": "in",
                "sender": "user",
                "text_enc": services.vault.encrypt_text(turn.text) if turn.text else None,
                "intent": turn.intent,
                "language": turn.language,
            }
        )
    if replies:
        if turn.notices:
            notice = Reply("\n".join(turn.ui(k) for k in turn.notices))
            # On an urgent path the safety steps come first; notices can wait.
            replies = [*replies, notice] if kind == "urgent" else [notice, *replies]
        recipient = recipient_of(services.vault, contact)
        channel = services.channels.get(event.platform)
        queued = await enqueue(
            session,
            services.vault,
            key=f"in:{inbox_id}",
            platform=event.platform,
            recipient=replace(
                recipient,
                language=turn.language,
                contact_id=None if turn.erased else contact.id,
            ),
            conversation_id=None if turn.erased else conversation.id,
            replies=replies,
            reply_token=event.reply_token,
            delivered_when_stored=channel is not None and channel.delivered_when_stored,
            waiting=(event.platform, contact.pseudonym) in batch.waiting,
            deliveries=batch.deliveries,
        )
        return Outcome(kind, turn.language, len(replies), turn.nlu_source, queued)
    return Outcome(kind, turn.language, 0, turn.nlu_source)


async def _route(turn: Turn) -> tuple[str, list[Reply]]:
    event = turn.event
    if event.kind is EventKind.FOLLOW:
        return "follow", await welcome(turn)
    if event.kind is EventKind.UNSUPPORTED:
        if turn.conversation.handler == "human":
            return "relayed", await relay_to_volunteer(turn)
        return "unsupported", [Reply(turn.ui("text_only"), (turn.button("menu_button", "menu"),))]
    if event.kind is EventKind.POSTBACK:
        prefix = event.payload.partition(":")[0]
        leave_flow_on_foreign_postback(turn)
        handler = POSTBACK_HANDLERS.get(prefix, show_menu)
        return "postback", await handler(turn)
    return await _route_text(turn)


async def _route_text(turn: Turn) -> tuple[str, list[Reply]]:
    settings = turn.services.settings
    normalized = normalize(turn.event.text, settings.max_text_chars, settings.zawgyi_threshold)
    turn.text = normalized.text
    if normalized.truncated:
        turn.notices.append("too_long_cut")
    if normalized.was_zawgyi:
        turn.contact.uses_zawgyi = True
        if not turn.contact.zawgyi_notified:
            turn.contact.zawgyi_notified = True
            turn.notices.append("zawgyi_notice")
    # A language the person chose stays, whatever the text looks like: no guess needed
    # (langdetect takes about 4 ms of CPU for a Latin text).
    if not turn.contact.language_chosen:
        guess = detect_language(turn.text, turn.contact.language)
        if guess.language != "und":
            turn.contact.language = guess.language
            turn.language = guess.language
        if guess.other_myanmar_language:
            turn.notices.append("other_myanmar_language")
    if is_quick_exit(turn.text):
        return "quick_exit", await quick_exit(turn)
    privacy_notice_due(turn)

    if turn.conversation.handler == "human":
        # A volunteer holds the conversation: the bot stays silent except for safety lines.
        return "relayed", await relay_to_volunteer(turn)
    if not turn.text:
        return "empty", [Reply(turn.ui("empty_text"), (turn.button("menu_button", "menu"),))]
    if not has_words(turn.text) and text_flow_handler(turn) is None:
        return "menu", await show_menu(turn)
    command = command_word(turn.text)
    if command is not None:
        turn.event = replace(turn.event, payload=command)
        leave_flow_on_foreign_postback(turn)
        return "command", await POSTBACK_HANDLERS[command](turn)
    flow_handler = text_flow_handler(turn)
    if flow_handler is not None:
        # A flow waits for typed text (e.g. where it happened): the text is an answer, not
        # a question, so it skips the NLU. Safety first: the keyword safety net runs before
        # (keywords only; an NLU guess on a place name must not derail the flow).
        urgent = await safety_net(turn, settings.urgent_threshold_keywords)
        if urgent is not None:
            return "urgent", urgent
        return "flow", await flow_handler(turn)
    recent = turn.recent_messages
    limit = settings.max_messages_per_minute
    if recent > limit:
        # A flood is answered once per minute, without the NLU; the keyword safety net
        # still runs, so an urgent message inside a flood is never dropped.
        urgent = await safety_net(turn, settings.urgent_threshold_keywords)
        if urgent is not None:
            return "urgent", urgent
        return "limited", [Reply(turn.ui("rate_limited"))] if recent == limit + 1 else []

    prediction = await _classify(turn)
    turn.intent, turn.confidence = prediction.intent, prediction.confidence
    turn.nlu_source = prediction.source
    turn.ranking = prediction.ranking or ((prediction.intent, prediction.confidence),)

    urgent = await safety_net(turn, settings.urgent_threshold_for(prediction.source))
    if urgent is not None:
        metrics.URGENT.labels(turn.language, prediction.source).inc()
        return "urgent", urgent
    if prediction.confidence < settings.info_threshold:
        return "clarify", await clarify(turn)
    if turn.content.kind(prediction.intent) == "info":
        return "answer", await answer_topic(turn, prediction.intent)
    handler = INTENT_HANDLERS.get(prediction.intent)
    if handler is None:
        return "clarify", await clarify(turn)
    return "dialog", await handler(turn)


async def _classify(turn: Turn) -> Prediction:
    if turn.parsed is not None and turn.parsed.text == turn.text:
        return turn.parsed.prediction
    return await timed_classify(turn.services.classifier, turn.text, turn.language)
