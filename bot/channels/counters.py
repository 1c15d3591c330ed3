"""Usage counters per (platform, period), e.g. LINE push messages per month.

The channel depends only on the `UsageCounter` protocol. `MemoryCounter` is for tests and
a single process; production needs the database-backed counter so that several `web` and
`worker` processes agree (see `bot.channels.registry`).
"""

from __future__ import annotations

import asyncio
from typing import Protocol


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
