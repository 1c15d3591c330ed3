"""Structured JSON logs. A processor drops any field that could carry personal data.

Library loggers (stdlib logging) go through the same processors and renderer, so every
line is one JSON object.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO


@contextmanager
def _rich_hidden() -> Iterator[None]:
    """While structlog is first imported, `import rich` fails.

    structlog.dev imports rich, where it is installed, for the tracebacks of its console
    renderer, which these JSON logs never use; with the Pygments lexers rich imports, that
    was 3 MB and 67 modules in every process (rich comes with pip-audit, a dev dependency,
    which `make run` installs). Nothing else changes: rich stays importable afterwards.
    """
    if "rich" in sys.modules or "structlog" in sys.modules:
        yield
        return
    sys.modules["rich"] = None  # type: ignore[assignment]  # `import rich` -> ImportError
    try:
        yield
    finally:
        del sys.modules["rich"]


with _rich_hidden():
    import structlog

# Fields that must never reach a log line, whatever a caller passes.
FORBIDDEN_FIELDS = frozenset(
    {"text", "message_text", "user_id", "raw_user_id", "name", "phone", "payload", "address"}
)


QUIET_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "asyncpg", "aiohttp.access")


def drop_personal_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in FORBIDDEN_FIELDS & event_dict.keys():
        event_dict[key] = "[removed]"
    return event_dict


SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    drop_personal_fields,
]


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """JSON lines to `stream` (stdout by default; `bot classify` keeps stdout for data)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=SHARED_PROCESSORS,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic announces its dialect on every schema check; that is not news.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Whatever the level, these would write personal data: SQL with its parameters
    # (event ids hold web chat session ids) and access lines (client IP, query strings
    # such as /chat/events?session=...). tests/privacy/test_no_personal_data_in_logs.py
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*SHARED_PROCESSORS, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
