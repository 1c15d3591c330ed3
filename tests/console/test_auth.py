"""Sign-in, sessions, CSRF and lock-out."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.storage.models import AuditEvent, Case, ConsoleSession, Volunteer, utcnow
from tests.console.support import PASSWORD, World, csrf_of, login, use_cookie
from tests.support import services_of


async def test_login_sets_a_strict_httponly_cookie_and_stores_only_its_hash(client, world):
    login_page = await client.get("/console/login")
    assert "default-src 'self'" in login_page.headers["Content-Security-Policy"]
    token = await login(client, "vol.a@example.org")
    assert token
    # The Set-Cookie header of the login response, as the browser saw it.
    jar = {c.key: c for c in client.session.cookie_jar}
    cookie = jar["console_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/console"
    assert not cookie["secure"]  # public_url is http:// in tests
    async with services_of(client).db() as session:
        hashes = set((await session.execute(select(ConsoleSession.token_hash))).scalars())
    assert hashlib.sha256(token.encode()).hexdigest() in hashes
    assert token not in hashes


async def test_session_id_changes_at_login_and_the_old_one_dies(client, world):
    first = await login(client, "vol.a@example.org")
    # Sign in again from the same browser, which still sends the first cookie.
    second = await login(client, "vol.a@example.org", fresh=False)
    assert first and second and first != second
    use_cookie(client, first)
    response = await client.get("/console/cases", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/console/login"


async def test_a_planted_session_cookie_is_not_adopted(client, world):
    use_cookie(client, "attacker-chosen-value")
    token = await login(client, "vol.a@example.org", fresh=False)
    assert token and token != "attacker-chosen-value"


@pytest.mark.parametrize(
    "csrf", [None, "", "wrong-token-0123456789-0123456789-0123456789"], ids=["none", "empty", "bad"]
)
async def test_posts_without_the_right_csrf_token_are_refused(client, world: World, csrf):
    assert await login(client, "vol.a@example.org")
    data = {} if csrf is None else {"csrf": csrf}
    response = await client.post(
        f"/console/cases/{world.case_a}/claim", data=data, allow_redirects=False
    )
    assert response.status == 403
    async with services_of(client).db() as session:
        assert (await session.get(Case, world.case_a)).status == "open"
        assert await session.scalar(select(AuditEvent).where(AuditEvent.action == "csrf_rejected"))


async def test_post_from_another_origin_is_refused_even_with_the_token(client, world: World):
    assert await login(client, "vol.a@example.org")
    csrf = await csrf_of(client)
    response = await client.post(
        f"/console/cases/{world.case_a}/claim",
        data={"csrf": csrf},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert response.status == 403


async def test_login_form_needs_its_csrf_cookie(client, world):
    response = await client.post(
        "/console/login",
        data={"csrf": "x" * 43, "email": "vol.a@example.org", "password": PASSWORD},
        allow_redirects=False,
    )
    assert response.status == 403


async def test_five_failures_lock_the_account_for_fifteen_minutes(client, world):
    for _ in range(5):
        assert await login(client, "vol.a@example.org", "wrong password!") is None
    # Locked: even the right password is refused now.
    assert await login(client, "vol.a@example.org") is None
    async with services_of(client).db.begin() as session:
        volunteer = await session.scalar(
            select(Volunteer).where(Volunteer.email == "vol.a@example.org")
        )
        remaining = volunteer.locked_until.replace(tzinfo=utcnow().tzinfo) - utcnow()
        assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
        volunteer.locked_until = utcnow() - timedelta(seconds=1)
    assert await login(client, "vol.a@example.org")
    # Another account was never affected.
    assert await login(client, "vol2.a@example.org")


async def test_unknown_and_disabled_accounts_are_refused_alike(client, world):
    assert await login(client, "nobody@example.org") is None
    async with services_of(client).db.begin() as session:
        await session.execute(
            update(Volunteer).where(Volunteer.email == "vol.a@example.org").values(active=False)
        )
    assert await login(client, "vol.a@example.org") is None


@pytest.mark.parametrize("which", ["expires_at", "last_seen_at"])
async def test_expired_or_idle_sessions_end(client, world, which):
    assert await login(client, "vol.a@example.org")
    past = utcnow() - timedelta(days=2)
    async with services_of(client).db.begin() as session:
        await session.execute(update(ConsoleSession).values({which: past}))
    response = await client.get("/console/cases", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/console/login"


async def test_logout_ends_the_session(client, world):
    token = await login(client, "vol.a@example.org")
    csrf = await csrf_of(client)
    response = await client.post("/console/logout", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303
    use_cookie(client, token)
    response = await client.get("/console/cases", allow_redirects=False)
    assert response.status == 303
