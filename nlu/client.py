"""Client of the Rasa NLU servers, with a circuit breaker and a keyword fallback.

``RasaClient`` implements ``nlu.types.IntentClassifier``. It POSTs ``/model/parse`` to
the Rasa replicas in round-robin order (one shared aiohttp session, created lazily),
each replica behind its own circuit breaker: after ``failure_threshold`` consecutive
failures a replica is skipped for ``cooldown`` seconds, then one trial call is let
through (half-open). Within one ``classify`` call the other replicas are tried while the
``timeout`` budget lasts. When no replica answers, the ``KeywordClassifier`` answers and
the prediction has ``source="keywords"``; ``state`` is then ``"degraded"`` until Rasa
answers again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from nlu.keywords import KeywordClassifier
from nlu.types import Prediction

log = logging.getLogger(__name__)

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


@dataclass(slots=True)
class CircuitBreaker:
    failure_threshold: int = 3
    cooldown: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    _trial_in_flight: bool = field(default=False, repr=False)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return CLOSED
        if self.clock() - self.opened_at >= self.cooldown:
            return HALF_OPEN
        return OPEN

    def allow(self) -> bool:
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True  # one trial call at a time
            return True
        return False

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self.failures += 1
        self._trial_in_flight = False
        if self.opened_at is not None or self.failures >= self.failure_threshold:
            self.opened_at = self.clock()  # (re)open; a failed trial restarts the cooldown


class RasaError(Exception):
    pass


class RasaClient:
    def __init__(
        self,
        urls: Sequence[str],
        timeout: float = 2.0,
        fallback: KeywordClassifier | None = None,
        *,
        failure_threshold: int = 3,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("RasaClient needs at least one URL")
        self.urls = [u.rstrip("/") for u in urls]
        self.timeout = timeout
        self.fallback = fallback or KeywordClassifier()
        self.breakers = {u: CircuitBreaker(failure_threshold, cooldown, clock) for u in self.urls}
        self._clock = clock
        self._next = 0
        self._session: aiohttp.ClientSession | None = None
        self._last_source = "rasa"

    # --- session --------------------------------------------------------------------
    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=30),
                headers={"Content-Type": "application/json"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> RasaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- health ---------------------------------------------------------------------
    @property
    def state(self) -> str:
        """ "ok" while Rasa answers; "degraded" when the keyword fallback is answering."""
        all_open = all(b.state == OPEN for b in self.breakers.values())
        return "degraded" if all_open or self._last_source != "rasa" else "ok"

    async def healthy(self) -> bool:
        """True if some replica answers GET /status (does not touch the breakers)."""
        session = self._get_session()
        for url in self.urls:
            try:
                async with session.get(
                    f"{url}/status", timeout=aiohttp.ClientTimeout(total=self.timeout)
                ) as resp:
                    if resp.status == 200:
                        return True
            except (aiohttp.ClientError, TimeoutError):
                continue
        return False

    # --- classification -------------------------------------------------------------
    def _order(self) -> list[str]:
        start = self._next
        self._next = (self._next + 1) % len(self.urls)
        return self.urls[start:] + self.urls[:start]

    async def _parse(self, url: str, text: str, budget: float) -> dict[str, Any]:
        session = self._get_session()
        async with session.post(
            f"{url}/model/parse",
            json={"text": text},
            timeout=aiohttp.ClientTimeout(total=budget),
        ) as resp:
            if resp.status != 200:
                raise RasaError(f"{url}: HTTP {resp.status}")
            return await resp.json(content_type=None)

    async def classify(self, text: str, language: str) -> Prediction:
        if not text.strip():
            return Prediction("out_of_scope", 0.0, (), source="rasa")
        deadline = self._clock() + self.timeout
        for url in self._order():
            budget = deadline - self._clock()
            if budget <= 0:
                break
            breaker = self.breakers[url]
            if not breaker.allow():
                continue
            try:
                data = await self._parse(url, text, budget)
            except (aiohttp.ClientError, TimeoutError, RasaError, ValueError) as exc:
                breaker.record_failure()
                log.warning("nlu: rasa %s failed: %r (breaker %s)", url, exc, breaker.state)
                continue
            breaker.record_success()
            self._last_source = "rasa"
            return to_prediction(data)
        self._last_source = "keywords"
        return self.fallback.predict(text, language)


def to_prediction(data: dict[str, Any]) -> Prediction:
    intent = data.get("intent") or {}
    ranking = tuple(
        (str(r["name"]), float(r["confidence"]))
        for r in data.get("intent_ranking") or []
        if r.get("name")
    )
    name = intent.get("name")
    if not name:
        return Prediction("out_of_scope", 0.0, ranking, source="rasa")
    return Prediction(str(name), float(intent.get("confidence") or 0.0), ranking, source="rasa")
