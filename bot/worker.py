"""Drains the inbox (events -> pipeline -> outbox) and the outbox (-> channels)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import inbox, metrics, outbox
from bot.batch import Batch, start_batch
from bot.broadcasts import send_due_broadcasts
from bot.channels.base import SendResult
from bot.console.reroute import reroute_unclaimed
from bot.logs import get_logger
from bot.messages import Delivery, Incoming
from bot.parse_ahead import Parsed, parse_ahead
from bot.pipeline import Outcome, command_word, handle_event
from bot.retention import RetentionTimer
from bot.services import Services
from bot.storage import leases, notify
from bot.storage.leases import Claimed
from bot.storage.models import InboxEvent, OutboxMessage

log = get_logger("worker")

PERIODIC_JOBS_SECONDS = 60.0
# How often the sender looks for rows whose sender died mid-send. Such a row is only
# found after its lease (worker.lease_seconds) ran out anyway; looking on every round cost
# two UPDATE statements per round, about one per handled event under load.
INTERRUPTED_SENDS_SECONDS = 1.0

# Channels whose send can be repeated safely after a crash mid-send (see bot.outbox).
IDEMPOTENT_PLATFORMS = {"line", "webchat"}


class LostLease(Exception):
    """Another worker took the row over; this worker's work is rolled back."""


@dataclass(slots=True)
class ClaimedBatch:
    claimed: list[Claimed]
    events: dict[int, Incoming]  # those that decode
    parsing: asyncio.Task[dict[int, Parsed]]  # Rasa's answers, asked as soon as claimed


