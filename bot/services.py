"""What the pipeline and handlers share: built once per process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.channels.base import Channel
from bot.config import Settings
from bot.content import Content
from bot.crypto import Vault
from bot.inbox import InboxWriter
from bot.parse_early import EarlyParses
from nlu.keywords import KeywordClassifier
from nlu.types import IntentClassifier


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    db: async_sessionmaker
    vault: Vault
    content: Content
    classifier: IntentClassifier
    keywords: KeywordClassifier  # the safety net, checked on every message
    channels: dict[str, Channel] = field(default_factory=dict)
    http: aiohttp.ClientSession | None = None
    # Set when a webhook of this process stored new events, or on PostgreSQL when any
    # process did (bot.storage.notify): an idle worker starts at once, not at its next poll.
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    inbox_writer: InboxWriter = field(init=False)  # the webhooks' group commit
    # Questions sent to the NLU by the webhook, for the worker of the same process.
    early_parses: EarlyParses | None = None

    def __post_init__(self) -> None:
        self.inbox_writer = InboxWriter(self.db, self.vault, self.settings.pseudonym_key)
