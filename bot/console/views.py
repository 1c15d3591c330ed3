"""Console routes: sign-in, the case queue, one case, and the actions on it."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import cases, pages
from bot.console.auth import (
    Account,
    Policy,
    account_for,
    authenticate,
    end_session,
    same,
    start_session,
)
from bot.console.html import Markup
from bot.console.i18n import CONSOLE_LANGUAGES, pick_language, t
from bot.services import Services
from bot.storage.models import Contact, Conversation, Organisation, Volunteer, utcnow

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
LANG_COOKIE = "console_lang"
SignedInHandler = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]
Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    policy: Policy
    secure_cookies: bool
    stream_seconds: float = 300.0
    poll_seconds: float = 1.0


CONFIG: web.AppKey[ConsoleConfig] = web.AppKey("console_config", ConsoleConfig)


def services_of(request: web.Request) -> Services:
    from bot.web import SERVICES  # the app's key; imported late to avoid an import cycle

    return request.app[SERVICES]


def language(request: web.Request) -> str:
    return pick_language(request.cookies.get(LANG_COOKIE), request.headers.get("Accept-Language"))


def html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=request.app[CONFIG].secure_cookies,
        max_age=max_age,
    )


def same_origin(request: web.Request) -> bool:
    """A POST must come from our own pages (besides the CSRF token, belt and braces)."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