class Worker:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.retention = RetentionTimer(services)
        self._next_interrupted_check = 0.0
        self._ahead: ClaimedBatch | None = None  # claimed while the previous batch was handled
        # How many events a handling transaction takes on (see `_handle_batch`).
        self._fits = self.settings.worker_batch_size

    async def run(self, stop: asyncio.Event) -> None:
        close_listener = await notify.listen(self.settings.database_url, self.services.wakeup)
        log.info("worker_started", listening=close_listener is not None)
        try:
            await self._loop(stop)
            if self._ahead is not None:  # claimed already: handled now, not after its lease
                await self.process_inbox_once(claim_ahead=False)
        finally:
            if close_listener is not None:
                await close_listener()
        log.info("worker_stopped")

    async def _loop(self, stop: asyncio.Event) -> None:
        next_jobs = 0.0
        woken = True  # the first round claims without asking
        while not stop.is_set():
            handled = sent = 0
            try:
                if time.monotonic() >= next_jobs:
                    await self.run_periodic_jobs()
                    next_jobs = time.monotonic() + PERIODIC_JOBS_SECONDS
                # An idle poll asks first with one read: the claims it replaces are writes
                # that take SQLite's lock, five times a second (an idle `bot run`: 78-85 ms of
                # CPU a second before, 18-22 after).
                if woken or await self.work_due():
                    # What was stored before this point is seen by this round's claim.
                    self.services.wakeup.clear()
                    handled = await self.process_inbox_once()
                    sent = await self.send_outbox_once()
                await self.retention.maybe_run()  # at most once per interval
            except Exception as exc:  # keep draining: one bad cycle must not stop the worker
                metrics.ERRORS.labels("worker_cycle").inc()
                log.error("worker_cycle_failed", error=type(exc).__name__)
            if handled or sent:
                woken = self._claim_again_at_once(handled, sent)  # else: a read first
            else:
                woken = await self._idle(stop)

    def _claim_again_at_once(self, handled: int, sent: int) -> bool:
        """After some work: claim again at once, or first ask with one read (`work_due`).

        After batches that were not full the queues are most likely empty, and claiming
        at once cost two write transactions that found nothing (inbox and outbox): per
        message, at moderate rates. The read finds what is still due (a sender's next
        event, held back while the previous one was busy; rows stored meanwhile) as
        surely, without waiting for the poll. A batch claimed ahead is handled at once.
        """
        full = self.settings.worker_batch_size
        return self._ahead is not None or handled >= full or sent >= full

    async def work_due(self) -> bool:
        async with self.services.db() as session:
            return await leases.any_ready(
                session, {InboxEvent: inbox.BUSY_STATE, OutboxMessage: outbox.BUSY_STATE}
            )

    async def _idle(self, stop: asyncio.Event) -> bool:
        """Wait for the poll interval, a wake-up (events stored by this process's webhooks
        or, on PostgreSQL, notified by any process), or stop; True if woken."""
        wakeup = self.services.wakeup
        if not wakeup.is_set():
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
            try:
                await asyncio.wait(
                    waiters,
                    timeout=self.settings.worker_poll_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()
        woken = wakeup.is_set()
        wakeup.clear()
        return woken

    async def run_periodic_jobs(self) -> None:
        """Jobs that are safe to run in every worker at once (each claims its own rows)."""
        rerouted = await reroute_unclaimed(self.services)
        if rerouted:
            log.info("urgent_cases_rerouted", count=rerouted)
        walked = await send_due_broadcasts(self.services)
        if walked:
            log.info("broadcast_batches_enqueued", contacts=walked)

    async def drain(self, max_rounds: int = 10_000) -> None:
        """Work until both queues have nothing ready (used by tests and `bot classify`)."""
        for _ in range(max_rounds):
            if await self.process_inbox_once() == 0 and await self.send_outbox_once() == 0:
                return

    async def process_inbox_once(self, claim_ahead: bool = True) -> int:
        """Handle one claimed batch; how many events it held.

        Under load the next batch is claimed and its questions go to Rasa before this one
        is handled, so that Rasa parses the next batch while this worker writes the
        current one instead of each waiting for the other. The claim keeps one sender's
        events in order: it skips a sender with an older event still busy. A batch of one
        means the worker keeps up: a claim ahead would most likely find nothing, and its
        transaction would only delay this event (overhead p50 +4 ms, p99 × 2 at 4/s).
        """
        batch = self._ahead or await self._claim_batch()
        self._ahead = None
        if batch is None:
            return 0
        try:
            if claim_ahead and len(batch.claimed) > 1:
                self._ahead = await self._claim_batch()
        except Exception as exc:  # this batch is claimed: it is handled all the same
            log.warning("inbox_claim_ahead_failed", error=type(exc).__name__)
        try:
            parsed = await batch.parsing
        except Exception as exc:  # the pipeline then asks the NLU itself, event by event
            log.warning("parse_ahead_failed", error=type(exc).__name__)
            parsed = {}
        remaining = batch.claimed
        while remaining:
            remaining = await self._handle_batch(remaining, batch.events, parsed)
        return len(batch.claimed)

    async def _claim_batch(self) -> ClaimedBatch | None:
        # The claim commits on its own: the attempt is counted even if this process dies
        # while handling (an event that keeps killing workers ends up dead, not looping).
        await self.services.inbox_writer.settled()
        async with self.services.db.begin() as session:
            claimed = await inbox.claim(
                session, self.settings.worker_batch_size, self.settings.worker_lease_seconds
            )
        if not claimed:
            return None
        events = decodable_events(self.services, claimed)
        parsing = asyncio.create_task(parse_ahead(self.services, events, command_word))
        return ClaimedBatch(claimed, events, parsing)

    async def _handle_batch(
        self, claimed: list[Claimed], events: dict[int, Incoming], parsed: dict[int, Parsed]
    ) -> list[Claimed]:
        """Handle claimed events in one transaction; returns those left for the next one.

        One commit (one fsync) for many events instead of one each. The transaction stops
        taking events after `worker.batch_seconds`, so it never holds SQLite's write lock
        (or the contacts' row locks) for long. If any event fails or lost its lease, the
        whole transaction is rolled back and those events are handled again one per
        transaction, so one failing event never takes the others down with it. That costs
        a redo only when something failed, where a SAVEPOINT per event would cost two more
        statements on every event (and pysqlite, which begins a transaction only at the
        first write, would turn a SAVEPOINT that comes first into a commit of its own).
        """
        handled: list[tuple[int, Outcome, str]] = []
        await self.services.inbox_writer.settled()
        # The batch's first reads cover every event the transaction takes on, so it takes on
        # no more than the last one found time for: a transaction cut by its deadline has
        # read the rest for nothing (the next one reads them again, under its own locks).
        chunk = claimed[: self._fits]
        deadline = time.monotonic() + self.settings.worker_batch_seconds
        try:
            async with self.services.db.begin() as session:
                batch = await start_batch(self.services, session, events_of(chunk, events))
                for row in chunk:
                    event, outcome = await self._handle_in(session, row, events, parsed, batch)
                    handled.append((row.row_id, outcome, event.platform))
                    if time.monotonic() >= deadline:
                        break
                in_time = time.monotonic() < deadline
                await batch.finish(session)
                await self._mark_done(session, claimed[: len(handled)])
        except Exception as exc:
            taken = chunk[: len(handled) + 1]
            log.info("inbox_batch_redone", events=len(taken), error=type(exc).__name__)
            for row in taken:
                await self._handle(row, events, parsed)
            return claimed[len(taken) :]
        for row_id, outcome, platform in handled:
            self._handled(row_id, outcome, platform)
        if len(handled) < len(chunk):  # cut by the deadline
            self._fits = len(handled)
        elif in_time:  # room to spare: take on more again
            self._fits = min(2 * self._fits, self.settings.worker_batch_size)
        return claimed[len(handled) :]

    async def _handle_in(
        self,
        session: AsyncSession,
        row: Claimed,
        events: dict[int, Incoming],
        parsed: dict[int, Parsed],
        batch: Batch | None = None,
    ) -> tuple[Incoming, Outcome]:
        # An event that did not decode before is decoded here, where its failure is
        # recorded on its own row like any failing event's.
        event = events.get(row.row_id) or inbox.decode_event(self.services.vault, row.payload_enc)
        outcome = await handle_event(
            self.services, session, row.row_id, event, parsed.get(row.row_id), batch
        )
        return event, outcome

    async def _mark_done(self, session: AsyncSession, rows: list[Claimed]) -> None:
        """In the handling transaction, after all its events: one statement, not one each."""
        if not await inbox.mark_done(session, rows):
            raise LostLease

    async def _handle(
        self, row: Claimed, events: dict[int, Incoming], parsed: dict[int, Parsed]
    ) -> None:
        """One event in a transaction of its own; a failure is recorded on its row."""
        row_id = row.row_id
        try:
            async with self.services.db.begin() as session:
                event, outcome = await self._handle_in(session, row, events, parsed)
                await self._mark_done(session, [row])
            self._handled(row_id, outcome, event.platform)
        except LostLease:
            log.warning("inbox_lease_lost", inbox_id=row_id)
        except Exception as exc:
            metrics.ERRORS.labels("pipeline").inc()
            log.error("inbox_event_failed", inbox_id=row_id, error=type(exc).__name__)
            async with self.services.db.begin() as session:
                state = await inbox.mark_failed(
                    session,
                    row_id,
                    row.lease_end,
                    type(exc).__name__,
                    max_attempts=self.settings.worker_max_attempts,
                    base=self.settings.backoff_base,
                    cap=self.settings.backoff_max,
                )
            log.info("inbox_event_released", inbox_id=row_id, state=state)

    def _handled(self, row_id: int, outcome: Outcome, platform: str) -> None:
        """Logs and metrics of a committed event (and of its reply, if already delivered)."""
        metrics.MESSAGES_HANDLED.labels(platform, outcome.language, outcome.kind).inc()
        # `nlu` tells, per message, whether Rasa or the keyword fallback answered.
        log.info("inbox_event_handled", inbox_id=row_id, kind=outcome.kind, nlu=outcome.nlu_source)
        queued = outcome.queued
        if queued is not None and queued.sent and queued.outbox_id is not None:
            log.info("outbox_sent", outbox_id=queued.outbox_id, platform=platform)
            metrics.MESSAGES_OUT.labels(platform, outcome.language, "bot").inc()

    async def send_outbox_once(self) -> int:
        await self.services.inbox_writer.settled()
        async with self.services.db.begin() as session:
            if time.monotonic() >= self._next_interrupted_check:
                await outbox.expire_interrupted(session, IDEMPOTENT_PLATFORMS)
                self._next_interrupted_check = time.monotonic() + INTERRUPTED_SENDS_SECONDS
            claimed = await outbox.claim(
                session, self.settings.worker_batch_size, self.settings.worker_lease_seconds
            )
        # Each claimed row has a different recipient, so they may go out side by side.
        await asyncio.gather(*(self._send(row.row_id, row.lease_end) for row in claimed))
        return len(claimed)

    async def _send(self, row_id: int, lease_end: datetime) -> None:
        vault = self.services.vault
        async with self.services.db() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None:
                return
            data = outbox.decode_payload(vault, row.payload_enc)
            conversation_id = row.conversation_id
            delivery = Delivery(
                outbox_id=row.id,
                idempotency_key=row.idempotency_key,
                platform=row.platform,
                user_id=data["user_id"],
                address=data["address"],
                replies=data["replies"],
                reply_token=row.reply_token,
                sender=row.sender,
                language=data["language"],
                user_last_seen=data["last_seen"],
                attempts=row.attempts,
                parts_sent=row.parts_sent,
            )
        channel = self.services.channels.get(delivery.platform)
        result: SendResult | None = None
        if channel is None:
            result = SendResult(ok=False, permanent=True, reason="channel_not_configured")
        else:
            try:
                result = await channel.send(delivery)
            except Exception as exc:
                metrics.SEND_FAILURES.labels(delivery.platform, "exception").inc()
                log.error("send_failed", outbox_id=row_id, error=type(exc).__name__)
        async with self.services.db.begin() as session:
            if result is not None and result.ok:
                await outbox.mark_sent(session, row_id, lease_end)
                log.info("outbox_sent", outbox_id=row_id, platform=delivery.platform)
                if conversation_id is not None:
                    sent = outbox.SentLog(
                        conversation_id, delivery.sender, delivery.replies, delivery.language
                    )
                    outbox.log_sent(session, vault, sent)
                metrics.MESSAGES_OUT.labels(
                    delivery.platform, delivery.language, delivery.sender
                ).inc()
                return
            if result is not None and result.permanent:
                metrics.SEND_FAILURES.labels(delivery.platform, "permanent").inc()
                await outbox.mark_dead(session, row_id, lease_end, result.reason or "permanent")
                return
            # Progress never goes back: a result that does not count parts keeps the old one.
            parts_sent = max(result.parts_sent if result else 0, delivery.parts_sent)
            if result is not None and result.uncertain:
                metrics.SEND_FAILURES.labels(delivery.platform, "uncertain").inc()
                log.warning("outbox_send_uncertain", outbox_id=row_id, platform=delivery.platform)
                await outbox.mark_unknown(session, row_id, lease_end, result.reason, parts_sent)
                return
            if delivery.attempts >= self.settings.worker_max_attempts:
                await outbox.mark_dead(session, row_id, lease_end, "too_many_attempts")
                return
            metrics.SEND_FAILURES.labels(delivery.platform, "retry").inc()
            delay = leases.backoff_seconds(
                delivery.attempts, self.settings.backoff_base, self.settings.backoff_max
            )
            if result is not None and result.retry_after is not None:
                delay = max(delay, result.retry_after)
            reason = (result.reason if result else "exception") or "retry"
            await outbox.mark_retry(session, row_id, lease_end, delay, reason, parts_sent)


# Rows still waiting, busy or dead-lettered. Finished rows ("done", "sent") are history that
# grows without bound: counting them made every /healthz and /metrics scan the whole table
# (O(rows); ~50 ms at 100k), while these states are an index range scan on (state, ...).
QUEUE_STATES = {
    "inbox": ("pending", "processing", "dead"),
    "outbox": ("pending", "sending", "dead", "unknown"),
}


async def queue_depths(services: Services) -> dict[tuple[str, str], int]:
    # Every state is reported, zeros included, so a gauge never keeps a stale value.
    depths = {(name, state): 0 for name, states in QUEUE_STATES.items() for state in states}
    async with services.db() as session:
        for name, model in (("inbox", InboxEvent), ("outbox", OutboxMessage)):
            rows = await session.execute(
                select(model.state, func.count())
                .where(model.state.in_(QUEUE_STATES[name]))
                .group_by(model.state)
            )
            for state, count in rows.all():
                depths[(name, state)] = count
    for (name, state), count in depths.items():
        metrics.QUEUE_DEPTH.labels(name, state).set(count)
    return depths


def events_of(claimed: list[Claimed], events: dict[int, Incoming]) -> list[tuple[int, Incoming]]:
    """The decoded events of these claimed rows, in order, with their inbox ids."""
    return [(row.row_id, events[row.row_id]) for row in claimed if row.row_id in events]


def decodable_events(services: Services, claimed: list[Claimed]) -> dict[int, Incoming]:
    """The claimed events, decoded once for the NLU ahead and the handling. One that does
    not decode is left out: a failure here would stall the whole batch until its lease ran
    out."""
    events: dict[int, Incoming] = {}
    for row in claimed:
        with contextlib.suppress(Exception):
            events[row.row_id] = inbox.decode_event(services.vault, row.payload_enc)
    return events
