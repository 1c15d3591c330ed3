"""The console in a real browser (Debian's chromium driven by Playwright).

A worker's urgent message in the web chat -> the case appears live in the console -> a
volunteer signs in, claims and replies -> the reply reaches the worker's chat after the
hand-over notice -> the volunteer closes -> the bot answers the worker again.
Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.admin import add_organisation, add_volunteer
from bot.config import ROOT
from bot.storage.models import Case, OutboxMessage
from tests.console.support import PASSWORD, make_case, served_app
from tests.support import stream_replies_until, wait_until

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "docs" / "screenshots"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not at /usr/bin/chromium (apt-get install chromium)",
    ),
]


async def chat_replies_until(http: aiohttp.ClientSession, base: str, session: str, text: str):  # type: ignore[no-untyped-def]
    async with http.get(f"{base}/chat/events", params={"session": session}) as response:
        return await stream_replies_until(response, text, within=15)


async def test_urgent_case_claim_reply_close_in_the_browser(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    async with served_app(tmp_path) as (base, services):
        async with services.db.begin() as session:
            org = await add_organisation(
                session,
                "tak_legal_aid",
                "Tak Legal Aid Network",
                provinces=["tak"],
                languages=["en", "my"],
            )
            await add_volunteer(
                session, "somchai@example.org", "Somchai", "tak_legal_aid", PASSWORD
            )
            org_id = org.id
        # An older case that is waiting too, so the queue shows the ordering.
        await make_case(
            services,
            org_id,
            texts=("I want to ask a person",),
            urgent=False,
            intent="talk_to_human",
        )
        async with async_playwright() as playwright, aiohttp.ClientSession() as http:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
            )
            page = await browser.new_page(viewport={"width": 1200, "height": 820})
            await page.goto(f"{base}/console/cases", wait_until="domcontentloaded")
            assert page.url.endswith("/console/login")
            await page.fill("input[name=email]", "somchai@example.org")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button.primary")
            await page.wait_for_url("**/console/cases", wait_until="domcontentloaded")
            await expect(page.locator("#live")).to_have_class("live on")

            # The worker writes in the web chat: urgent, consents, answers or skips.
            chat = str(uuid.uuid4())

            async def say(**body: str) -> None:
                body = {"session": chat, "id": str(uuid.uuid4()), **body}
                async with http.post(f"{base}/chat/messages", json=body) as response:
                    assert response.status == 200

            await say(text="Help, boss lock us inside factory, I cannot leave")
            for payload in (
                "consent:yes",
                "province:tak",
                "sector:construction",
                "safe:no",
                "later:yes",
            ):
                await say(payload=payload)

            # The case appears in the open page by itself (server-sent events).
            urgent_row = page.locator("tr.urgent")
            await expect(urgent_row).to_have_count(1, timeout=15_000)
            rows = page.locator("#queue tr")
            await expect(rows.first).to_have_class("urgent open")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "console-queue.png"), full_page=True)

            await urgent_row.locator("a").click()
            await page.click('form[action$="/claim"] button')
            await expect(page.locator("#case-status")).to_contain_text("Somchai")
            await page.click("button.canned >> nth=0")
            assert await page.input_value("#reply")
            await page.fill("#reply", "I am Somchai from Tak Legal Aid. Are you hurt?")
            await page.click("form.reply button")
            # Sent by the worker loop, then shown in the conversation by the stream.
            volunteer_msg = page.locator("li.msg.volunteer .text")
            await expect(volunteer_msg.last).to_have_text(
                "I am Somchai from Tak Legal Aid. Are you hurt?", timeout=15_000
            )
            await say(text="Not hurt. 20 of us <inside>. Please come")
            await expect(page.locator("li.msg.in .text").last).to_have_text(
                "Not hurt. 20 of us <inside>. Please come", timeout=15_000
            )
            await page.screenshot(path=str(SHOTS / "console-conversation.png"), full_page=True)

            # The worker's chat: the hand-over notice, then the reply, in order.
            texts = await chat_replies_until(
                http, base, chat, "I am Somchai from Tak Legal Aid. Are you hurt?"
            )
            joined = services.content.ui("en", "human_joined")
            assert texts.index(joined) < texts.index(
                "I am Somchai from Tak Legal Aid. Are you hurt?"
            )

            await page.select_option("select[name=outcome]", "referred")
            await page.click("button.danger")
            await expect(page.locator("#case-status")).to_have_text("Closed")

            # Phone-sized queue, for the docs.
            await page.set_viewport_size({"width": 390, "height": 800})
            await page.goto(f"{base}/console/cases", wait_until="domcontentloaded")
            await page.screenshot(path=str(SHOTS / "console-queue-phone.png"))
            await browser.close()

            # The bot has the conversation back: its answer follows the goodbye.
            await say(text="hello")

            async def bot_answered() -> bool:
                async with services.db() as session:
                    last = (
                        (
                            await session.execute(
                                select(OutboxMessage).order_by(OutboxMessage.id.desc())
                            )
                        )
                        .scalars()
                        .first()
                    )
                return last is not None and last.sender == "bot" and last.state == "sent"

            await wait_until(bot_answered, within=15)
            human_left = services.content.ui("en", "human_left")
            texts = await chat_replies_until(http, base, chat, human_left)
            assert texts.index(joined) < texts.index(human_left)
        async with services.db() as session:
            case = await session.scalar(select(Case).where(Case.urgent.is_(True)))
            assert case.status == "closed" and case.first_reply_at is not None
