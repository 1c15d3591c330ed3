"""Send side: every channel renders Reply objects within limits, against strict fakes."""

from __future__ import annotations

import itertools
import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.channels.counters import MemoryCounter
from bot.channels.line import QUOTA_REASON, RETRY_KEY_NAMESPACE, LineChannel, LineSettings
from bot.channels.messenger import WINDOW_CLOSED
from bot.channels.registry import build_channels
from bot.channels.telegram import TelegramChannel, TelegramSettings
from bot.channels.text_split import utf16_len
from bot.messages import Button, Delivery, Reply
from tests.channels.conftest import PLATFORMS
from tests.support import free_port

USER = {
    "line": "U4af4980629a4e1c1f0c9d7a1b2c3d4e5",
    "telegram": "3527065",
    "messenger": "1389586417788578",
}
TEXT_LIMIT = {"line": 5000, "telegram": 4096, "messenger": 2000}
LABEL_LIMIT = {"line": 20, "telegram": 40, "messenger": 20}
BURMESE = "အလုပ်ရှင်က ကျွန်တော့်ပတ်စပို့ကို သိမ်းထားတယ်။ "
MENU = (
    Button("Wages and overtime pay", "topic:wage_minimum"),
    Button("ပတ်စပို့ သိမ်းခံရခြင်း", "topic:passport_confiscation"),
    Button("Help", "menu"),
)


def delivery(platform: str, *replies: Reply, **kw: Any) -> Delivery:
    fields: dict[str, Any] = {
        "outbox_id": 1,
        "idempotency_key": "outbox-1",
        "platform": platform,
        "user_id": USER[platform],
        "address": {"chat_id": int(USER["telegram"])} if platform == "telegram" else {},
        "replies": replies,
        "reply_token": None,
        "sender": "bot",
        "language": "en",
        "user_last_seen": datetime.now(UTC) - timedelta(seconds=5),
    }
    fields.update(kw)
    return Delivery(**fields)


def sent(fakes: dict[str, Any], platform: str) -> list[dict[str, Any]]:
    """Message-level view of what the fake accepted: [{"text", "buttons": [labels]}]."""
    out = []
    for m in fakes[platform].messages():
        if platform == "line":
            items = m.get("quickReply", {}).get("items", [])
            labels = [i["action"]["label"] for i in items]
            payloads = [i["action"]["data"] for i in items]
            out.append({"text": m["text"], "buttons": labels, "payloads": payloads})
        elif platform == "telegram":
            rows = (m.get("reply_markup") or {}).get("inline_keyboard", [])
            out.append(
                {
                    "text": m["text"],
                    "buttons": [b["text"] for r in rows for b in r],
                    "payloads": [b["callback_data"] for r in rows for b in r],
                }
            )
        else:
            quick = m["message"].get("quick_replies", [])
            out.append(
                {
                    "text": m["message"]["text"],
                    "buttons": [q["title"] for q in quick],
                    "payloads": [q["payload"] for q in quick],
                }
            )
    return out


@pytest.fixture(autouse=True)
def _users_wrote_recently(fakes: dict[str, Any]) -> None:
    fakes["messenger"].last_user_message[USER["messenger"]] = datetime.now(UTC)


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_short_reply_with_buttons(channels, fakes, platform) -> None:
    result = await channels[platform].send(delivery(platform, Reply("Choose a topic", MENU)))
    assert result.ok, result
    (message,) = sent(fakes, platform)
    assert message["text"] == "Choose a topic"
    assert message["payloads"] == [b.payload for b in MENU]
    assert message["buttons"][2] == "Help"
    assert all(utf16_len(label) <= LABEL_LIMIT[platform] for label in message["buttons"])


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_long_answer_is_split_at_sentences_buttons_on_last(channels, fakes, platform):
    text = BURMESE * 300  # about 13,500 characters
    result = await channels[platform].send(delivery(platform, Reply(text, MENU)))
    assert result.ok, result
    messages = sent(fakes, platform)
    assert len(messages) >= 3
    for m in messages:
        assert utf16_len(m["text"]) <= TEXT_LIMIT[platform]
        assert m["text"].endswith("။")  # every part ends at a sentence end
    assert [bool(m["buttons"]) for m in messages] == [False] * (len(messages) - 1) + [True]
    assert "".join(m["text"] for m in messages).replace(" ", "") == text.replace(" ", "")


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_too_many_buttons_and_long_labels_are_cut(channels, fakes, platform) -> None:
    buttons = tuple(Button(f"ကျွန်တော့်ပတ်စပို့ကို သိမ်းထားတယ် {i}", f"b:{i}") for i in range(20))
    result = await channels[platform].send(delivery(platform, Reply("Menu", buttons)))
    assert result.ok, result
    (message,) = sent(fakes, platform)
    assert message["payloads"] == [f"b:{i}" for i in range(13)]
    for button, label in zip(buttons, message["buttons"], strict=False):
        assert utf16_len(label) <= LABEL_LIMIT[platform]
        assert label.endswith("…") == (utf16_len(button.label) > LABEL_LIMIT[platform])


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_several_replies_in_order(channels, fakes, platform) -> None:
    replies = (Reply("First."), Reply("Second."), Reply("Third.", MENU[:1]))
    assert (await channels[platform].send(delivery(platform, *replies))).ok
    assert [m["text"] for m in sent(fakes, platform)] == ["First.", "Second.", "Third."]


