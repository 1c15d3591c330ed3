"""Shared machinery for the fake platform servers: start on 127.0.0.1:0, scripted failures."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Failure:
    status: int = 500
    body: Any = None  # JSON-able; None -> the platform's generic error
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to stall before answering (timeouts)
    paths: tuple[str, ...] = ()  # only requests whose path ends with one of these
    # The platform takes the request as usual (it counts as accepted) and only its answer
    # is `delay` late: the client times out without knowing that it was delivered.
    accept: bool = False
    after: int = 0  # let this many matching requests through first (fail the n+1th)


RAW = web.RequestKey("raw", bytes)
LATE = web.RequestKey("late", float)


class FakeServer:
    """An aiohttp app on a random local port that records what it accepts."""

    def __init__(self) -> None:
        self.app = web.Application(middlewares=[self._keep_body_and_stall])
        # {"path", "json", "headers", "query", "raw", "at"}
        self.accepted: list[dict[str, Any]] = []
        self.rejected: list[tuple[int, str]] = []  # (status, why) for every refused request
        # every scripted failure served: {"path", "failure", "raw", "at"}
        self.failed: list[dict[str, Any]] = []
        # every request, whatever its answer: {"path", "raw", "at"}
        self.requests: list[dict[str, Any]] = []
        self._failures: deque[Failure] = deque()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _keep_body_and_stall(self, request: web.Request, handler: Any) -> web.StreamResponse:
        # The raw body identifies a request and its retries (same bytes) in `accepted` and
        # `failed`; aiohttp caches it, so the handlers still parse it as usual.
        request[RAW] = await request.read()
        self.requests.append(
            {"path": request.path, "raw": request[RAW], "at": asyncio.get_running_loop().time()}
        )
        response = await handler(request)
        if request.get(LATE):
            await asyncio.sleep(request[LATE])
        return response

    def fail_next(self, status: int = 500, times: int = 1, **kwargs: Any) -> None:
        """Answer the next `times` matching requests with this failure instead."""
        for _ in range(times):
            self._failures.append(Failure(status=status, **kwargs))

    @property
    def scripted_left(self) -> int:
        """Scripted failures no request has met yet."""
        return len(self._failures)

    async def scripted(self, request: web.Request) -> web.Response | None:
        """The next scripted failure for this request, if any (after its delay).

        An `accept` failure returns None: the request goes on as usual, answered late.
        """
        if not self._failures:
            return None
        failure = self._failures[0]
        if failure.paths and not request.path.endswith(failure.paths):
            return None
        if failure.after:
            failure.after -= 1
            return None
        self._failures.popleft()
        self.failed.append(
            {
                "path": request.path,
                "failure": failure,
                "raw": request.get(RAW, b""),
                "at": asyncio.get_running_loop().time(),
            }
        )
        if failure.accept:
            request[LATE] = failure.delay
            return None
        if failure.delay:
            await asyncio.sleep(failure.delay)
        body = failure.body if failure.body is not None else self.error_body(failure.status)
        return web.json_response(body, status=failure.status, headers=failure.headers)

    def delivered(self) -> list[tuple[str, str]]:
        """(recipient, text) of every message the platform accepted."""
        raise NotImplementedError

    def error_body(self, status: int) -> Any:
        return {"message": f"scripted {status}"}

    def reject(self, status: int, why: str, body: Any = None) -> web.Response:
        self.rejected.append((status, why))
        return web.json_response(
            body if body is not None else self.error_body_for(status, why), status=status
        )

    def error_body_for(self, status: int, why: str) -> Any:
        return {"message": why}

    def record(self, request: web.Request, data: Any) -> None:
        self.accepted.append(
            {
                "path": request.path,
                "json": data,
                "headers": dict(request.headers),
                "query": dict(request.query),
                "raw": request.get(RAW, b""),
                "at": asyncio.get_running_loop().time(),
            }
        )
