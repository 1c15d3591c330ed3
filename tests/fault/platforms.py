"""The fake LINE, Telegram and Messenger of tests/fakes in the fault scenario: the users who
write through them (signed webhook bodies in each platform's format), the failures scripted
on them mid-traffic, and what each fake received compared with the outbox."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bot.channels.registry import build_channels
from bot.messages import Reply
from tests.fakes.base import Failure, FakeServer
from tests.fakes.line import FakeLine
from tests.fakes.messenger import FakeMessenger
from tests.fakes.telegram import FakeTelegram
from tests.fakes.webhooks import channel_config, channel_environment, signed_headers

PLATFORMS = ("line", "telegram", "messenger")
SEND_TIMEOUT_S = 1.0  # channels.<platform>.timeout_s of the bot, lowered from 10 s
STALL_S = SEND_TIMEOUT_S + 1.5  # an answer this late is a timeout for the bot
RETRY_HINT_S = 1
PAGE_ID = "106123456789012"
LINE_PUSH = ("/v2/bot/message/push",)

# Failures scripted on every fake after waves 0, 1, 2 of the traffic: (what, fail_next
# arguments). Each hits the next request(s) to that platform, whichever reply it carries.
RATE_LIMITED = f"429 with a {RETRY_HINT_S} s retry hint"
ROUNDS: tuple[tuple[tuple[str, dict[str, Any]], ...], ...] = (
    ((RATE_LIMITED, {"status": 429}), ("500", {"status": 500})),
    (
        ("timeout, the platform did not take it", {"status": 500, "delay": STALL_S}),
        ("timeout, the platform took it", {"status": 200, "delay": STALL_S, "accept": True}),
    ),
    (("500 twice", {"status": 500, "times": 2}), (RATE_LIMITED, {"status": 429})),
)


def retry_hint(platform: str) -> dict[str, Any]:
    """A 429 as the platform words it: LINE and Meta send Retry-After, Telegram a field."""
    if platform == "telegram":
        return {
            "body": {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {RETRY_HINT_S}",
                "parameters": {"retry_after": RETRY_HINT_S},
            }
        }
    headers = {"Retry-After": str(RETRY_HINT_S)}
    if platform == "messenger":
        error = {"message": "(#613) Calls to this api have exceeded the rate limit.", "code": 613}
        return {"headers": headers, "body": {"error": {**error, "type": "OAuthException"}}}
    return {"headers": headers}


def hint_of(failure: Failure) -> float | None:
    if failure.status != 429 or failure.accept:
        return None
    if "Retry-After" in failure.headers:
        return float(failure.headers["Retry-After"])
    return float(failure.body["parameters"]["retry_after"])


@dataclass(frozen=True, slots=True)
class Event:
    platform: str
    event_id: str  # as the inbox stores it
    body: bytes
    headers: dict[str, str]


@dataclass(slots=True)
class Received:
    """One platform's replies: outbox rows against the messages the fake accepted."""

    rows_sent: int = 0
    rows_unknown: int = 0  # dead-lettered: the send was interrupted, maybe delivered
    messages_expected: int = 0  # parts of the sent rows
    messages_received: int = 0
    received_twice: int = 0  # over what the sent and unknown rows account for
    missing: int = 0  # parts of sent rows the platform never got
    unknown_received: int = 0  # parts of unknown rows the platform did get


