"""The console's HTML: every page is built here from literal templates, values escaped."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.console.cases import OUTCOMES, QueueRow, Window
from bot.console.html import Markup, join, option, render
from bot.console.i18n import t
from bot.content import Content
from bot.storage.models import Case, Contact, Conversation, Organisation

BANGKOK = ZoneInfo("Asia/Bangkok")


def local(moment: datetime | None) -> str:
    return moment.astimezone(BANGKOK).strftime("%d %b %H:%M") if moment else ""


def waited(lang: str, since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return t(lang, "minutes", n=minutes)
    return t(lang, "hours", h=minutes // 60, m=minutes % 60)


def page(
    lang: str,
    title: str,
    body: Markup,
    *,
    user: str | None = None,
    csrf: str | None = None,
    here: str = "/console/cases",
    role: str | None = None,
) -> str:
    other = "th" if lang == "en" else "en"
    nav = Markup("")
    if user is not None and csrf is not None:
        nav = render(
            "{links}"
            '<span class="who">{user}</span>'
            '<form method="post" action="/console/logout" class="inline">'
            '<input type="hidden" name="csrf" value="{csrf}">'
            '<button class="link">{sign_out}</button></form>',
            links=nav_links(lang, role),
            user=user,
            csrf=csrf,
            sign_out=t(lang, "sign_out"),
        )
    return render(
        "<!doctype html>\n"
        '<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="same-origin">'
        "<title>{title} · {app}</title>"
        '<link rel="stylesheet" href="/console/static/console.css">'
        '<script src="/console/static/console.js" defer></script></head>'
        '<body><header class="top"><a class="brand" href="/console/cases">{app}</a>'
        '<nav><a href="/console/lang?to={other}&amp;next={here}" lang="{other}">{switch}</a>'
        "{nav}</nav></header>"
        '<main id="main">{body}</main></body></html>',
        lang=lang,
        title=title,
        app=t(lang, "app_title"),
        other=other,
        here=quote(here, safe="/"),
        switch=t(lang, "language"),
        nav=nav,
        body=body,
    )


def nav_links(lang: str, role: str | None) -> Markup:
    """Reports and the directory for coordinators and admins; broadcasts for admins."""
    links = []
    if role in ("coordinator", "admin"):
        links.append(("/console/cases", "nav_cases"))
        links.append(("/console/reports", "nav_reports"))
        links.append(("/console/organisations", "nav_organisations"))
    if role == "admin":
        links.append(("/console/broadcasts", "nav_broadcasts"))
    return join(render('<a href="{href}">{label}</a>', href=h, label=t(lang, k)) for h, k in links)


def login_page(lang: str, csrf: str, failed: bool) -> str:
    error = render('<p class="error" role="alert">{m}</p>', m=t(lang, "login_failed"))
    body = render(
        '<section class="card narrow"><h1>{title}</h1>{error}'
        '<form method="post" action="/console/login">'
        '<input type="hidden" name="csrf" value="{csrf}">'
        '<label>{email}<input type="email" name="email" autocomplete="username" required'
        " autofocus></label>"
        '<label>{password}<input type="password" name="password"'
        ' autocomplete="current-password" required></label>'
        '<button class="primary">{sign_in}</button></form></section>',
        title=t(lang, "login_title"),
        error=error if failed else Markup(""),
        csrf=csrf,
        email=t(lang, "email"),
        password=t(lang, "password"),
        sign_in=t(lang, "sign_in"),
    )
    return page(lang, t(lang, "login_title"), body, here="/console/login")


def error_page(lang: str, key: str, user: str | None = None, csrf: str | None = None) -> str:
    body = render(
        '<section class="card narrow"><p class="error" role="alert">{m}</p>'
        '<p><a href="/console/cases">{back}</a></p></section>',
        m=t(lang, key),
        back=t(lang, "back_to_queue"),
    )
    return page(lang, t(lang, key), body, user=user, csrf=csrf)


def status_text(lang: str, status: str, claimed_by_name: str | None) -> str:
    if status == "claimed":
        return t(lang, "status_claimed", name=claimed_by_name or "?")
    return t(lang, f"status_{status}")


def topic_label(lang: str, content: Content, intent: str | None, kind: str) -> str:
    text = content.topic(lang, intent) if intent else None
    return text.title if text else t(lang, f"kind_{kind}")


def queue_rows(lang: str, rows: list[QueueRow], content: Content, now: datetime) -> Markup:
    if not rows:
        return render('<tr><td colspan="7" class="empty">{m}</td></tr>', m=t(lang, "no_cases"))
    out = []
    for row in rows:
        badges = []
        if row.urgent:
            badges.append(render('<span class="badge urgent">{m}</span>', m=t(lang, "urgent")))
        if row.flagged:
            badges.append(render('<span class="badge flag">{m}</span>', m=t(lang, "flagged")))
        out.append(
            render(
                '<tr class="{cls}" data-case="{id}">'
                '<td data-label="{l_case}"><a href="/console/cases/{id}">#{id}</a> {badges}</td>'
                '<td data-label="{l_topic}">{topic}</td>'
                '<td data-label="{l_lang}">{language}</td>'
                '<td data-label="{l_channel}">{platform}</td>'
                '<td data-label="{l_province}">{province}</td>'
                '<td data-label="{l_waiting}">{waiting}</td>'
                '<td data-label="{l_status}"><span>{status}<br><small>{org}</small></span>'
                "</td></tr>",
                cls=("urgent " if row.urgent else "") + row.status,
                id=row.id,
                badges=join(badges, " "),
                topic=topic_label(lang, content, row.intent, row.kind),
                language=t(lang, f"lang_{row.language or 'und'}"),
                platform=row.platform or "",
                province=(row.province or "").replace("_", " ").title(),
                waiting=waited(lang, row.created_at, now),
                status=status_text(lang, row.status, row.claimed_by_name),
                org=row.organisation,
                l_case=t(lang, "col_case"),
                l_topic=t(lang, "col_topic"),
                l_lang=t(lang, "col_language"),
                l_channel=t(lang, "col_channel"),
                l_province=t(lang, "col_province"),
                l_waiting=t(lang, "col_waiting"),
                l_status=t(lang, "col_status"),
            )
        )
    return join(out)


def queue_page(
    lang: str, rows: Markup, status: str, user: str, csrf: str, role: str | None = None
) -> str:
    tab = '<a href="/console/cases{q}" class="tab{cls}">{label}</a>'
    tabs = join(
        [
            render(tab, q="", cls=" on" if status != "closed" else "", label=t(lang, "tab_active")),
            render(
                tab,
                q="?status=closed",
                cls=" on" if status == "closed" else "",
                label=t(lang, "tab_closed"),
            ),
        ]
    )
    body = render(
        '<div class="bar"><h1>{title}</h1><span id="live" class="live" data-live="{live}"'
        ' data-offline="{offline}"></span></div><div class="tabs">{tabs}</div>'
        '<table class="queue"><thead><tr><th>{c1}</th><th>{c2}</th><th>{c3}</th><th>{c4}</th>'
        "<th>{c5}</th><th>{c6}</th><th>{c7}</th></tr></thead>"
        '<tbody id="queue" data-stream="{stream}">{rows}</tbody></table>',
        title=t(lang, "queue_title"),
        live=t(lang, "live"),
        offline=t(lang, "offline"),
        tabs=tabs,
        stream="/console/events" if status != "closed" else "",
        c1=t(lang, "col_case"),
        c2=t(lang, "col_topic"),
        c3=t(lang, "col_language"),
        c4=t(lang, "col_channel"),
        c5=t(lang, "col_province"),
        c6=t(lang, "col_waiting"),
        c7=t(lang, "col_status"),
        rows=rows,
    )
    here = "/console/cases" + ("?status=closed" if status == "closed" else "")
    return page(lang, t(lang, "queue_title"), body, user=user, csrf=csrf, here=here, role=role)


def form(action: str, csrf: str, inner: Markup, cls: str = "") -> Markup:
    """A POST form carrying the CSRF token."""
    return render(
        '<form method="post" action="{action}" class="{cls}">'
        '<input type="hidden" name="csrf" value="{csrf}">{inner}</form>',
        action=action,
        csrf=csrf,
        inner=inner,
        cls=cls,
    )


def message_items(lang: str, items: list[dict]) -> Markup:
    return join(
        render(
            '<li class="msg {direction} {sender}" data-id="{id}"><span class="meta">{who} · {at}'
            '</span><span class="text">{text}</span></li>',
            direction=m["direction"],
            sender=m["sender"],
            id=m["id"],
            who=t(lang, f"sender_{m['sender']}"),
            at=local(datetime.fromisoformat(m["at"])),
            text=m["text"],
        )
        for m in items
    )


def _answer(lang: str, value: object) -> str:
    return {"yes": t(lang, "answer_yes"), "no": t(lang, "answer_no")}.get(
        str(value), t(lang, "unknown")
    )


def case_page(
    lang: str,
    *,
    case: Case,
    contact: Contact | None,
    conversation: Conversation | None,
    details: dict,
    organisation: str,
    claimed_by_name: str | None,
    items: list[dict],
    notes: list[dict],
    window: Window | None,
    canned: list[tuple[str, str]],
    organisations: list[Organisation],
    categories: list[tuple[str, str]],
    account_id: int,
    user: str,
    csrf: str,
    error: str | None,
) -> str:
    base = f"/console/cases/{case.id}"
    closed = case.status == "closed"
    holder = case.status == "claimed" and case.claimed_by == account_id
    notices = []
    if error:
        notices.append(render('<p class="error" role="alert">{m}</p>', m=t(lang, error)))
    if case.flagged:
        notices.append(render('<p class="notice flag">{m}</p>', m=t(lang, "flagged_note")))
    if conversation is not None and conversation.handler == "bot" and case.status == "claimed":
        notices.append(render('<p class="notice">{m}</p>', m=t(lang, "handler_bot")))
    if contact is not None and contact.erase_requested_at is not None and not closed:
        notices.append(render('<p class="notice">{m}</p>', m=t(lang, "erase_pending")))

    window_text = ""
    if window is not None:
        window_text = t(
            lang, window.key, until=local(window.until), used=window.used, quota=window.quota
        )
    facts = render(
        '<dl class="facts"><dt>{l_lang}</dt><dd>{language}</dd><dt>{l_channel}</dt>'
        "<dd>{platform}</dd><dt>{l_province}</dt><dd>{province}</dd><dt>{l_sector}</dt>"
        "<dd>{sector}</dd><dt>{l_safe}</dt><dd>{safe}</dd><dt>{l_later}</dt><dd>{later}</dd>"
        '<dt>{l_window}</dt><dd class="window {wkey}">{window}</dd></dl>',
        l_lang=t(lang, "worker_language"),
        language=t(
            lang, f"lang_{(contact.language if contact else None) or case.language or 'und'}"
        ),
        l_channel=t(lang, "channel"),
        platform=case.platform or "",
        l_province=t(lang, "province"),
        province=(case.province or "—").replace("_", " ").title(),
        l_sector=t(lang, "sector"),
        sector=(case.sector or "—").replace("_", " "),
        l_safe=t(lang, "safe_now"),
        safe=_answer(lang, details.get("safe_now")),
        l_later=t(lang, "contact_later"),
        later=_answer(lang, details.get("contact_later")),
        l_window=t(lang, "reply_window"),
        wkey=window.key if window else "",
        window=window_text or "—",
    )

    actions = []
    if case.status == "open":
        actions.append(
            form(
                f"{base}/claim",
                csrf,
                render('<button class="primary">{m}</button>', m=t(lang, "claim")),
                "inline",
            )
        )
    if case.status == "claimed":
        actions.append(
            form(
                f"{base}/release",
                csrf,
                render("<button>{m}</button>", m=t(lang, "release")),
                "inline",
            )
        )
    if not closed:
        orgs = join(
            option(str(o.id), o.name) for o in organisations if o.id != case.organisation_id
        )
        actions.append(
            form(
                f"{base}/transfer",
                csrf,
                render(
                    '<label>{l}<select name="organisation">{orgs}</select></label>'
                    "<button>{b}</button>",
                    l=t(lang, "transfer_to"),
                    orgs=orgs,
                    b=t(lang, "transfer"),
                ),
                "row",
            )
        )
        outcomes = join(option(o, t(lang, f"outcome_{o}")) for o in OUTCOMES)
        actions.append(
            form(
                f"{base}/close",
                csrf,
                render(
                    '<label>{l}<select name="outcome">{outcomes}</select></label>'
                    '<button class="danger">{b}</button>',
                    l=t(lang, "outcome"),
                    outcomes=outcomes,
                    b=t(lang, "close"),
                ),
                "row",
            )
        )
    cats = join(option(value, label, value == case.category) for value, label in categories)
    actions.append(
        form(
            f"{base}/category",
            csrf,
            render(
                '<label>{l}<select name="category"><option value="">—</option>{cats}</select>'
                "</label><button>{b}</button>",
                l=t(lang, "category"),
                cats=cats,
                b=t(lang, "set_category"),
            ),
            "row",
        )
    )

    if holder:
        canned_buttons = join(
            render(
                '<button type="button" class="canned" data-text="{text}">{label}</button>',
                text=text,
                label=label,
            )
            for label, text in canned
        )
        reply = render(
            '<section class="card"><h2>{title}</h2><p class="hint">{canned_l}</p>'
            '<div class="canned-list">{canned}</div>{form}</section>',
            title=t(lang, "reply"),
            canned_l=t(lang, "canned"),
            canned=canned_buttons,
            form=form(
                f"{base}/reply",
                csrf,
                render(
                    '<textarea id="reply" name="text" rows="4" maxlength="2000" required'
                    ' placeholder="{ph}"></textarea><button class="primary">{b}</button>',
                    ph=t(lang, "reply_placeholder"),
                    b=t(lang, "send"),
                ),
                "reply",
            ),
        )
    elif not closed:
        reply = render('<p class="hint">{m}</p>', m=t(lang, "claim_to_reply"))
    else:
        reply = Markup("")

    note_items = join(
        render(
            '<li><span class="meta">{who} · {at}</span><span class="text">{text}</span></li>',
            who=n["author"],
            at=local(n["at"]),
            text=n["text"],
        )
        for n in notes
    ) or render('<li class="empty">{m}</li>', m=t(lang, "no_notes"))
    notes_html = render(
        '<section class="card"><h2>{title}</h2><p class="hint">{help}</p>'
        '<ul class="notes">{items}</ul>{form}</section>',
        title=t(lang, "notes"),
        help=t(lang, "notes_help"),
        items=note_items,
        form=form(
            f"{base}/note",
            csrf,
            render(
                '<textarea name="text" rows="2" maxlength="4000" required></textarea>'
                "<button>{b}</button>",
                b=t(lang, "add_note"),
            ),
        ),
    )
    last_id = items[-1]["id"] if items else 0
    body = render(
        '<p><a href="/console/cases">{back}</a></p>'
        '<div class="bar"><h1>{title} {badge}</h1><span id="live" class="live" data-live="{live}"'
        ' data-offline="{offline}"></span></div>'
        '<p class="status"><span id="case-status">{status}</span> · {org}</p>{notices}'
        '<div class="grid"><div class="main-col">'
        '<section class="card"><h2>{conv}</h2>'
        '<ol id="messages" class="messages" data-stream="{base}/events" data-after="{last}"'
        ' data-user="{s_user}" data-bot="{s_bot}" data-volunteer="{s_vol}">{items}</ol>'
        "</section>{reply}</div>"
        '<aside class="side-col"><section class="card">{facts}<div class="actions">{actions}'
        "</div></section>{notes}</aside></div>",
        back=t(lang, "back_to_queue"),
        title=t(lang, "case_title", id=case.id),
        badge=render('<span class="badge urgent">{m}</span>', m=t(lang, "urgent"))
        if case.urgent
        else Markup(""),
        live=t(lang, "live"),
        offline=t(lang, "offline"),
        status=status_text(lang, case.status, claimed_by_name),
        org=organisation,
        notices=join(notices),
        conv=t(lang, "conversation"),
        base=base,
        last=last_id,
        s_user=t(lang, "sender_user"),
        s_bot=t(lang, "sender_bot"),
        s_vol=t(lang, "sender_volunteer"),
        items=message_items(lang, items)
        or render('<li class="empty">{m}</li>', m=t(lang, "no_messages")),
        reply=reply,
        facts=facts,
        actions=join(actions),
        notes=notes_html,
    )
    return page(lang, t(lang, "case_title", id=case.id), body, user=user, csrf=csrf, here=base)
