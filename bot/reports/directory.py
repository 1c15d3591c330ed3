"""The shared organisation directory: /console/organisations (coordinators and admins).

Coordinators keep their own organisation's entry current (what routing reads: provinces,
languages, sectors, services, accepting new cases; and hours and public contacts). Anyone
with those roles may propose a new organisation; it stays inactive (routing ignores it)
until an admin approves it. Each entry shows what differs from content/organisations.yml.
Every view and change is audited (field names only).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.console import cases, pages
from bot.console.auth import Account
from bot.console.html import Markup, join, render
from bot.console.i18n import t
from bot.console.views import (
    console_page,
    deny,
    forbidden,
    language,
    locked_or_404,
    path_action,
    path_id,
    services_of,
    signed_in,
)
from bot.content_check import SERVICES
from bot.storage.models import Organisation
from handlers.escalation import PROVINCES
from handlers.escalation import SECTORS as ESCALATION_SECTORS
from nlu.types import LANGUAGES

SECTORS = ("all", *ESCALATION_SECTORS)  # what the escalation questions ask
SLUG = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
FIELDS = (
    "name",
    "provinces",
    "languages",
    "sectors",
    "services",
    "accepting_cases",
    "hours",
    "public_contacts",
)


def may_edit(account: Account, org: Organisation) -> bool:
    return account.role == "admin" or (
        account.role == "coordinator" and org.id == account.organisation_id
    )


def _words(value: str, allowed: tuple[str, ...] | frozenset[str] | None = None) -> list[str]:
    out = []
    for word in re.split(r"[,\s]+", value.strip().lower()):
        if word and (allowed is None or word in allowed) and word not in out:
            out.append(word[:32])
    return out


def differences(org: Organisation, entry: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """(field, in the content file, in the database) for every field that differs."""
    if entry is None:
        return [("entry", "—", org.slug)]
    file_contacts = [
        str(c.get("value", c)) if isinstance(c, dict) else str(c)
        for c in entry.get("contacts", []) or []
    ]
    pairs = {
        "name": (str(entry.get("name", "")), org.name),
        "provinces": (sorted(entry.get("provinces", []) or []), sorted(org.provinces or [])),
        "languages": (sorted(entry.get("languages", []) or []), sorted(org.languages or [])),
        "sectors": (sorted(entry.get("sectors", []) or []), sorted(org.sectors or [])),
        "services": (sorted(entry.get("services", []) or []), sorted(org.services or [])),
        "public_contacts": (file_contacts, list(org.public_contacts or [])),
    }
    out = []
    for field, (in_file, in_db) in pairs.items():
        if in_db != in_file and not (field == "public_contacts" and org.public_contacts is None):
            show = ", ".join(v for v in in_file) if isinstance(in_file, list) else in_file
            now = ", ".join(v for v in in_db) if isinstance(in_db, list) else in_db
            out.append((field, show or "—", now or "—"))
    return out


async def _deny(request: web.Request, account: Account) -> web.Response:
    return await deny(request, account, "organisations")


@signed_in
async def list_view(request: web.Request, account: Account) -> web.Response:
    if account.role not in ("coordinator", "admin"):
        return await _deny(request, account)
    lang = language(request)
    async with services_of(request).db.begin() as session:
        orgs = (await session.execute(select(Organisation).order_by(Organisation.name))).scalars()
        orgs = list(orgs)
        cases.audit(session, account, "view_directory")
    rows = join(
        render(
            '<tr><td><a href="/console/organisations/{id}">{name}</a></td><td>{prov}</td>'
            "<td>{langs}</td><td>{state}</td></tr>",
            id=o.id,
            name=o.name,
            prov=", ".join(o.provinces or []),
            langs=", ".join(o.languages or []),
            state=t(lang, "org_pending")
            if not o.approved
            else t(lang, "org_accepting" if o.accepting_cases and o.active else "org_closed"),
        )
        for o in orgs
    )
    propose = pages.form(
        "/console/organisations",
        account.csrf,
        render(
            '<label>{l_slug}<input name="slug" required pattern="[a-z][a-z0-9_]{{2,63}}"></label>'
            '<label>{l_name}<input name="name" required maxlength="200"></label>'
            "<button>{b}</button>",
            l_slug=t(lang, "org_slug"),
            l_name=t(lang, "org_name"),
            b=t(lang, "org_propose"),
        ),
        "row",
    )
    columns = ("org_name", "col_province", "col_language", "col_status")
    body = pages.list_body(
        t(lang, "org_title"),
        [t(lang, c) for c in columns],
        rows,
        pages.card(t(lang, "org_propose"), t(lang, "org_propose_help"), propose),
    )
    return console_page(lang, account, t(lang, "org_title"), body, "/console/organisations")


@signed_in
async def propose(request: web.Request, account: Account) -> web.StreamResponse:
    if account.role not in ("coordinator", "admin"):
        return await _deny(request, account)
    form = await request.post()
    slug = str(form.get("slug", "")).strip().lower()
    name = str(form.get("name", "")).strip()[:200]
    if not SLUG.match(slug) or not name:
        raise web.HTTPBadRequest(text="slug: a-z, 0-9 and _, 3 to 64 characters; and a name")
    async with services_of(request).db.begin() as session:
        if await session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
            raise web.HTTPConflict(text="an organisation with this short name exists")
        org = Organisation(
            slug=slug,
            name=name,
            provinces=[],
            languages=[],
            sectors=["all"],
            services=["legal_aid"],
            active=False,
            approved=False,
        )
        session.add(org)
        await session.flush()
        cases.audit(session, account, "org_proposed", organisation=org.id)
        org_id = org.id
    raise web.HTTPSeeOther(f"/console/organisations/{org_id}")


def _id(request: web.Request) -> int:
    return path_id(request, "org_id")


def _checkboxes(name: str, options: Any, chosen: list[str], label: Any = str) -> Markup:
    return join(
        render(
            '<label class="check"><input type="checkbox" name="{name}" value="{v}"{on}>'
            " {label}</label>",
            name=name,
            v=v,
            on=Markup(" checked" if v in chosen else ""),
            label=label(v),
        )
        for v in options
    )


@signed_in
async def detail_view(request: web.Request, account: Account) -> web.Response:
    if account.role not in ("coordinator", "admin"):
        return await _deny(request, account)
    lang = language(request)
    services = services_of(request)
    async with services.db.begin() as session:
        org = await session.get(Organisation, _id(request))
        if org is None:
            raise web.HTTPNotFound()
        cases.audit(session, account, "view_organisation", organisation=org.id)
    diff = differences(org, services.content.organisations.get(org.slug))
    diff_html = join(
        render("<tr><td>{f}</td><td>{a}</td><td>{b}</td></tr>", f=t(lang, f"org_f_{f}"), a=a, b=b)
        for f, a, b in diff
    ) or pages.empty_row(3, t(lang, "org_same"))
    editable = may_edit(account, org)
    form = Markup("")
    if editable:
        form = pages.form(
            f"/console/organisations/{org.id}/edit",
            account.csrf,
            render(
                '<label>{l_name}<input name="name" value="{name}" maxlength="200" required>'
                "</label><fieldset><legend>{l_serv}</legend>{serv}</fieldset>"
                "<fieldset><legend>{l_prov}</legend>{prov}</fieldset>"
                "<fieldset><legend>{l_lang}</legend>{langs}</fieldset>"
                "<fieldset><legend>{l_sect}</legend>{sect}</fieldset>"
                '<label>{l_hours}<input name="hours" value="{hours}" maxlength="200"></label>'
                '<label>{l_contacts}<textarea name="public_contacts" rows="3">{contacts}'
                "</textarea></label>"
                '<label class="check"><input type="checkbox" name="accepting_cases" value="1"'
                "{acc}> {l_acc}</label>"
                '<button class="primary">{save}</button>',
                l_name=t(lang, "org_name"),
                name=org.name,
                l_serv=t(lang, "org_f_services"),
                serv=_checkboxes("services", sorted(SERVICES), org.services or []),
                l_prov=t(lang, "org_f_provinces"),
                prov=_checkboxes(
                    "provinces",
                    sorted(set(PROVINCES) | set(org.provinces or [])),
                    org.provinces or [],
                    lambda p: p.replace("_", " ").title(),
                ),
                l_lang=t(lang, "org_f_languages"),
                langs=_checkboxes(
                    "languages", LANGUAGES, org.languages or [], lambda c: t(lang, f"lang_{c}")
                ),
                l_sect=t(lang, "org_f_sectors"),
                sect=_checkboxes("sectors", SECTORS, org.sectors or []),
                l_hours=t(lang, "org_f_hours"),
                hours=org.hours or "",
                l_contacts=t(lang, "org_f_public_contacts"),
                contacts="\n".join(org.public_contacts or []),
                acc=Markup(" checked" if org.accepting_cases else ""),
                l_acc=t(lang, "org_f_accepting_cases"),
                save=t(lang, "org_save"),
            ),
            "compose",
        )
    approve = Markup("")
    if account.role == "admin" and not org.approved:
        approve = pages.button_form(
            f"/console/organisations/{org.id}/approve",
            account.csrf,
            t(lang, "org_approve"),
            "primary",
        )
    body = render(
        '<p><a href="/console/organisations">{back}</a></p><div class="bar"><h1>{name}</h1>'
        "</div>{pending}{approve}"
        '<div class="grid"><div class="main-col"><section class="card">{form}{readonly}'
        "</section></div>"
        '<aside class="side-col">{diff}</aside></div>',
        back=t(lang, "org_title"),
        name=org.name,
        pending=render('<p class="notice flag">{m}</p>', m=t(lang, "org_pending"))
        if not org.approved
        else Markup(""),
        approve=approve,
        form=form,
        readonly=Markup("")
        if editable
        else render('<p class="hint">{m}</p>', m=t(lang, "org_read_only")),
        diff=pages.card(
            t(lang, "org_diff"),
            t(lang, "org_diff_help"),
            pages.table(["", t(lang, "org_in_file"), t(lang, "org_in_db")], diff_html),
        ),
    )
    return console_page(lang, account, org.name, body, f"/console/organisations/{org.id}")


@signed_in
async def action(request: web.Request, account: Account) -> web.StreamResponse:
    org_id = _id(request)
    what = path_action(request, ("edit", "approve"))
    form = await request.post()
    async with services_of(request).db.begin() as session:
        org = await locked_or_404(session, Organisation, org_id)
        if what == "approve":
            if account.role != "admin":
                cases.audit(session, account, "access_denied", organisation=org_id, act=what)
                return forbidden(language(request), account)
            org.approved = True
            org.active = True
            cases.audit(session, account, "org_approved", organisation=org_id)
        else:
            if not may_edit(account, org):
                cases.audit(session, account, "access_denied", organisation=org_id, act=what)
                return forbidden(language(request), account)
            new: dict[str, Any] = {
                "name": str(form.get("name", "")).strip()[:200] or org.name,
                "services": [s for s in form.getall("services", []) if s in SERVICES],
                "provinces": _words(" ".join(str(p) for p in form.getall("provinces", []))),
                "languages": [x for x in form.getall("languages", []) if x in LANGUAGES],
                "sectors": [x for x in form.getall("sectors", []) if x in SECTORS] or ["all"],
                "accepting_cases": form.get("accepting_cases") == "1",
                "hours": str(form.get("hours", "")).strip()[:200] or None,
                "public_contacts": [
                    line.strip()[:200]
                    for line in str(form.get("public_contacts", "")).splitlines()
                    if line.strip()
                ][:10],
            }
            changed = [f for f in FIELDS if getattr(org, f) != new[f]]
            for field in changed:
                setattr(org, field, new[field])
            cases.audit(session, account, "org_edited", organisation=org_id, fields=changed)
    raise web.HTTPSeeOther(f"/console/organisations/{org_id}")
