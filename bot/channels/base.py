"""The small interface every platform channel implements.

A webhook request goes: read the raw body (size-bounded) -> `verify` -> `parse` -> inbox.
An outbox row goes: `send` (which renders replies within the platform's limits).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from aiohttp import web

from bot.messages import Delivery, Incoming


class WebhookRejected(Exception):
    """The request is refused; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SendResult:
    """What happened to a delivery.

    ok: delivered. retry_after: a transient failure, try again after that many seconds.
    permanent: never retry (bad request, user blocked the bot, window closed); `reason` says why.
    uncertain: no answer to a call the platform may have carried out (a timeout), and
    repeating it is not safe: the outbox dead-letters the row as "unknown" instead.
    parts_sent: of the delivery's parts (messages or API calls, see the channel), how many
    the platform has taken, counting earlier attempts: a retry starts after them.
    """

    ok: bool
    retry_after: float | None = None
    permanent: bool = False
    reason: str = ""
    uncertain: bool = False
    parts_sent: int = 0


class Channel(ABC):
    name: ClassVar[str]
    max_body_bytes: ClassVar[int] = 1024 * 1024
    # True where storing the reply is the delivery (the web chat's event stream reads sent
    # outbox rows): the worker writes such replies already sent, with no separate send.
    delivered_when_stored: ClassVar[bool] = False

    @abstractmethod
    async def verify(self, request: web.Request, body: bytes) -> None:
        """Raise WebhookRejected(401, ...) unless the body is signed by the platform."""

    @abstractmethod
    def parse(self, body: bytes) -> list[Incoming]:
        """Turn a verified body into events; raise WebhookRejected(400, ...) if malformed.

        Unknown event types are skipped (and counted), never an error.
        """

    @abstractmethod
    async def send(self, delivery: Delivery) -> SendResult:
        """Render the replies within the platform's limits and send them."""

    async def handle_get(self, request: web.Request) -> web.Response:
        """GET on the webhook path (Messenger's verification handshake)."""
        raise web.HTTPMethodNotAllowed("GET", ["POST"])

    async def close(self) -> None:  # noqa: B027 - most channels hold nothing to release
        """Release HTTP sessions."""
