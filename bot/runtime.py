"""Building and closing the process's services (database, NLU client, channels)."""

from __future__ import annotations

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Channel
from bot.channels.registry import build_channels
from bot.channels.webchat import WebChatChannel
from bot.config import Settings
from bot.content import Content
from bot.crypto import Vault
from bot.services import Services
from bot.storage.db import check_schema, create_engine, session_factory
from bot.storage.leases import insert_new
from bot.storage.models import Organisation
from nlu.client import RasaClient
from nlu.keywords import KeywordClassifier
from nlu.types import IntentClassifier


def build_classifier(settings: Settings, keywords: KeywordClassifier) -> IntentClassifier:
    return RasaClient(
        urls=list(settings.nlu_urls),
        timeout=settings.nlu_timeout,
        fallback=keywords,
        failure_threshold=settings.breaker_failures,
        cooldown=settings.breaker_cooldown,
    )


async def seed_organisations(session: AsyncSession, content: Content) -> int:
    """Add organisations from content/organisations.yml that the database lacks.

    Existing rows are left alone: once seeded, coordinators keep their entry current.
    Several processes may start at once on a new database, so a slug another process has
    just added is skipped by the database rather than failing start-up.
    """
    known = set((await session.execute(select(Organisation.slug))).scalars())
    rows = [
        {
            "slug": slug,
            "name": str(entry.get("name", slug)),
            "provinces": list(entry.get("provinces", []) or []),
            "languages": list(entry.get("languages", []) or []),
            "sectors": list(entry.get("sectors", []) or []),
            "services": list(entry.get("services", []) or []),
        }
        for slug, entry in content.organisations.items()
        if slug not in known
    ]
    if not rows:
        return 0
    return len(await insert_new(session, Organisation, rows, ("id",)))


async def start_services(
    settings: Settings, classifier: IntentClassifier | None = None
) -> Services:
    engine = create_engine(settings.database_url)
    await check_schema(engine)
    db = session_factory(engine)
    content = Content(settings.content_dir)
    async with db.begin() as session:
        await seed_organisations(session, content)
    keywords = KeywordClassifier.from_content(content.root)
    services = Services(
        settings=settings,
        engine=engine,
        db=db,
        vault=Vault(settings.encryption_keys),
        content=content,
        classifier=classifier or build_classifier(settings, keywords),
        keywords=keywords,
    )
    services.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    services.channels = {"webchat": WebChatChannel(settings.webchat_max_body_bytes)}
    services.channels.update(platform_channels(settings, services))
    return services


def platform_channels(settings: Settings, services: Services) -> dict[str, Channel]:
    return build_channels(settings.raw.get("channels", {}), services.http, services.db)


async def stop_services(services: Services) -> None:
    for channel in services.channels.values():
        await channel.close()
    close = getattr(services.classifier, "close", None)
    if close is not None:
        await close()
    if services.http is not None:
        await services.http.close()
    await services.engine.dispose()
