"""Wake-ups across processes on PostgreSQL: NOTIFY when events are stored, LISTEN in workers.

A worker in another process than the webhook that stored an event would otherwise find it
only at its next poll (worker.poll_interval_seconds). Polling stays on underneath: a lost
notification or listening connection costs latency, never a message. SQLite (one process
in the embedded default) has no such channel; the web process wakes its own worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import TextClause, text
from sqlalchemy.engine import make_url

from bot.logs import get_logger

log = get_logger("notify")

INBOX_CHANNEL = "bot_inbox"


def notify_inbox() -> TextClause:
    """Run inside the inserting transaction: PostgreSQL delivers it only on commit."""
    return text(f"NOTIFY {INBOX_CHANNEL}")


async def listen(database_url: str, wakeup: asyncio.Event) -> Callable[[], Awaitable[None]] | None:
    """Set `wakeup` on every inbox notification; returns what closes the connection.

    None where there is nothing to listen to (SQLite) or the connection failed (logged).
    """
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    import asyncpg  # here: a SQLite deployment never loads it (3 MB)

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = await asyncpg.connect(dsn, timeout=10)
        await connection.add_listener(INBOX_CHANNEL, lambda *_: wakeup.set())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        log.warning("inbox_listen_failed", error=type(exc).__name__)
        return None
    return connection.close
