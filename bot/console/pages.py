"""The console's HTML: every page is built here from literal templates, values escaped."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.console.cases import OUTCOMES, QueueRow, Window
from bot.console.html import Markup, join, option, render
from bot.console.i18n import t
from bot.content import Content
from bot.storage.models import Case, Contact, Conversation, Organisation

BANGKOK = ZoneInfo("Asia/Bangkok")
# The queue's columns: the table's headings and each row's data-label (the narrow layout
# shows it beside the value) come from this one list, so they cannot drift apart.
QUEUE_COLUMNS = (
    "col_case",
    "col_topic",
    "col_language",
    "col_channel",
    "col_province",
    "col_waiting",
    "col_status",
)


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
        return empty_row(len(QUEUE_COLUMNS), t(lang, "no_cases"))
    out = []
    for row in rows:
        badges = []
        if row.urgent:
            badges.append(render('<span class="badge urgent">{m}</span>', m=t(lang, "urgent")))
        if row.flagged:
            badges.append(render('<span class="badge flag">{m}</span>', m=t(lang, "flagged")))
        values = (
            render(
                '<a href="/console/cases/{id}">#{id}</a> {badges}',
                id=row.id,
                badges=join(badges, " "),
            ),
            topic_label(lang, content, row.intent, row.kind),
            t(lang, f"lang_{row.language or 'und'}"),
            row.platform or "",
            (row.province or "").replace("_", " ").title(),
            waited(lang, row.created_at, now),
            render(
                "<span>{status}<br><small>{org}</small></span>",
                status=status_text(lang, row.status, row.claimed_by_name),
                org=row.organisation,
            ),
        )
        out.append(
            render(
                '<tr class="{cls}" data-case="{id}">{cells}</tr>',
                cls=("urgent " if row.urgent else "") + row.status,
                id=row.id,
                cells=join(
                    render('<td data-label="{label}">{value}</td>', label=t(lang, c), value=v)
                    for c, v in zip(QUEUE_COLUMNS, values, strict=True)
                ),
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
        '<table class="queue"><thead><tr>{head}</tr></thead>'
        '<tbody id="queue" data-stream="{stream}">{rows}</tbody></table>',
        title=t(lang, "queue_title"),
        live=t(lang, "live"),
        offline=t(lang, "offline"),
        tabs=tabs,
        stream="/console/events" if status != "closed" else "",
        head=headings(t(lang, c) for c in QUEUE_COLUMNS),
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


def button(label: str, cls: str = "") -> Markup:
    if cls:
        return render('<button class="{cls}">{m}</button>', cls=cls, m=label)
    return render("<button>{m}</button>", m=label)


def button_form(action: str, csrf: str, label: str, cls: str = "") -> Markup:
    """A form that is a single button (claim, release, cancel, approve)."""
    return form(action, csrf, button(label, cls), "inline")


def select_form(
    action: str,
    csrf: str,
    label: str,
    name: str,
    options: Markup,
    submit: str,
    submit_cls: str = "",
) -> Markup:
    """A form that picks one of `options` and submits it."""
    return form(
        action,
        csrf,
        render(
            '<label>{label}<select name="{name}">{options}</select></label>{submit}',
            label=label,
            name=name,
            options=options,
            submit=button(submit, submit_cls),
        ),
        "row",
    )


def headings(labels: Iterable[str]) -> Markup:
    return join(render("<th>{h}</th>", h=h) for h in labels)


def table(labels: Iterable[str], rows: Markup) -> Markup:
    """A report table: one row of headings, then the rows (already rendered)."""
    return render(
        '<table class="report"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>',
        head=headings(labels),
        rows=rows,
    )


def list_body(title: str, headings: Iterable[str], rows: Markup, new: Markup) -> Markup:
    """A list page: its title, the table of what there is, then the card to add one."""
    return render(
        '<div class="bar"><h1>{title}</h1></div><section class="card">{table}</section>{new}',
        title=title,
        table=table(headings, rows),
        new=new,
    )


def empty_row(columns: int, message: str) -> Markup:
    """A table's only row when there is nothing to list: says so across every column."""
    return render('<tr><td colspan="{n}" class="empty">{m}</td></tr>', n=columns, m=message)


def card(title: str, hint: str, *parts: Markup) -> Markup:
    """A card headed by a title and a line of help, then its parts (a list, a form)."""
    return render(
        '<section class="card"><h2>{title}</h2><p class="hint">{hint}</p>{parts}</section>',
        title=title,
        hint=hint,
        parts=join(parts),
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
        actions.append(button_form(f"{base}/claim", csrf, t(lang, "claim"), "primary"))
    if case.status == "claimed":
        actions.append(button_form(f"{base}/release", csrf, t(lang, "release")))
    if not closed:
        orgs = join(
            option(str(o.id), o.name) for o in organisations if o.id != case.organisation_id
        )
        actions.append(
            select_form(
                f"{base}/transfer",
                csrf,
                t(lang, "transfer_to"),
                "organisation",
                orgs,
                t(lang, "transfer"),
            )
        )
        outcomes = join(option(o, t(lang, f"outcome_{o}")) for o in OUTCOMES)
        actions.append(
            select_form(
                f"{base}/close",
                csrf,
                t(lang, "outcome"),
                "outcome",
                outcomes,
                t(lang, "close"),
                "danger",
            )
        )
    cats = join(
        [
            option("", "—"),  # no category yet
            *(option(value, label, value == case.category) for value, label in categories),
        ]
    )
    actions.append(
        select_form(
            f"{base}/category", csrf, t(lang, "category"), "category", cats, t(lang, "set_category")
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
        reply = card(
            t(lang, "reply"),
            t(lang, "canned"),
            render('<div class="canned-list">{canned}</div>', canned=canned_buttons),
            form(
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
    notes_html = card(
        t(lang, "notes"),
        t(lang, "notes_help"),
        render('<ul class="notes">{items}</ul>', items=note_items),
        form(
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