class Platforms:
    def __init__(self) -> None:
        self.fakes: dict[str, FakeServer] = {
            "line": FakeLine(),
            "telegram": FakeTelegram(),
            "messenger": FakeMessenger(),
        }

    async def start(self) -> None:
        for fake in self.fakes.values():
            await fake.start()

    async def stop(self) -> None:
        for fake in self.fakes.values():
            await fake.stop()

    def environment(self) -> dict[str, str]:
        env = channel_environment(self.fakes)
        for platform in PLATFORMS:
            env[f"BOT__CHANNELS__{platform.upper()}__TIMEOUT_S"] = str(SEND_TIMEOUT_S)
        env["BOT__CHANNELS__TELEGRAM__PER_CHAT_INTERVAL_S"] = "0"
        return env

    # -- traffic -------------------------------------------------------------------------

    @staticmethod
    def user_id(platform: str, user: int) -> str:
        return {
            "line": f"U{user:032x}",
            "telegram": str(8_000_000 + user),
            "messenger": str(9_100_000_000 + user),
        }[platform]

    def event(self, platform: str, user: int, n: int, text: str) -> Event:
        """Message `n` of a user, in the platform's webhook format, signed."""
        uid = self.user_id(platform, user)
        now_ms = int(time.time() * 1000)
        event_id, data = {
            "line": self._line,
            "telegram": self._telegram,
            "messenger": self._messenger,
        }[platform](uid, user, n, text, now_ms)
        body = json.dumps(data, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **signed_headers(platform, body)}
        return Event(platform, event_id, body, headers)

    def _line(self, uid: str, user: int, n: int, text: str, now_ms: int) -> tuple[str, dict]:
        line: FakeLine = self.fakes["line"]  # type: ignore[assignment]
        # Every other event's reply token is one LINE no longer takes (as after a minute):
        # those replies go by push, with X-Line-Retry-Key.
        token = line.issue_reply_token(uid) if (user + n) % 2 else f"{user:08x}{n:024x}"
        event_id = f"01FAULT{user:06d}{n:06d}"
        event = {
            "type": "message",
            "mode": "active",
            "timestamp": now_ms,
            "source": {"type": "user", "userId": uid},
            "webhookEventId": event_id,
            "deliveryContext": {"isRedelivery": False},
            "replyToken": token,
            "message": {"id": f"{user}{n}", "type": "text", "text": text},
        }
        return event_id, {"destination": "U" + "0" * 32, "events": [event]}

    def _telegram(self, uid: str, user: int, n: int, text: str, now_ms: int) -> tuple[str, dict]:
        update_id = 500_000 + user * 1000 + n
        person = {"id": int(uid), "is_bot": False, "first_name": "W"}
        message = {
            "message_id": 100 + n,
            "from": person,
            "chat": {"id": int(uid), "first_name": "W", "type": "private"},
            "date": now_ms // 1000,
            "text": text,
        }
        return str(update_id), {"update_id": update_id, "message": message}

    def _messenger(self, uid: str, user: int, n: int, text: str, now_ms: int) -> tuple[str, dict]:
        messenger: FakeMessenger = self.fakes["messenger"]  # type: ignore[assignment]
        messenger.last_user_message[uid] = datetime.now(UTC)  # Meta knows the 24 h window
        mid = f"m_fault_{user}_{n}"
        messaging = {
            "sender": {"id": uid},
            "recipient": {"id": PAGE_ID},
            "timestamp": now_ms,
            "message": {"mid": mid, "text": text},
        }
        entry = {"id": PAGE_ID, "time": now_ms, "messaging": [messaging]}
        return mid, {"object": "page", "entry": [entry]}

    # -- failures ------------------------------------------------------------------------

    def script(self, round_: int) -> list[str]:
        """Script one round of failures on every fake; what was scripted, for the report."""
        for platform, fake in self.fakes.items():
            for _, arguments in ROUNDS[round_]:
                kwargs = dict(arguments)
                if kwargs["status"] == 429:
                    kwargs.update(retry_hint(platform))
                if platform == "line" and "delay" in kwargs:
                    # Only a push may be repeated after a timeout (X-Line-Retry-Key); a
                    # reply-token call that timed out is dead-lettered like Telegram's.
                    kwargs["paths"] = LINE_PUSH
                fake.fail_next(**kwargs)
        return [f"LINE, Telegram, Messenger: {what}" for what, _ in ROUNDS[round_]]

    def scripted_left(self) -> int:
        return sum(fake.scripted_left for fake in self.fakes.values())

    def retries_after_429(self) -> tuple[int, int, int]:
        """(429s answered, requests repeated after one, of which sooner than its hint).

        A retry is the next request with the same body bytes."""
        answered = repeated = early = 0
        for fake in self.fakes.values():
            for failed in fake.failed:
                hint = hint_of(failed["failure"])
                if hint is None:
                    continue
                answered += 1
                again = next(
                    (
                        r
                        for r in fake.requests
                        if r["at"] > failed["at"] and r["raw"] == failed["raw"]
                    ),
                    None,
                )
                if again is not None:
                    repeated += 1
                    early += again["at"] - failed["at"] < hint - 0.05
        return answered, repeated, early

    def line_retry_keys_refused(self) -> int:
        """Pushes LINE refused with 409 as already accepted under the same retry key."""
        return sum(1 for status, _ in self.fakes["line"].rejected if status == 409)

    # -- counting ------------------------------------------------------------------------

    async def received(
        self, rows: list[tuple[str, str, str, tuple[Reply, ...]]]
    ) -> dict[str, Received]:
        """Compare (platform, state, user id, replies) of the outbox rows with the fakes."""
        async with aiohttp.ClientSession() as http:
            channels = build_channels(channel_config(self.fakes), http)
            counts = {platform: Received() for platform in PLATFORMS}
            sure: dict[str, Counter[tuple[str, str]]] = {p: Counter() for p in PLATFORMS}
            maybe: dict[str, Counter[tuple[str, str]]] = {p: Counter() for p in PLATFORMS}
            for platform, state, user, replies in rows:
                if platform not in counts:
                    continue
                texts = rendered_texts(channels[platform], replies)
                if state == "sent":
                    counts[platform].rows_sent += 1
                    sure[platform].update((user, text) for text in texts)
                elif state == "unknown":
                    counts[platform].rows_unknown += 1
                    maybe[platform].update((user, text) for text in texts)
        for platform, count in counts.items():
            got = Counter(self.fakes[platform].delivered())
            count.messages_expected = sum(sure[platform].values())
            count.messages_received = sum(got.values())
            for key in sure[platform] | maybe[platform] | got:
                extra = got[key] - sure[platform][key]
                count.missing += max(0, -extra)
                count.unknown_received += min(max(0, extra), maybe[platform][key])
                count.received_twice += max(0, extra - maybe[platform][key])
        return counts


def rendered_texts(channel: Any, replies: tuple[Reply, ...]) -> list[str]:
    """The text of each message the channel makes of these replies (LINE and Messenger
    render dicts, Telegram (text, keyboard) pairs)."""
    return [part["text"] if isinstance(part, dict) else part[0] for part in channel.render(replies)]
