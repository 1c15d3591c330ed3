"""One contract for every channel, driven by recorded payloads under payloads/<platform>/.

Adding a platform adds payload files (and a row in USERS/EVENT_IDS): the case table is
shared. Each case posts a recorded body to /webhooks/<platform> of the real web app
(bot/web.py -> bot/webhooks.py) with a real signature and checks what reaches the inbox
table, on SQLite and (marked postgres) on PostgreSQL.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import delete, select

from bot.inbox import decode_event
from bot.messages import EventKind, Incoming
from bot.metrics import REGISTRY
from bot.storage.models import InboxEvent
from bot.web import SERVICES, create_app
from tests.channels.conftest import PLATFORMS, has_payload, payload
from tests.fakes.webhooks import VERIFY_TOKEN, bad_headers, channel_environment, signed_headers
from tests.support import dead_nlu_url, make_settings, sqlite_database

TEXTS = {
    "text_en": "My employer kept my passport. What can I do?",
    "text_th": "นายจ้างยึดหนังสือเดินทางของผม ทำอย่างไรดีครับ",
    "text_my_unicode": "အလုပ်ရှင်က ကျွန်တော့်ပတ်စပို့ကို သိမ်းထားတယ်။",
    "text_my_zawgyi": "အလုပ္ရွင္က ကြၽန္ေတာ့္ပတ္စပို႔ကို သိမ္းထားတယ္။",  # channels pass it raw
    "text_km": "និយោជករបស់ខ្ញុំដកលិខិតឆ្លងដែនរបស់ខ្ញុំ។",
    "text_lo": "ນາຍຈ້າງຍຶດໜັງສືຜ່ານແດນຂອງຂ້ອຍ",
}


@dataclass(frozen=True)
class Expect:
    kind: EventKind
    text: str = ""
    payload: str = ""
    media_type: str = ""


def unsupported(media: str) -> list[Expect]:
    return [Expect(EventKind.UNSUPPORTED, media_type=media)]


# case name -> the events it must store (empty: nothing stored, answered 200)
CASES: dict[str, list[Expect]] = {
    **{name: [Expect(EventKind.TEXT, text=text)] for name, text in TEXTS.items()},
    "postback": [Expect(EventKind.POSTBACK, payload="topic:wage_minimum")],
    "quick_reply": [Expect(EventKind.POSTBACK, text="Wages", payload="topic:wage_minimum")],
    "follow": [Expect(EventKind.FOLLOW, payload="get_started")],
    "unfollow": [Expect(EventKind.UNFOLLOW)],
    "command_language": [Expect(EventKind.POSTBACK, payload="language")],
    "command_delete": [Expect(EventKind.POSTBACK, payload="delete")],
    "command_other": [Expect(EventKind.TEXT, text="/help")],
    **{m: unsupported(m) for m in ("sticker", "image", "audio", "video", "file", "location")},
    "group_text": unsupported("group"),
    "edit": unsupported("edit"),
    "reaction": unsupported("reaction"),
    "echo": [],
    "read": [],
    "verify_empty": [],
    "multi": [Expect(EventKind.TEXT, text="one"), Expect(EventKind.TEXT, text="two")],
}
# Platform differences in the shared cases: FOLLOW carries a payload only on Messenger.
OVERRIDES: dict[tuple[str, str], list[Expect]] = {
    ("line", "follow"): [Expect(EventKind.FOLLOW)],
    ("telegram", "follow"): [Expect(EventKind.FOLLOW)],
}
USERS = {
    "line": "U4af4980629a4e1c1f0c9d7a1b2c3d4e5",
    "telegram": "3527065",
    "messenger": "1389586417788578",
}
EVENT_IDS = {
    ("line", "text_en"): "01JLINE0TEXT00000000000000",
    ("telegram", "text_en"): "174114370",
    ("messenger", "text_en"): "m_text_0",
    ("line", "postback"): "01JLINE0POSTBACK0000000001",
    ("telegram", "postback"): "174114380",
    ("messenger", "postback"): "m_postback_1",
    ("messenger", "follow"): "1389586417788578:1735689600000",  # postback without mid
}

ROWS = [(p, c) for p in PLATFORMS for c in CASES if has_payload(p, c)]


# The app takes seconds to start (content, keyword index), so one app serves the module:
# the inbox is emptied after each test.
pytestmark = pytest.mark.asyncio(loop_scope="module")
DUMMY_APIS = {
    "line": "http://127.0.0.1:9",
    "telegram": "http://127.0.0.1:9",
    "messenger": "http://127.0.0.1:9",
}


@asynccontextmanager
async def app_client(database_url: str) -> AsyncIterator[TestClient]:
    """The real web app (bot/web.py) with all three channels configured."""
    fakes = {
        "line": SimpleNamespace(access_token="line-token", url=DUMMY_APIS["line"]),
        "telegram": SimpleNamespace(token="123456:test-token", url=DUMMY_APIS["telegram"]),
        "messenger": SimpleNamespace(page_token="page-token", url=DUMMY_APIS["messenger"]),
    }
    env = {
        "NLU_URL": dead_nlu_url(),
        "BOT__SERVICE__EMBEDDED_WORKER": "false",
        **channel_environment(fakes),
    }
    settings = make_settings(database_url, **env)
    # No worker runs here, so nothing classifies: a stub keeps the NLU client out of it.
    async with TestClient(TestServer(create_app(settings, NoClassifier()))) as c:
        yield c


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TestClient]:
    async with sqlite_database(tmp_path_factory.mktemp("contract")) as url, app_client(url) as c:
        yield c


@pytest_asyncio.fixture(loop_scope="module")
async def client(shared_client: TestClient) -> AsyncIterator[TestClient]:
    yield shared_client
    async with shared_client.server.app[SERVICES].db.begin() as session:
        await session.execute(delete(InboxEvent))


sqlite_client = client


class NoClassifier:
    async def classify(self, text: str, language: str) -> Any:
        raise AssertionError("webhooks never classify")

    async def healthy(self) -> bool:
        return True


async def stored(client: TestClient) -> list[Incoming]:
    """The inbox, decoded, in arrival order."""
    services = client.server.app[SERVICES]
    async with services.db() as session:
        rows = (
            await session.execute(select(InboxEvent.payload_enc).order_by(InboxEvent.id))
        ).scalars()
        return [decode_event(services.vault, row) for row in rows]


async def post(client: Any, platform: str, body: bytes, headers: dict[str, str] | None = None):
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(signed_headers(platform, body) if headers is None else headers)
    return await client.post(f"/webhooks/{platform}", data=body, headers=hdrs)


def unknown_count(platform: str) -> float:
    value = REGISTRY.get_sample_value("bot_webhook_unknown_events_total", {"platform": platform})
    return value or 0.0


async def test_every_platform_has_the_core_cases() -> None:
    core = [
        *TEXTS,
        "postback",
        "follow",
        "sticker",
        "image",
        "audio",
        "video",
        "file",
        "location",
        "unknown_event",
        "missing_fields",
        "redelivery",
    ]
    missing = [(p, c) for p in PLATFORMS for c in core if not has_payload(p, c)]
    assert missing == []


@pytest.mark.parametrize(("platform", "case"), ROWS, ids=[f"{p}-{c}" for p, c in ROWS])
async def test_recorded_payload(sqlite_client: Any, platform: str, case: str) -> None:
    client = sqlite_client
    resp = await post(client, platform, payload(platform, case))
    assert resp.status == 200, await resp.text()
    events = await stored(client)
    expected = OVERRIDES.get((platform, case), CASES[case])
    got = [Expect(e.kind, e.text, e.payload, e.media_type) for e in events]
    assert got == expected
    for event in events:
        assert event.platform == platform
        assert event.user_id == USERS[platform]
        assert event.event_id
    if (platform, case) in EVENT_IDS:
        assert events[0].event_id == EVENT_IDS[(platform, case)]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("signature", ["bad", "missing"])
async def test_bad_or_missing_signature_is_401_and_stores_nothing(
    client: Any, platform: str, signature: str
) -> None:
    body = payload(platform, "text_en")
    headers = bad_headers(platform, body) if signature == "bad" else {}
    resp = await post(client, platform, body, headers)
    assert resp.status == 401
    assert await stored(client) == []


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_body_changed_after_signing_is_401(client: Any, platform: str) -> None:
    if platform == "telegram":
        pytest.skip("Telegram sends a shared secret, not a signature over the body")
    body = payload(platform, "text_en")
    headers = signed_headers(platform, body)
    resp = await post(client, platform, body.replace(b"passport", b"passp0rt"), headers)
    assert resp.status == 401


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(
    "body",
    [b'{"events": [', b"not json", b"\xff\xfe", b"[]", b'"text"', b"{}"],
    ids=["truncated", "text", "bad-utf8", "array", "string", "empty-object"],
)
async def test_malformed_json_is_400(client: Any, platform: str, body: bytes) -> None:
    resp = await post(client, platform, body)
    assert resp.status == 400
    assert await stored(client) == []


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_missing_fields_is_400(client: Any, platform: str) -> None:
    resp = await post(client, platform, payload(platform, "missing_fields"))
    assert resp.status == 400
    assert await stored(client) == []


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_unknown_event_is_200_ignored_and_counted(client: Any, platform: str) -> None:
    before = unknown_count(platform)
    resp = await post(client, platform, payload(platform, "unknown_event"))
    assert resp.status == 200
    assert await stored(client) == []
    assert unknown_count(platform) == before + 1


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_duplicate_delivery_stores_one_row(client: Any, platform: str) -> None:
    for case in ("text_en", "redelivery", "text_en"):
        resp = await post(client, platform, payload(platform, case))
        assert resp.status == 200
    events = await stored(client)
    assert len(events) == 1
    assert events[0].text == TEXTS["text_en"]


async def test_line_redelivery_flag_is_parsed(channels: dict[str, Any]) -> None:
    (event,) = channels["line"].parse(payload("line", "redelivery"))
    assert event.redelivery is True
    (first,) = channels["line"].parse(payload("line", "text_en"))
    assert first.redelivery is False
    assert first.reply_token == "b60d432864f44d079f6d8efe86cf404b"


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_oversized_body_is_413(client: Any, platform: str) -> None:
    data = json.loads(payload(platform, "text_en"))
    data["padding"] = "x" * (1024 * 1024 + 1)
    body = json.dumps(data).encode()
    headers = {"Content-Type": "application/json", **signed_headers(platform, body)}
    resp = await client.post(f"/webhooks/{platform}", data=io.BytesIO(body), headers=headers)
    assert resp.status == 413
    assert await stored(client) == []


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        (
            {
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            },
            200,
            "1158201444",
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, 403, None),
        (
            {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
            403,
            None,
        ),
        ({}, 403, None),
    ],
    ids=["ok", "wrong-token", "wrong-mode", "empty"],
)
async def test_messenger_verification_handshake(
    sqlite_client: Any, query: dict[str, str], status: int, text: str | None
) -> None:
    resp = await sqlite_client.get("/webhooks/messenger", params=query)
    assert resp.status == status
    if text is not None:
        assert await resp.text() == text


@pytest.mark.parametrize("platform", ["line", "telegram"])
async def test_get_is_not_allowed_elsewhere(sqlite_client: Any, platform: str) -> None:
    resp = await sqlite_client.get(f"/webhooks/{platform}")
    assert resp.status == 405


async def test_telegram_callback_query_keeps_answer_address(channels: dict[str, Any]) -> None:
    (event,) = channels["telegram"].parse(payload("telegram", "postback"))
    assert event.address == {"chat_id": 3527065, "callback_query_id": "4382bfdwdsb323b2d9"}


@pytest.mark.postgres
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_on_postgres_duplicates_and_refusals_store_nothing_extra(
    postgres_url: str, platform: str
) -> None:
    async with app_client(postgres_url) as pg:
        assert (await post(pg, platform, payload(platform, "text_en"), {})).status == 401
        for case in ("text_en", "redelivery"):
            assert (await post(pg, platform, payload(platform, case))).status == 200
        assert [e.text for e in await stored(pg)] == [TEXTS["text_en"]]
