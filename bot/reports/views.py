"""Console pages /console/reports and /console/reports.csv (coordinators and admins).

Built with the console's own helpers: `signed_in` (session, CSRF), `pages.page` (layout),
`html.render` (escaping), `cases.audit` (every view and export is audited).
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from aiohttp import web

from bot.console import cases, pages
from bot.console.auth import Account
from bot.console.html import Markup, join, option, render
from bot.console.i18n import t
from bot.console.views import deny, html, language, services_of, signed_in, user_label
from bot.content import Content
from bot.reports import DIMENSIONS, GRAINS, REPORTS, Cell, Filters, Report, build, k_of
from bot.reports.charts import bar_chart


def key_label(lang: str, content: Content, report: Report, key: str | None) -> str:
    if key is None:
        return t(lang, "unknown")
    if report.key_name == "topic":
        return content.title(lang, key) if key in content.meta else key
    if report.key_name == "outcome":
        return t(lang, f"outcome_{key}")
    return t(lang, f"kind_{key}")


def dim_label(lang: str, by: str | None, value: str | None) -> str:
    if value is None:
        return t(lang, "unknown")
    if by == "language":
        return t(lang, f"lang_{value}")
    return value.replace("_", " ").title() if by in ("province", "sector") else value


def shown(k: int, value: int | float | None, digits: int = 0) -> str:
    if value is None:
        return f"<{k}"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def measure(report: Report, cell: Cell) -> int | None:
    """The number a chart draws: minutes for first_reply, else the count."""
    if report.filters.report == "first_reply":
        return None if cell.minutes is None else round(cell.minutes)
    return cell.count


def table(lang: str, content: Content, report: Report) -> Markup:
    f = report.filters
    minutes = f.report == "first_reply"
    head = [t(lang, f"rep_key_{report.key_name}")]
    if f.by:
        head.append(t(lang, f"rep_by_{f.by}"))
    head += [t(lang, f"rep_count_{f.report}"), t(lang, "rep_contacts")]
    if minutes:
        head.append(t(lang, "rep_minutes"))
    rows = []
    for cell in report.rows:
        values = [key_label(lang, content, report, cell.key)]
        if f.by:
            values.append(dim_label(lang, f.by, cell.dim))
        values += [shown(report.k, cell.count), shown(report.k, cell.contacts)]
        if minutes:
            values.append(shown(report.k, cell.minutes))
        rows.append(
            render(
                '<tr class="{cls}">{cells}</tr>',
                cls="suppressed" if cell.suppressed else "",
                cells=join(render("<td>{v}</td>", v=v) for v in values),
            )
        )
    if not rows:
        rows.append(pages.empty_row(len(head), t(lang, "rep_empty")))
    return pages.table(head, join(rows))


def report_page(
    lang: str, content: Content, report: Report, user: str, csrf: str, role: str | None = None
) -> str:
    f = report.filters
    unit = " min" if f.report == "first_reply" else ""
    tabs = join(
        render(
            '<a href="/console/reports?{q}" class="tab{cls}">{label}</a>',
            q=urlencode({**f.query(), "report": r}),
            cls=" on" if r == f.report else "",
            label=t(lang, f"rep_{r}"),
        )
        for r in REPORTS
    )
    form = render(
        '<form method="get" action="/console/reports" class="filters">'
        '<input type="hidden" name="report" value="{report}">'
        '<label>{l_start}<input type="date" name="start" value="{start}"></label>'
        '<label>{l_end}<input type="date" name="end" value="{end}"></label>'
        '<label>{l_by}<select name="by"><option value="">—</option>{dims}</select></label>'
        '<label>{l_grain}<select name="grain">{grains}</select></label>'
        "<button>{apply}</button></form>",
        report=f.report,
        l_start=t(lang, "rep_from"),
        start=f.start.isoformat() if f.start else "",
        l_end=t(lang, "rep_to"),
        end=f.end.isoformat() if f.end else "",
        l_by=t(lang, "rep_by"),
        dims=join(option(d, t(lang, f"rep_by_{d}"), d == f.by) for d in DIMENSIONS),
        l_grain=t(lang, "rep_grain"),
        grains=join(option(g, t(lang, f"rep_grain_{g}"), g == f.grain) for g in GRAINS),
        apply=t(lang, "rep_apply"),
    )
    totals_chart = bar_chart(
        t(lang, f"rep_chart_{f.report}"),
        [(key_label(lang, content, report, c.key), measure(report, c)) for c in report.totals],
        report.k,
        unit,
    )
    time_chart = bar_chart(
        t(lang, "rep_chart_time"),
        [(str(c.key), measure(report, c)) for c in report.over_time],
        report.k,
        unit,
    )
    csv_links = render(
        '<p class="csv"><a href="/console/reports.csv?{q1}">{l1}</a> · '
        '<a href="/console/reports.csv?{q2}">{l2}</a></p>',
        q1=urlencode({**f.query(), "table": "main"}),
        l1=t(lang, "rep_csv_main"),
        q2=urlencode({**f.query(), "table": "time"}),
        l2=t(lang, "rep_csv_time"),
    )
    body = render(
        '<div class="bar"><h1>{title}</h1></div><div class="tabs">{tabs}</div>'
        '<section class="card">{form}<p class="hint">{about}</p><p class="hint">{rule}</p>'
        "</section>"
        '<section class="card">{totals}</section><section class="card">{time}</section>'
        '<section class="card"><h2>{table_title}</h2>{table}{csv}</section>',
        title=t(lang, "rep_title"),
        tabs=tabs,
        form=form,
        about=t(lang, f"rep_about_{f.report}"),
        rule=t(lang, "rep_rule", k=report.k),
        totals=totals_chart or render('<p class="empty">{m}</p>', m=t(lang, "rep_empty")),
        time=time_chart or Markup(""),
        table_title=t(lang, "rep_table"),
        table=table(lang, content, report),
        csv=csv_links,
    )
    here = "/console/reports?" + urlencode(f.query())
    return pages.page(lang, t(lang, "rep_title"), body, user=user, csrf=csrf, here=here, role=role)


async def _report(request: web.Request, account: Account) -> Report | None:
    """The report the query asks for; None if this role may not see reports."""
    services = services_of(request)
    filters = Filters.parse(request.query)
    k = k_of(services.settings.section("reports"))
    async with services.db.begin() as session:
        try:
            return await build(session, account, filters, k)
        except PermissionError:
            return None


@signed_in
async def reports_view(request: web.Request, account: Account) -> web.Response:
    lang = language(request)
    report = await _report(request, account)
    if report is None:
        return await deny(request, account, "reports")
    async with services_of(request).db.begin() as session:
        cases.audit(session, account, "view_report", **report.filters.query())
    content = services_of(request).content
    return html(
        report_page(
            lang, content, report, user_label(lang, account), account.csrf, role=account.role
        )
    )


@signed_in
async def reports_csv(request: web.Request, account: Account) -> web.StreamResponse:
    lang = language(request)
    report = await _report(request, account)
    if report is None:
        return await deny(request, account, "reports")
    which = "time" if request.query.get("table") == "time" else "main"
    content = services_of(request).content
    f = report.filters
    out = io.StringIO()
    writer = csv.writer(out)
    minutes = f.report == "first_reply"
    if which == "time":
        writer.writerow(["period", "count", "contacts", *(["avg_minutes"] if minutes else [])])
        for cell in report.over_time:
            writer.writerow(
                [
                    cell.key,
                    shown(report.k, cell.count),
                    shown(report.k, cell.contacts),
                    *([shown(report.k, cell.minutes, 1)] if minutes else []),
                ]
            )
    else:
        writer.writerow(
            [
                report.key_name,
                *([f.by] if f.by else []),
                "count",
                "contacts",
                *(["avg_minutes"] if minutes else []),
            ]
        )
        for cell in report.rows:
            writer.writerow(
                [
                    key_label(lang, content, report, cell.key),
                    *([dim_label(lang, f.by, cell.dim)] if f.by else []),
                    shown(report.k, cell.count),
                    shown(report.k, cell.contacts),
                    *([shown(report.k, cell.minutes, 1)] if minutes else []),
                ]
            )
    async with services_of(request).db.begin() as session:
        cases.audit(session, account, "export_report", table=which, **f.query())
    name = f"report-{f.report}-{which}-{f.start}-{f.end}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
