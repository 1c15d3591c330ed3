"""Console test helpers: a running app, accounts, cases and signing in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.admin import add_organisation
from bot.console.auth import hash_password
from bot.services import Services
from bot.storage.models import Case, Conversation, Message, Organisation, Volunteer
from bot.web import SERVICES, create_app
from nlu.types import Prediction
from tests.support import free_port, make_settings, new_contact, sqlite_database

PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


class QuietClassifier:
    """No NLU in these tests: nothing is confident, the urgent keywords still work."""

    async def classify(self, text: str, language: str) -> Prediction:
        return Prediction("out_of_scope", 0.1)

    async def healthy(self) -> bool:
        return True


ACCOUNTS = (
    ("vol.a@example.org", "Vol A", "org_a", "volunteer"),
    ("vol2.a@example.org", "Vol Two A", "org_a", "volunteer"),
    ("coord.a@example.org", "Coord A", "org_a", "coordinator"),
    ("vol.b@example.org", "Vol B", "org_b", "volunteer"),
    ("admin@example.org", "Admin", "org_b", "admin"),
)


@cache
def password_hash() -> str:
    """Hashed once per test run: argon2 is slow on purpose."""
    return hash_password(PASSWORD)


@dataclass(frozen=True)
class World:
    org_a: int
    org_b: int
    case_a: int
    case_b: int


async def make_case(
    services: Services,
    org_id: int,
    *,
    texts: tuple[str, ...] = ("help please",),
    urgent: bool = True,
    platform: str = "webchat",
    intent: str = "urgent_trapped",
) -> int:
    async with services.db.begin() as session:
        contact = new_contact(services, platform, language="en")
        session.add(contact)
        await session.flush()
        conversation = Conversation(contact_id=contact.id, handler="human")
        session.add(conversation)
        await session.flush()
        for text in texts:
            session.add(
                Message(
                    conversation_id=conversation.id,
                    direction="in",
                    sender="user",
                    text_enc=services.vault.encrypt_text(text),
                    language="en",
                )
            )
        case = Case(
            contact_id=contact.id,
            conversation_id=conversation.id,
            organisation_id=org_id,
            kind="urgent" if urgent else "human",
            intent=intent,
            urgent=urgent,
            language="en",
            platform=platform,
            province="tak",
        )
        session.add(case)
        await session.flush()
        return case.id


async def build_world(services: Services) -> World:
    """Organisations A and B, one case each, and an account of every role."""
    async with services.db.begin() as session:
        a = await add_organisation(session, "org_a", "Org A", provinces=["tak"], languages=["en"])
        b = await add_organisation(session, "org_b", "Org B", provinces=["tak"], languages=["en"])
        for email, name, org, role in ACCOUNTS:
            session.add(
                Volunteer(
                    organisation_id=(a if org == "org_a" else b).id,
                    email=email,
                    display_name=name,
                    password_hash=password_hash(),
                    role=role,
                )
            )
        a_id, b_id = a.id, b.id
    return World(
        org_a=a_id,
        org_b=b_id,
        case_a=await make_case(services, a_id),
        case_b=await make_case(services, b_id),
    )


@asynccontextmanager
async def served_app(folder: Path) -> AsyncIterator[tuple[str, Services]]:
    """The whole app, worker embedded, on a free local port over SQLite in `folder`, for a
    real browser: its base URL and its services."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with sqlite_database(folder) as url:
        settings = make_settings(url, PUBLIC_URL=base, PORT=str(port))
        app = create_app(settings, classifier=QuietClassifier())
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield base, app[SERVICES]
        finally:
            await runner.cleanup()


async def org_id(services: Services, slug: str) -> int:
    async with services.db() as session:
        return int(await session.scalar(select(Organisation.id).where(Organisation.slug == slug)))


async def login(
    client: TestClient, email: str, password: str = PASSWORD, fresh: bool = True
) -> str | None:
    """Sign in as `email` (a fresh cookie jar unless `fresh` is false); the session
    cookie, or None if refused."""
    if fresh:
        client.session.cookie_jar.clear()
    form = await client.get("/console/login")
    csrf = CSRF_FIELD.search(await form.text()).group(1)  # type: ignore[union-attr]
    response = await client.post(
        "/console/login",
        data={"csrf": csrf, "email": email, "password": password},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    if response.headers["Location"] != "/console/cases":
        return None
    return response.cookies["console_session"].value


async def csrf_of(client: TestClient, path: str = "/console/cases") -> str:
    page = await client.get(path)
    match = CSRF_FIELD.search(await page.text())
    assert match, "no form on the page"
    return match.group(1)


async def post(client: TestClient, path: str, **fields: str):  # type: ignore[no-untyped-def]
    """A console form POST with the page's CSRF token, not following the redirect."""
    csrf = await csrf_of(client)
    return await client.post(path, data={"csrf": csrf, **fields}, allow_redirects=False)


def use_cookie(client: TestClient, token: str) -> None:
    """Send exactly this session cookie from now on."""
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"console_session": token})