def signed_in(handler: SignedInHandler) -> web.Handler:
    async def wrapper(request: web.Request) -> web.StreamResponse:
        services = services_of(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        async with services.db.begin() as session:
            account = await account_for(session, request.app[CONFIG].policy, token)
        lang = language(request)
        if account is None:
            if request.method == "GET" and "text/event-stream" not in request.headers.get(
                "Accept", ""
            ):
                raise web.HTTPSeeOther("/console/login")
            raise web.HTTPUnauthorized(text="sign in again")
        if request.method == "POST":
            form = await request.post()
            if not same_origin(request) or not same(str(form.get("csrf", "")), account.csrf):
                async with services.db.begin() as session:
                    cases.audit(session, account, "csrf_rejected", path=request.path[:60])
                return html(pages.error_page(lang, "error_csrf"), status=403)
        return await handler(request, account)

    return wrapper


async def login_form(request: web.Request) -> web.Response:
    lang = language(request)
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if len(csrf) < 32:
        csrf = secrets.token_urlsafe(32)
    response = html(pages.login_page(lang, csrf, failed="failed" in request.query))
    set_cookie(request, response, LOGIN_CSRF_COOKIE, csrf, max_age=3600)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    lang = language(request)
    if (
        len(expected) < 32
        or not same(str(form.get("csrf", "")), expected)
        or not same_origin(request)
    ):
        return html(pages.error_page(lang, "error_csrf"), status=403)
    services = services_of(request)
    policy = request.app[CONFIG].policy
    async with services.db.begin() as session:
        volunteer = await authenticate(
            session, policy, str(form.get("email", ""))[:254], str(form.get("password", ""))[:200]
        )
        token = None
        if volunteer is not None:
            token = await start_session(
                session, policy, volunteer, request.cookies.get(SESSION_COOKIE)
            )
    if token is None:
        raise web.HTTPSeeOther("/console/login?failed=1")
    response = web.HTTPSeeOther("/console/cases")
    set_cookie(request, response, SESSION_COOKIE, token, max_age=policy.session_minutes * 60)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/console")
    raise response


@signed_in
async def logout(request: web.Request, account: Account) -> web.StreamResponse:
    async with services_of(request).db.begin() as session:
        await end_session(session, request.cookies.get(SESSION_COOKIE, ""))
        cases.audit(session, account, "console_logout")
    response = web.HTTPSeeOther("/console/login")
    response.del_cookie(SESSION_COOKIE, path="/console")
    raise response


async def switch_language(request: web.Request) -> web.StreamResponse:
    target = request.query.get("to", "en")
    next_path = request.query.get("next", "/console/cases")
    if not next_path.startswith("/console/") or "//" in next_path or "\\" in next_path:
        next_path = "/console/cases"
    response = web.HTTPSeeOther(next_path)
    if target in CONSOLE_LANGUAGES:
        set_cookie(request, response, LANG_COOKIE, target, max_age=365 * 24 * 3600)
    raise response


async def root(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/console/cases")


def user_label(lang: str, account: Account) -> str:
    return f"{account.display_name} ({t(lang, 'role_' + account.role)})"


def console_page(lang: str, account: Account, title: str, body: Markup, here: str) -> web.Response:
    """A signed-in page in the console layout, its navigation fitting the account's role."""
    return html(
        pages.page(
            lang,
            title,
            body,
            user=user_label(lang, account),
            csrf=account.csrf,
            here=here,
            role=account.role,
        )
    )


def forbidden(lang: str, account: Account) -> web.Response:
    return html(
        pages.error_page(lang, "error_forbidden", user_label(lang, account), account.csrf), 403
    )


async def deny(request: web.Request, account: Account, page: str) -> web.Response:
    """Refuse a page this role may not see; the refusal is audited in its own transaction."""
    async with services_of(request).db.begin() as session:
        cases.audit(session, account, "access_denied", page=page)
    return forbidden(language(request), account)


async def locked_or_404(session: AsyncSession, model: type[Row], row_id: int) -> Row:
    """The row an action changes, locked until the transaction ends; 404 if it is gone."""
    statement = select(model).where(model.id == row_id).with_for_update()  # type: ignore[attr-defined]
    row = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        raise web.HTTPNotFound()
    return row


def path_id(request: web.Request, name: str) -> int:
    """The numeric id in the URL; anything else is a page that does not exist."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise web.HTTPNotFound() from None


@signed_in
async def queue_view(request: web.Request, account: Account) -> web.Response:
    services = services_of(request)
    lang = language(request)
    status = "closed" if request.query.get("status") == "closed" else "active"
    async with services.db.begin() as session:
        rows = await cases.queue(session, account, status)
        cases.audit(session, account, "view_queue", status=status)
    body = pages.queue_rows(lang, rows, services.content, utcnow())
    return html(
        pages.queue_page(
            lang, body, status, user_label(lang, account), account.csrf, role=account.role
        )
    )


def path_action(request: web.Request, offered: tuple[str, ...]) -> str:
    """The action the URL names; one this page does not offer is a page that does not exist."""
    action = request.match_info["action"]
    if action not in offered:
        raise web.HTTPNotFound()
    return action


def case_id_of(request: web.Request) -> int:
    return path_id(request, "case_id")


@signed_in
async def case_view(request: web.Request, account: Account) -> web.Response:
    services = services_of(request)
    lang = language(request)
    case_id = case_id_of(request)
    label = user_label(lang, account)
    async with services.db.begin() as session:
        try:
            case = await cases.load_case(session, account, case_id)
        except LookupError:
            return html(pages.error_page(lang, "error_not_found", label, account.csrf), 404)
        except cases.Forbidden:
            return forbidden(lang, account)
        contact = await session.get(Contact, case.contact_id) if case.contact_id else None
        conversation = (
            await session.get(Conversation, case.conversation_id) if case.conversation_id else None
        )
        organisation = await session.get(Organisation, case.organisation_id)
        holder = await session.get(Volunteer, case.claimed_by) if case.claimed_by else None
        worker_lang = (contact.language if contact else None) or case.language or "en"
        window = (
            await cases.reply_window(session, services, case.platform or contact.platform, contact)
            if contact is not None
            else None
        )
        items = await cases.messages(session, services, case)
        notes = await cases.notes(session, services, case)
        orgs = await cases.organisations(session)
        details = services.vault.decrypt_json(case.details_enc) if case.details_enc else {}
        cases.audit(session, account, "view_case", case_id)
    error = request.query.get("error")
    body = pages.case_page(
        lang,
        case=case,
        contact=contact,
        conversation=conversation,
        details=details if isinstance(details, dict) else {},
        organisation=organisation.name if organisation else "",
        claimed_by_name=holder.display_name if holder else None,
        items=items,
        notes=notes,
        window=window,
        canned=cases.canned_replies(services, case, worker_lang),
        organisations=orgs,
        categories=[(c, services.content.title(lang, c)) for c in services.content.topic_ids],
        account_id=account.id,
        user=label,
        csrf=account.csrf,
        error=error if error and (error.startswith(("error_", "window_"))) else None,
    )
    return html(body)


ACTIONS = ("claim", "release", "transfer", "note", "category", "close", "reply")


@signed_in
async def case_action(request: web.Request, account: Account) -> web.StreamResponse:
    services = services_of(request)
    lang = language(request)
    case_id = case_id_of(request)
    action = path_action(request, ACTIONS)
    form = await request.post()
    text = str(form.get("text", ""))
    try:
        async with services.db.begin() as session:
            if action == "claim":
                await cases.claim(session, services, account, case_id)
            elif action == "release":
                await cases.release(session, account, case_id)
            elif action == "transfer":
                target = int(str(form.get("organisation", "0")) or 0)
                await cases.transfer(session, account, case_id, target)
            elif action == "note":
                await cases.add_note(session, services, account, case_id, text)
            elif action == "category":
                await cases.set_category(
                    session, services, account, case_id, str(form.get("category", ""))
                )
            elif action == "close":
                await cases.close(session, services, account, case_id, str(form.get("outcome", "")))
            else:
                await cases.reply(session, services, account, case_id, text)
    except LookupError:
        return html(pages.error_page(lang, "error_not_found"), status=404)
    except ValueError:
        raise web.HTTPSeeOther(f"/console/cases/{case_id}?error=error_bad_organisation") from None
    except cases.Forbidden:
        # The refusal is audited in its own transaction: the action's was rolled back.
        async with services.db.begin() as session:
            cases.audit(session, account, "access_denied", case_id, attempted=action)
        return html(pages.error_page(lang, "error_forbidden"), status=403)
    except cases.Conflict as conflict:
        raise web.HTTPSeeOther(f"/console/cases/{case_id}?error={conflict.key}") from None
    if action == "transfer":
        raise web.HTTPSeeOther("/console/cases")
    raise web.HTTPSeeOther(f"/console/cases/{case_id}")
