"""Admin commands: organisations, volunteers (console accounts) and cases.

`register(subparsers)` adds `orgs`, `volunteers` and `cases` to the `bot` command; each
parser sets `handler(settings, args) -> int`. The async functions below are the same
operations for tests and scripts; they never print secrets other than a new password.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.console.auth import ROLES, hash_password
from bot.storage.db import check_schema, create_engine, session_factory
from bot.storage.models import AuditEvent, Case, ConsoleSession, Organisation, Volunteer

ACTOR = "admin-cli"
MIN_PASSWORD_CHARS = 12


class AdminError(Exception):
    """A clear one-line reason, printed by the command."""


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


async def add_organisation(
    session: AsyncSession,
    slug: str,
    name: str,
    *,
    provinces: list[str] | None = None,
    languages: list[str] | None = None,
    sectors: list[str] | None = None,
    services: list[str] | None = None,
) -> Organisation:
    if await session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
        raise AdminError(f"organisation {slug!r} exists already")
    org = Organisation(
        slug=slug,
        name=name,
        provinces=provinces or [],
        languages=languages or [],
        sectors=sectors or ["all"],
        services=services or ["legal_aid"],
    )
    session.add(org)
    await session.flush()
    session.add(AuditEvent(actor=ACTOR, action="organisation_added", target=f"org:{org.id}"))
    return org


async def list_organisations(session: AsyncSession) -> list[Organisation]:
    return list((await session.execute(select(Organisation).order_by(Organisation.slug))).scalars())


async def add_volunteer(
    session: AsyncSession,
    email: str,
    display_name: str,
    organisation_slug: str,
    password: str,
    role: str = "volunteer",
) -> Volunteer:
    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AdminError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    email = email.strip().lower()
    if "@" not in email:
        raise AdminError("expected an e-mail address")
    org = (
        await session.execute(select(Organisation).where(Organisation.slug == organisation_slug))
    ).scalar_one_or_none()
    if org is None:
        raise AdminError(f"no organisation {organisation_slug!r} (see `bot orgs list`)")
    if await session.scalar(select(Volunteer.id).where(Volunteer.email == email)):
        raise AdminError(f"{email} has an account already")
    volunteer = Volunteer(
        organisation_id=org.id,
        email=email,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
    )
    session.add(volunteer)
    await session.flush()
    session.add(
        AuditEvent(
            actor=ACTOR,
            action="volunteer_added",
            target=f"volunteer:{volunteer.id}",
            detail={"role": role, "organisation": org.slug},
        )
    )
    return volunteer


async def disable_volunteer(session: AsyncSession, email: str) -> Volunteer:
    """No more sign-ins; the volunteer's sessions end now."""
    volunteer = (
        await session.execute(select(Volunteer).where(Volunteer.email == email.strip().lower()))
    ).scalar_one_or_none()
    if volunteer is None:
        raise AdminError(f"no account for {email}")
    volunteer.active = False
    await session.execute(delete(ConsoleSession).where(ConsoleSession.volunteer_id == volunteer.id))
    session.add(
        AuditEvent(actor=ACTOR, action="volunteer_disabled", target=f"volunteer:{volunteer.id}")
    )
    return volunteer


async def list_cases(
    session: AsyncSession, status: str | None = None, organisation_slug: str | None = None
) -> list[tuple[Case, str]]:
    query = select(Case, Organisation.slug).join(
        Organisation, Organisation.id == Case.organisation_id, isouter=True
    )
    if status:
        query = query.where(Case.status == status)
    if organisation_slug:
        query = query.where(Organisation.slug == organisation_slug)
    rows = await session.execute(query.order_by(Case.urgent.desc(), Case.created_at))
    return [(case, slug or "-") for case, slug in rows.all()]


async def _with_session(
    settings: Settings, work: Callable[[AsyncSession], Coroutine[Any, Any, None]]
) -> None:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        await check_schema(engine)
        async with session_factory(engine).begin() as session:
            await work(session)
    finally:
        await engine.dispose()


