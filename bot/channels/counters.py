"""Usage counters per (platform, period), e.g. LINE push messages per month.

The channel depends only on the `UsageCounter` protocol. `MemoryCounter` is for tests and
a single process; production needs the database-backed counter so that several `web` and
`worker` processes agree (see `bot.channels.registry`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.storage.leases import dialect_insert
from bot.storage.models import ChannelCounter


class UsageCounter(Protocol):
    async def get(self, platform: str, period: str) -> int:
        """How many were counted in this period."""
        ...

    async def add(self, platform: str, period: str, n: int = 1) -> int:
        """Count `n` more and return the new total."""
        ...


class MemoryCounter:
    """In-process counter: fine for tests and the single-process embedded default."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = asyncio.Lock()

    async def get(self, platform: str, period: str) -> int:
        return self._counts.get((platform, period), 0)

    async def add(self, platform: str, period: str, n: int = 1) -> int:
        async with self._lock:
            total = self._counts.get((platform, period), 0) + n
            self._counts[(platform, period)] = total
            return total


class SqlCounter:
    """Counter in the `channel_counters` table: one atomic upsert per increment."""

    def __init__(self, db: async_sessionmaker[Any]) -> None:
        self.db = db

    async def get(self, platform: str, period: str) -> int:
        async with self.db() as session:
            value = await session.scalar(
                select(ChannelCounter.count).where(
                    ChannelCounter.platform == platform, ChannelCounter.period == period
                )
            )
        return int(value or 0)

    async def add(self, platform: str, period: str, n: int = 1) -> int:
        async with self.db.begin() as session:
            dialect = session.bind.dialect.name if session.bind else "sqlite"
            insert = dialect_insert(dialect)
            statement = insert(ChannelCounter).values(platform=platform, period=period, count=n)
            statement = statement.on_conflict_do_update(
                index_elements=[ChannelCounter.platform, ChannelCounter.period],
                set_={"count": ChannelCounter.count + n},
            ).returning(ChannelCounter.count)
            return int((await session.execute(statement)).scalar_one())
