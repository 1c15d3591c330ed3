"""The reports page in a real browser (Debian's chromium); saves docs/screenshots/reports.png."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.admin import add_volunteer
from bot.config import ROOT
from bot.storage.models import Message, utcnow
from tests.console.support import PASSWORD, served_app
from tests.reports.support import add_contact

CHROMIUM = Path("/usr/bin/chromium")
SHOT = ROOT / "docs" / "screenshots" / "reports.png"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium"),
]

# topic -> how many people asked (some under k on purpose)
ASKED = {
    "wage_unpaid": 41,
    "wage_minimum": 33,
    "documents_retained": 22,
    "work_permit": 18,
    "ss_medical": 12,
    "change_employer": 7,
    "trafficking_signs": 3,
    "maternity": 2,
}
PROVINCES = ["tak", "tak", "bangkok", "phang_nga", "chiang_rai"]
LANGS = ["my", "my", "km", "lo", "th"]


async def test_reports_page_screenshot(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    rng = random.Random(7)
    async with served_app(tmp_path) as (base, services):
        async with services.db.begin() as session:
            await add_volunteer(
                session, "lead@example.org", "Case lead", "hrdf", PASSWORD, role="admin"
            )
        for topic, people in ASKED.items():
            for _ in range(people):
                await add_contact(
                    services,
                    platform=rng.choice(["line", "telegram", "messenger", "webchat"]),
                    language=rng.choice(LANGS),
                    province=rng.choice(PROVINCES),
                    questions={topic: rng.randint(1, 3)},
                )
        async with services.db.begin() as session:  # spread over three months
            for message_id in range(1, 400):
                await session.execute(
                    update(Message)
                    .where(Message.id == message_id)
                    .values(created_at=utcnow() - timedelta(days=rng.randint(0, 80)))
                )
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
            )
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            await page.goto(f"{base}/console/login", wait_until="domcontentloaded")
            await page.fill("input[name=email]", "lead@example.org")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button.primary")
            await page.wait_for_url("**/console/cases", wait_until="domcontentloaded")
            await page.click("text=Reports")
            await page.wait_for_url("**/console/reports", wait_until="domcontentloaded")
            await page.select_option("select[name=by]", "province")
            await page.click("form.filters button")
            await page.wait_for_url("**by=province**", wait_until="domcontentloaded")
            assert await page.locator(".chart svg").count() == 2
            assert await page.locator("text=<5").count() > 0
            SHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOT), full_page=True)
            await browser.close()