# (platform, status, extra fake args) -> expected (retry_after, permanent)
FAILURES = [
    ("line", 429, {"headers": {"Retry-After": "3"}}, 3.0, False),
    ("telegram", 429, {}, 7.0, False),
    ("messenger", 429, {"headers": {"Retry-After": "5"}}, 5.0, False),
    (
        "messenger",
        400,
        {
            "body": {
                "error": {"message": "Calls to this api have exceeded the rate limit.", "code": 613}
            }
        },
        60.0,
        False,
    ),
    *[(p, 500, {}, None, False) for p in PLATFORMS],
    *[(p, 503, {}, None, False) for p in PLATFORMS],
    ("line", 400, {}, None, True),
    (
        "telegram",
        403,
        {
            "body": {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        },
        None,
        True,
    ),
    ("telegram", 400, {}, None, True),
    ("messenger", 400, {}, None, True),
]


@pytest.mark.parametrize(
    ("platform", "status", "extra", "retry_after", "permanent"),
    FAILURES,
    ids=[f"{f[0]}-{f[1]}-{i}" for i, f in enumerate(FAILURES)],
)
async def test_api_failures_map_to_send_results(
    channels, fakes, platform, status, extra, retry_after, permanent
) -> None:
    fakes[platform].fail_next(status, **extra)
    result = await channels[platform].send(delivery(platform, Reply("Hello")))
    assert not result.ok
    assert result.retry_after == retry_after
    assert result.permanent is permanent
    assert result.reason
    # and the next attempt goes through
    assert (await channels[platform].send(delivery(platform, Reply("Hello")))).ok


@pytest.mark.parametrize("platform", ["telegram", "messenger", "line-reply"])
async def test_timeout_without_a_retry_key_is_uncertain(channels, fakes, platform) -> None:
    """No answer, and sending again could deliver it twice: the outbox dead-letters it."""
    platform, _, how = platform.partition("-")
    token = fakes["line"].issue_reply_token() if how == "reply" else None
    fakes[platform].fail_next(200, delay=1.5, accept=True)  # channels time out after 0.5 s
    result = await channels[platform].send(delivery(platform, Reply("Hello"), reply_token=token))
    assert (result.ok, result.uncertain, result.permanent) == (False, True, False)
    assert len(fakes[platform].accepted) == 1


async def test_line_push_timeout_is_retried_and_delivered_once(channels, fakes) -> None:
    fakes["line"].fail_next(200, delay=1.5, accept=True)
    d = delivery("line", Reply("Hello"))
    first = await channels["line"].send(d)
    assert (first.ok, first.uncertain, first.permanent) == (False, False, False)
    assert (await channels["line"].send(replace(d, attempts=1))).ok  # same retry key: 409
    assert fakes["line"].pushes == 1
    assert fakes["line"].rejected == [(409, "The retry key is already accepted")]


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_no_connection_is_a_plain_retry(config, http, platform) -> None:
    """Nothing can have arrived where no connection opened: a retry is safe."""
    section = {**config["channels"][platform], "api_base": f"http://127.0.0.1:{free_port()}"}
    channel = build_channels({platform: section}, http)[platform]
    result = await channel.send(delivery(platform, Reply("Hello")))
    assert (result.ok, result.uncertain, result.permanent) == (False, False, False)


@pytest.mark.parametrize("platform", ["telegram", "messenger"])
async def test_retry_sends_only_the_parts_the_platform_did_not_take(
    channels, fakes, platform
) -> None:
    fakes[platform].fail_next(500, after=1)
    d = delivery(platform, Reply("one"), Reply("two"), Reply("three"))
    first = await channels[platform].send(d)
    assert (first.ok, first.parts_sent) == (False, 1)
    again = await channels[platform].send(replace(d, attempts=1, parts_sent=first.parts_sent))
    assert (again.ok, again.parts_sent) == (True, 3)
    assert [m["text"] for m in sent(fakes, platform)] == ["one", "two", "three"]


# -- LINE ----------------------------------------------------------------------------------


async def test_line_valid_reply_token_uses_reply(channels, fakes) -> None:
    token = fakes["line"].issue_reply_token()
    result = await channels["line"].send(delivery("line", Reply("Hi"), reply_token=token))
    assert result.ok
    assert [c["path"] for c in fakes["line"].accepted] == ["/v2/bot/message/reply"]
    assert fakes["line"].pushes == 0


async def test_line_invalid_reply_token_falls_back_to_push(channels, fakes) -> None:
    result = await channels["line"].send(delivery("line", Reply("Hi"), reply_token="expired"))
    assert result.ok
    (call,) = fakes["line"].accepted
    assert call["path"] == "/v2/bot/message/push"
    assert call["json"]["to"] == USER["line"]
    expected_key = str(uuid.uuid5(RETRY_KEY_NAMESPACE, "outbox-1"))
    assert call["headers"]["X-Line-Retry-Key"] == expected_key
    assert fakes["line"].rejected == [(400, "Invalid reply token")]


async def test_line_stale_reply_token_is_not_tried(channels, fakes) -> None:
    token = fakes["line"].issue_reply_token()
    old = datetime.now(UTC) - timedelta(minutes=5)
    d = delivery("line", Reply("Hi"), reply_token=token, user_last_seen=old)
    assert (await channels["line"].send(d)).ok
    assert [c["path"] for c in fakes["line"].accepted] == ["/v2/bot/message/push"]
    assert fakes["line"].rejected == []


async def test_line_more_than_five_messages_reply_then_push(channels, fakes) -> None:
    token = fakes["line"].issue_reply_token()
    replies = tuple(Reply(f"Part {i}.") for i in range(7))
    assert (await channels["line"].send(delivery("line", *replies, reply_token=token))).ok
    calls = fakes["line"].accepted
    assert [c["path"] for c in calls] == ["/v2/bot/message/reply", "/v2/bot/message/push"]
    assert [len(c["json"]["messages"]) for c in calls] == [5, 2]
    assert [m["text"] for m in fakes["line"].messages()] == [f"Part {i}." for i in range(7)]


async def test_line_retry_after_a_failed_push_does_not_reply_again(channels, fakes) -> None:
    token = fakes["line"].issue_reply_token()
    fakes["line"].fail_next(500, paths=("/push",))
    d = delivery("line", *(Reply(f"Part {i}.") for i in range(7)), reply_token=token)
    first = await channels["line"].send(d)
    assert (first.ok, first.parts_sent) == (False, 1)  # the reply took the first five
    assert (await channels["line"].send(replace(d, attempts=1, parts_sent=1))).ok
    assert [m["text"] for m in fakes["line"].messages()] == [f"Part {i}." for i in range(7)]
    assert fakes["line"].rejected == []  # the used reply token was not tried again


async def test_line_retry_after_server_error_does_not_push_twice(channels, fakes) -> None:
    fakes["line"].fail_next(500, delay=0.0)
    d = delivery("line", Reply("Hi"))
    assert not (await channels["line"].send(d)).ok
    assert (await channels["line"].send(replace(d, attempts=1))).ok
    assert (await channels["line"].send(replace(d, attempts=2))).ok  # retry key -> 409 -> ok
    assert fakes["line"].pushes == 1


def line_with_quota(config, http, quota: int, counter: MemoryCounter) -> LineChannel:
    settings = LineSettings.from_dict({**config["channels"]["line"], "monthly_push_quota": quota})
    return LineChannel(settings, http, None, counter)


async def test_line_push_quota_warns_then_stops(config, http, fakes, caplog) -> None:
    counter = MemoryCounter()
    line = line_with_quota(config, http, 5, counter)
    caplog.set_level(logging.WARNING, logger="bot.channels")
    for i in range(5):
        d = delivery("line", Reply(f"Push {i}"), idempotency_key=f"k{i}")
        assert (await line.send(d)).ok
        warned = any("monthly push messages used" in r.message for r in caplog.records)
        assert warned == (i >= 3)  # 4 of 5 = 80 %
    result = await line.send(delivery("line", Reply("One too many"), idempotency_key="k5"))
    assert (result.ok, result.permanent, result.reason) == (False, True, QUOTA_REASON)
    assert fakes["line"].pushes == 5
    assert await counter.get("line", line.period()) == 5


async def test_line_quota_does_not_stop_replies(config, http, fakes) -> None:
    line = line_with_quota(config, http, 0, MemoryCounter())
    token = fakes["line"].issue_reply_token()
    assert (await line.send(delivery("line", Reply("free"), reply_token=token))).ok


async def test_line_platform_monthly_limit_is_permanent(channels, fakes) -> None:
    fakes["line"].monthly_limit = 0
    result = await channels["line"].send(delivery("line", Reply("Hi")))
    assert (result.ok, result.permanent, result.reason) == (False, True, QUOTA_REASON)


def test_line_quota_period_is_local_month(channels) -> None:
    line = channels["line"]
    assert line.period(datetime(2025, 1, 31, 18, 0, tzinfo=UTC)) == "2025-02"  # 01:00 +07
    assert line.period(datetime(2025, 1, 31, 16, 0, tzinfo=UTC)) == "2025-01"


# -- Telegram ------------------------------------------------------------------------------


async def test_telegram_answers_callback_query_once(channels, fakes) -> None:
    address = {"chat_id": 3527065, "callback_query_id": "q-1"}
    # attempts as the outbox claim leaves them: 1 on the first send, 2 on the retry
    d = delivery("telegram", Reply("OK"), address=address)
    assert (await channels["telegram"].send(replace(d, attempts=1))).ok
    assert (await channels["telegram"].send(replace(d, attempts=2))).ok
    assert fakes["telegram"].answered == ["q-1"]


async def test_telegram_expired_callback_query_still_sends(channels, fakes) -> None:
    fakes["telegram"].fail_next(400, paths=("/answerCallbackQuery",))
    address = {"chat_id": 3527065, "callback_query_id": "old"}
    assert (await channels["telegram"].send(delivery("telegram", Reply("OK"), address=address))).ok
    assert len(fakes["telegram"].messages()) == 1


async def test_telegram_callback_data_over_64_bytes_is_dropped(channels, fakes) -> None:
    buttons = (Button("ok", "a" * 64), Button("too long", "ပ" * 22))  # 66 bytes
    assert (await channels["telegram"].send(delivery("telegram", Reply("x", buttons)))).ok
    (message,) = sent(fakes, "telegram")
    assert message["payloads"] == ["a" * 64]


async def test_telegram_paces_one_message_per_interval_per_chat(config, http, fakes) -> None:
    settings = TelegramSettings.from_dict(
        {**config["channels"]["telegram"], "per_chat_interval_s": 0.3}
    )
    telegram = TelegramChannel(settings, http, None)
    replies = tuple(Reply(f"Part {i}.") for i in range(3))
    assert (await telegram.send(delivery("telegram", *replies))).ok
    times = [c["at"] for c in fakes["telegram"].accepted]
    assert all(b - a >= 0.28 for a, b in itertools.pairwise(times))


# -- Messenger windows ---------------------------------------------------------------------

# (sender, hours since the user's last message) -> (messaging_type, tag) or the failure
WINDOWS = [
    ("bot", 1, ("RESPONSE", None)),
    ("volunteer", 1, ("RESPONSE", None)),
    ("volunteer", 30, ("MESSAGE_TAG", "HUMAN_AGENT")),
    ("volunteer", 24 * 6.9, ("MESSAGE_TAG", "HUMAN_AGENT")),
    ("bot", 30, WINDOW_CLOSED),
    ("volunteer", 24 * 8, WINDOW_CLOSED),
    ("bot", None, WINDOW_CLOSED),
]


@pytest.mark.parametrize(
    ("sender", "hours", "expected"), WINDOWS, ids=[f"{s}-{h}h" for s, h, _ in WINDOWS]
)
async def test_messenger_windows(channels, fakes, sender, hours, expected) -> None:
    seen = None if hours is None else datetime.now(UTC) - timedelta(hours=hours)
    if seen is not None:
        fakes["messenger"].last_user_message[USER["messenger"]] = seen
    d = delivery("messenger", Reply("Hello", MENU), sender=sender, user_last_seen=seen)
    result = await channels["messenger"].send(d)
    if expected == WINDOW_CLOSED:
        assert (result.ok, result.permanent, result.reason) == (False, True, WINDOW_CLOSED)
        assert fakes["messenger"].accepted == []
        return
    assert result.ok, result
    (body,) = fakes["messenger"].messages()
    assert (body["messaging_type"], body.get("tag")) == expected


async def test_messenger_platform_window_error_is_permanent(channels, fakes) -> None:
    # we think the window is open, the platform disagrees
    fakes["messenger"].last_user_message[USER["messenger"]] = datetime.now(UTC) - timedelta(days=2)
    result = await channels["messenger"].send(delivery("messenger", Reply("Hi")))
    assert (result.ok, result.permanent, result.reason) == (False, True, WINDOW_CLOSED)
