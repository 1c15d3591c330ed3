"""Console pages /console/broadcasts (admins only): compose, preview, schedule, follow.

Broadcast texts are written by admins and shown back escaped like everything else.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from sqlalchemy import select

from bot import broadcasts as bc
from bot.console import cases, pages
from bot.console.auth import Account
from bot.console.html import join, option, render
from bot.console.i18n import t
from bot.console.views import (
    console_page,
    deny,
    language,
    locked_or_404,
    path_action,
    path_id,
    services_of,
    signed_in,
)
from bot.storage.models import Broadcast, utcnow
from handlers.escalation import PROVINCES
from nlu.types import LANGUAGES

MAX_TEXT = 2000  # fits one message on every platform (Messenger's limit)
PLATFORMS = ("line", "telegram", "messenger", "webchat")


async def _deny(request: web.Request, account: Account) -> web.Response:
    return await deny(request, account, "broadcasts")


def _audit(session, account: Account, action: str, broadcast_id: int | None, **detail):  # type: ignore[no-untyped-def]
    cases.audit(session, account, action, **detail, broadcast=broadcast_id)


def _audience_text(lang: str, b: Broadcast) -> str:
    province = (b.province or "").replace("_", " ").title() or t(lang, "bc_all_provinces")
    language_ = t(lang, f"lang_{b.language}") if b.language else t(lang, "bc_all_languages")
    return f"{t(lang, 'bc_topic_' + b.topic)} · {province} · {language_}"


@signed_in
async def list_view(request: web.Request, account: Account) -> web.Response:
    if account.role != "admin":
        return await _deny(request, account)
    lang = language(request)
    async with services_of(request).db.begin() as session:
        rows = (
            (await session.execute(select(Broadcast).order_by(Broadcast.id.desc()).limit(100)))
            .scalars()
            .all()
        )
        progress = {b.id: await bc.progress(session, b) for b in rows}
        _audit(session, account, "view_broadcasts", None)
    items = join(
        render(
            '<tr><td><a href="/console/broadcasts/{id}">#{id}</a></td><td>{aud}</td>'
            "<td>{status}</td><td>{when}</td><td>{delivered} / {audience}</td></tr>",
            id=b.id,
            aud=_audience_text(lang, b),
            status=t(lang, f"bc_status_{b.status}"),
            when=pages.local(b.scheduled_at),
            delivered=progress[b.id].delivered,
            audience=b.audience or "—",
        )
        for b in rows
    ) or pages.empty_row(5, t(lang, "bc_none"))
    texts = join(
        render(
            '<label>{name}<textarea name="text_{code}" rows="3" maxlength="{max}" lang="{code}">'
            "</textarea></label>",
            name=t(lang, f"lang_{code}"),
            code=code,
            max=MAX_TEXT,
        )
        for code in LANGUAGES
    )
    form = pages.form(
        "/console/broadcasts",
        account.csrf,
        render(
            '<label>{l_topic}<select name="topic">{topics}</select></label>'
            '<label>{l_prov}<select name="province"><option value="">{all_p}</option>{provs}'
            "</select></label>"
            '<label>{l_lang}<select name="language"><option value="">{all_l}</option>{langs}'
            "</select></label>{texts}"
            '<button class="primary">{save}</button>',
            l_topic=t(lang, "bc_topic"),
            topics=join(option(x, t(lang, f"bc_topic_{x}")) for x in bc.TOPICS),
            l_prov=t(lang, "col_province"),
            all_p=t(lang, "bc_all_provinces"),
            provs=join(option(p, p.replace("_", " ").title()) for p in PROVINCES),
            l_lang=t(lang, "col_language"),
            all_l=t(lang, "bc_all_languages"),
            langs=join(option(code, t(lang, f"lang_{code}")) for code in LANGUAGES),
            texts=texts,
            save=t(lang, "bc_save"),
        ),
        "compose",
    )
    columns = ("bc_audience", "col_status", "bc_when", "bc_delivered")
    body = pages.list_body(
        t(lang, "bc_title"),
        ["#", *(t(lang, c) for c in columns)],
        items,
        pages.card(t(lang, "bc_new"), t(lang, "bc_help"), form),
    )
    return console_page(lang, account, t(lang, "bc_title"), body, "/console/broadcasts")


@signed_in
async def create(request: web.Request, account: Account) -> web.StreamResponse:
    if account.role != "admin":
        return await _deny(request, account)
    form = await request.post()
    topic = str(form.get("topic", ""))
    province = str(form.get("province", "")) or None
    lang_ = str(form.get("language", "")) or None
    if (
        topic not in bc.TOPICS
        or (province and province not in PROVINCES)
        or (lang_ and lang_ not in LANGUAGES)
    ):
        raise web.HTTPBadRequest(text="bad audience")
    texts = {code: str(form.get(f"text_{code}", "")).strip()[:MAX_TEXT] for code in LANGUAGES}
    async with services_of(request).db.begin() as session:
        broadcast = Broadcast(
            topic=topic,
            province=province,
            language=lang_,
            texts={k: v for k, v in texts.items() if v},
            status="draft",
            created_by=account.id,
        )
        session.add(broadcast)
        await session.flush()
        _audit(session, account, "broadcast_created", broadcast.id, topic=topic)
        broadcast_id = broadcast.id
    raise web.HTTPSeeOther(f"/console/broadcasts/{broadcast_id}")


def _id(request: web.Request) -> int:
    return path_id(request, "broadcast_id")


@signed_in
async def detail_view(request: web.Request, account: Account) -> web.Response:
    if account.role != "admin":
        return await _deny(request, account)
    lang = language(request)
    services = services_of(request)
    broadcast_id = _id(request)
    async with services.db.begin() as session:
        b = await session.get(Broadcast, broadcast_id)
        if b is None:
            raise web.HTTPNotFound()
        audience = await bc.audience_by_platform(session, b.topic, b.province, b.language)
        line_left = await bc.line_remaining(session, services)
        progress = await bc.progress(session, b)
        _audit(session, account, "view_broadcast", b.id)
    missing = bc.missing_languages(b.texts)
    line_n = audience.get("line", 0)
    cost = render(
        '<p class="{cls}">{m}</p>',
        cls="notice flag" if line_left is not None and line_n > line_left else "hint",
        m=t(
            lang,
            "bc_line_cost",
            n=line_n,
            left=t(lang, "bc_unlimited") if line_left is None else line_left,
        ),
    )
    audience_list = join(
        render("<dt>{p}</dt><dd>{n}</dd>", p=p, n=audience.get(p, 0)) for p in PLATFORMS
    )
    previews = []
    for code in LANGUAGES:
        text = str(b.texts.get(code) or "")
        per_platform = join(
            render(
                '<div class="preview {p}{over}"><span class="meta">{p} · {n}/{max}</span>'
                '<span class="bubble">{text}</span><span class="stop">[{stop}]</span></div>',
                p=p,
                over=" over" if len(text) > bc.PLATFORM_LIMITS[p] else "",
                n=len(text),
                max=bc.PLATFORM_LIMITS[p],
                text=text or "—",
                stop=services.content.ui(code, "subs_stop_button"),
            )
            for p in PLATFORMS
        )
        previews.append(
            render(
                '<section class="card"><h3>{name}</h3><div class="previews">{pp}</div></section>',
                name=t(lang, f"lang_{code}"),
                pp=per_platform,
            )
        )
    actions = []
    if b.status == "draft":
        if missing:
            actions.append(
                render(
                    '<p class="error">{m}</p>',
                    m=t(lang, "bc_missing", langs=", ".join(t(lang, f"lang_{m}") for m in missing)),
                )
            )
        else:
            actions.append(
                pages.form(
                    f"/console/broadcasts/{b.id}/schedule",
                    account.csrf,
                    render(
                        '<label>{l}<input type="datetime-local" name="at"></label>'
                        '<button class="primary">{b}</button>',
                        l=t(lang, "bc_when_help"),
                        b=t(lang, "bc_schedule"),
                    ),
                    "row",
                )
            )
    if b.status in ("draft", "scheduled", "sending"):
        actions.append(
            pages.button_form(
                f"/console/broadcasts/{b.id}/cancel", account.csrf, t(lang, "bc_cancel"), "danger"
            )
        )
    stats = render(
        '<dl class="facts" id="bc-progress" data-refresh="{refresh}"><dt>{l_status}</dt>'
        "<dd>{status}</dd>"
        "<dt>{l_aud}</dt><dd>{aud}</dd><dt>{l_handled}</dt><dd>{handled}</dd>"
        "<dt>{l_del}</dt><dd>{delivered}</dd><dt>{l_pend}</dt><dd>{pending}</dd>"
        "<dt>{l_skip}</dt><dd>{skipped} ({sw} + {sq})</dd>"
        "<dt>{l_fail}</dt><dd>{failed}</dd></dl>",
        refresh=10 if b.status in ("scheduled", "sending") else 0,
        l_status=t(lang, "col_status"),
        status=t(lang, f"bc_status_{b.status}"),
        l_aud=t(lang, "bc_audience_size"),
        aud=progress.audience or sum(audience.values()),
        l_handled=t(lang, "bc_handled"),
        handled=progress.handled,
        l_del=t(lang, "bc_delivered"),
        delivered=progress.delivered,
        l_pend=t(lang, "bc_pending"),
        pending=progress.pending,
        l_skip=t(lang, "bc_skipped"),
        skipped=progress.skipped,
        sw=t(lang, "bc_skipped_window", n=progress.skipped_window),
        sq=t(lang, "bc_skipped_quota", n=progress.skipped_quota),
        l_fail=t(lang, "bc_failed"),
        failed=progress.failed,
    )
    body = render(
        '<p><a href="/console/broadcasts">{back}</a></p>'
        '<div class="bar"><h1>{title}</h1><a href="/console/broadcasts/{id}">{refresh}</a></div>'
        '<p class="status">{aud}</p>'
        '<div class="grid"><div class="main-col">{previews}</div>'
        '<aside class="side-col"><section class="card">{stats}<h3>{l_plat}</h3>'
        '<dl class="facts">{alist}</dl>{cost}<div class="actions">{actions}</div></section>'
        "</aside></div>",
        back=t(lang, "bc_title"),
        title=t(lang, "bc_one", id=b.id),
        id=b.id,
        refresh=t(lang, "bc_refresh"),
        aud=_audience_text(lang, b),
        previews=join(previews),
        stats=stats,
        l_plat=t(lang, "bc_by_platform"),
        alist=audience_list,
        cost=cost,
        actions=join(actions),
    )
    return console_page(
        lang, account, t(lang, "bc_one", id=b.id), body, f"/console/broadcasts/{b.id}"
    )


@signed_in
async def action(request: web.Request, account: Account) -> web.StreamResponse:
    if account.role != "admin":
        return await _deny(request, account)
    broadcast_id = _id(request)
    what = path_action(request, ("schedule", "cancel"))
    form = await request.post()
    async with services_of(request).db.begin() as session:
        b = await locked_or_404(session, Broadcast, broadcast_id)
        if what == "schedule":
            if b.status != "draft" or bc.missing_languages(b.texts):
                raise web.HTTPConflict(text="all five languages are needed, once")
            b.status = "scheduled"
            b.scheduled_at = _when(str(form.get("at", "")))
        elif b.status in ("draft", "scheduled", "sending"):
            b.status = "cancelled"
            b.finished_at = utcnow()
        _audit(session, account, f"broadcast_{what}", b.id)
    raise web.HTTPSeeOther(f"/console/broadcasts/{broadcast_id}")


def _when(value: str) -> datetime:
    """A datetime-local value in Bangkok time; empty or in the past means now."""
    now = utcnow()
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=pages.BANGKOK)
    except ValueError:
        return now
    return max(moment.astimezone(now.tzinfo), now)