def _run(settings: Settings, work: Callable[[AsyncSession], Coroutine[Any, Any, None]]) -> int:
    try:
        asyncio.run(_with_session(settings, work))
    except AdminError as error:
        print(f"bot: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_orgs_add(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> None:
        org = await add_organisation(
            session,
            args.slug,
            args.name,
            provinces=_split(args.provinces),
            languages=_split(args.languages),
            sectors=_split(args.sectors),
            services=_split(args.services),
        )
        print(f"added organisation {org.slug} (id {org.id})")

    return _run(settings, work)


def cmd_orgs_list(settings: Settings, _args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> None:
        for org in await list_organisations(session):
            state = "active" if org.active else "inactive"
            taking = "accepting" if org.accepting_cases else "not accepting"
            provinces = ",".join(org.provinces)
            languages = ",".join(org.languages)
            print(f"{org.id}\t{org.slug}\t{state}, {taking}\t{provinces}\t{languages}\t{org.name}")

    return _run(settings, work)


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, generated). From stdin with --password-stdin, else a prompt on a
    terminal, else a new random one printed once."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise AdminError("the passwords differ")
        return first, False
    return secrets.token_urlsafe(15), True


def cmd_volunteers_add(settings: Settings, args: argparse.Namespace) -> int:
    try:
        password, generated = _password(args)
    except AdminError as error:
        print(f"bot: {error}", file=sys.stderr)
        return 1

    async def work(session: AsyncSession) -> None:
        volunteer = await add_volunteer(
            session, args.email, args.name, args.org, password, role=args.role
        )
        print(f"added {volunteer.role} {volunteer.email} (id {volunteer.id})")
        if generated:
            print(f"password (shown once, give it over a safe channel): {password}")

    return _run(settings, work)


def cmd_volunteers_disable(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> None:
        volunteer = await disable_volunteer(session, args.email)
        print(f"disabled {volunteer.email}; their sessions are ended")

    return _run(settings, work)


def cmd_cases_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> None:
        for case, slug in await list_cases(session, args.status, args.org):
            urgent = "URGENT" if case.urgent else "-"
            flag = " flagged" if case.flagged else ""
            print(
                f"{case.id}\t{case.status}{flag}\t{urgent}\t{slug}\t{case.intent or '-'}\t"
                f"{case.language or '-'}\t{case.platform or '-'}\t{case.created_at:%Y-%m-%d %H:%M}"
            )

    return _run(settings, work)


def register(subparsers: Any) -> None:
    """Add the admin commands to the `bot` parser's subparsers."""
    orgs = subparsers.add_parser("orgs", help="partner organisations").add_subparsers(
        dest="orgs_command", required=True
    )
    add = orgs.add_parser("add", help="add an organisation")
    add.add_argument("slug")
    add.add_argument("name")
    add.add_argument("--provinces", help="comma-separated, e.g. tak,bangkok or national")
    add.add_argument("--languages", help="comma-separated codes from en,th,my,km,lo")
    add.add_argument("--sectors", help="comma-separated; default all")
    add.add_argument("--services", help="comma-separated; default legal_aid")
    add.set_defaults(handler=cmd_orgs_add)
    orgs.add_parser("list", help="list organisations").set_defaults(handler=cmd_orgs_list)

    volunteers = subparsers.add_parser("volunteers", help="console accounts").add_subparsers(
        dest="volunteers_command", required=True
    )
    vadd = volunteers.add_parser("add", help="add a console account")
    vadd.add_argument("email")
    vadd.add_argument("--name", required=True, help="the name colleagues see")
    vadd.add_argument("--org", required=True, help="organisation slug")
    vadd.add_argument("--role", choices=ROLES, default="volunteer")
    vadd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    vadd.set_defaults(handler=cmd_volunteers_add)
    disable = volunteers.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("email")
    disable.set_defaults(handler=cmd_volunteers_disable)

    cases = subparsers.add_parser("cases", help="cases").add_subparsers(
        dest="cases_command", required=True
    )
    clist = cases.add_parser("list", help="list cases (no message text)")
    clist.add_argument("--status", choices=("open", "claimed", "closed"))
    clist.add_argument("--org", help="organisation slug")
    clist.set_defaults(handler=cmd_cases_list)
