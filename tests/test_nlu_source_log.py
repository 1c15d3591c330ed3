"""The worker's log says, per message, whether Rasa or the keyword fallback classified it:
the fault suite counts the fallback's answers during a Rasa outage from these lines."""

from __future__ import annotations

import uuid

from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from tests.support import say


async def test_handled_events_name_the_nlu_that_answered(chat: TestClient) -> None:
    session = str(uuid.uuid4())
    with capture_logs() as logs:
        await say(chat, session, text="my boss did not pay my salary")  # NLU is down here
        await say(chat, session, payload="menu")  # buttons never reach the NLU
    handled = [e for e in logs if e["event"] == "inbox_event_handled"]
    assert [e["nlu"] for e in handled] == ["keywords", None]
