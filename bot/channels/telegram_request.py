"""python-telegram-bot transport over the injected aiohttp session (PTB's `BaseRequest`).

PTB's own HTTPXRequest would open a second connection pool per bot; this keeps one
aiohttp session for the whole service and lets tests point it at the fake server.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.channels.common import may_have_arrived


class AiohttpRequest(BaseRequest):
    """Send Bot API calls as form data (multipart when there are files) via aiohttp."""

    __slots__ = ("_http", "_timeout")

    def __init__(self, http: aiohttp.ClientSession, timeout_s: float = 10.0) -> None:
        self._http = http
        self._timeout = timeout_s

    @property
    def read_timeout(self) -> float | None:
        return self._timeout

    async def initialize(self) -> None:
        """The session belongs to the service, which opens it."""

    async def shutdown(self) -> None:
        """The session belongs to the service, which closes it."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        total = self._timeout
        if not isinstance(read_timeout, DefaultValue) and read_timeout is not None:
            total = read_timeout
        kwargs: dict[str, object] = {"timeout": aiohttp.ClientTimeout(total=total)}
        if request_data is not None:
            if request_data.contains_files:
                form = aiohttp.FormData()
                for key, value in request_data.json_parameters.items():
                    form.add_field(key, value)
                for key, (filename, content, mime) in request_data.multipart_data.items():
                    form.add_field(key, content, filename=filename, content_type=mime)
                kwargs["data"] = form
            else:
                # Form-encoded, values JSON-dumped: what PTB's own HTTPXRequest sends.
                kwargs["data"] = request_data.json_parameters
        try:
            async with self._http.request(method, url, **kwargs) as resp:  # type: ignore[arg-type]
                return resp.status, await resp.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            # TimedOut: Telegram may have carried the call out (the channel does not repeat
            # it); NetworkError: it cannot have (no connection), so a retry is safe.
            if may_have_arrived(exc):
                raise TimedOut(f"no answer from the Telegram API: {type(exc).__name__}") from exc
            raise NetworkError(f"aiohttp error: {type(exc).__name__}") from exc
