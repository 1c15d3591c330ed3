"""Real traffic through the app and the worker: logs and /metrics carry no text, names,
phone numbers or raw platform ids."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator

import pytest
import structlog

from bot.logs import configure_logging
from tests.privacy.common import chat_client
from tests.support import chat_post, say, services_of

SESSION = str(uuid.uuid4())  # the raw platform id of the web chat
NAME = "Khin Myat Noe"
PHONES = ("0812345678", "+66 81 234 5678", "09-7654-3210")
TEXTS = (
    "ကျွန်တော့်ပတ်စ်ပို့ကို သူဌေးက သိမ်းထားတယ်",  # my: the boss keeps my passport
    "นายจ้างไม่จ่ายค่าแรงสามเดือนแล้ว",  # th: no wages for three months
    f"my name is {NAME} call me {PHONES[0]}",
    f"โทร {PHONES[1]} ด่วน ถูกทำร้าย",  # th, urgent words
    f"ph {PHONES[2]} I am locked in the boat and cannot leave",  # urgent
)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(level="DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()


def needles() -> list[str]:
    words = [NAME, SESSION, SESSION.replace("-", ""), *PHONES]
    words += [p.replace(" ", "").replace("-", "") for p in PHONES]
    for text in TEXTS:
        words.append(text)
        words += [w for w in text.split() if len(w) >= 6 and not w.isascii()]
    return words


async def test_logs_and_metrics_hold_no_personal_data(
    database_url: str, captured: io.StringIO
) -> None:
    async with chat_client(database_url) as client:
        services = services_of(client)
        await say(client, SESSION, start=True)
        for text in TEXTS:
            await say(client, SESSION, text=text)
        await say(client, SESSION, payload="consent:yes")
        await say(client, SESSION, payload="province:bangkok")
        await say(client, SESSION, text=TEXTS[0] * 120)  # overlong
        assert await chat_post(client, SESSION, text="{broken") == 200
        bad = await client.post(
            "/chat/messages",
            data=f'{{"session": "{SESSION}", "id": 5, "text": "{NAME}"}}',
            headers={"Content-Type": "application/json"},
        )
        assert bad.status == 400
        await say(client, SESSION, payload="delete:confirm")
        events = await client.get(f"/chat/events?session={SESSION}&after=0")
        events.close()
        metrics = await (await client.get("/metrics")).text()
        health = await (await client.get("/healthz")).text()
        assert services.content.ui("en", "deleted")  # traffic really ran
    logs = captured.getvalue()
    assert "inbox_event_handled" in logs and "outbox_sent" in logs  # logging was captured
    assert "kind=urgent" in logs or '"kind": "urgent"' in logs
    leaks = [n for n in needles() if n in logs or n in metrics or n in health]
    assert leaks == []
