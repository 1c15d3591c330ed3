"""The volunteer console: server-rendered pages under /console/ (see docs/console.md)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.config import Settings
from bot.console.auth import Policy
from bot.console.views import CONFIG, ConsoleConfig

STATIC = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    # No inline script or style anywhere: an injected tag could not run even if one slipped
    # past the escaping.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/console"):
        response.headers.update(SECURITY_HEADERS)
        if "Cache-Control" not in response.headers and not request.path.startswith(
            "/console/static/"
        ):
            response.headers["Cache-Control"] = "no-store"


def setup_console(app: web.Application, settings: Settings) -> None:
    from bot.console import stream, views
    from bot.reports import broadcast_views, directory
    from bot.reports import views as report_views

    section = settings.section("console")
    app[CONFIG] = ConsoleConfig(
        policy=Policy.from_section(section),
        secure_cookies=settings.public_url.startswith("https://"),
        stream_seconds=float(section.get("stream_seconds", 300)),
        poll_seconds=float(section.get("poll_seconds", 1.0)),
    )
    app.on_response_prepare.append(_security_headers)
    add = app.router
    add.add_get("/console", views.root)
    add.add_get("/console/", views.root)
    add.add_get("/console/login", views.login_form)
    add.add_post("/console/login", views.login)
    add.add_post("/console/logout", views.logout)
    add.add_get("/console/lang", views.switch_language)
    add.add_get("/console/cases", views.queue_view)
    add.add_get("/console/events", stream.queue_events)
    add.add_get("/console/cases/{case_id}", views.case_view)
    add.add_get("/console/cases/{case_id}/events", stream.case_events)
    add.add_post("/console/cases/{case_id}/{action}", views.case_action)
    add.add_get("/console/reports", report_views.reports_view)
    add.add_get("/console/reports.csv", report_views.reports_csv)
    add.add_get("/console/broadcasts", broadcast_views.list_view)
    add.add_post("/console/broadcasts", broadcast_views.create)
    add.add_get("/console/broadcasts/{broadcast_id}", broadcast_views.detail_view)
    add.add_post("/console/broadcasts/{broadcast_id}/{action}", broadcast_views.action)
    add.add_get("/console/organisations", directory.list_view)
    add.add_post("/console/organisations", directory.propose)
    add.add_get("/console/organisations/{org_id}", directory.detail_view)
    add.add_post("/console/organisations/{org_id}/{action}", directory.action)
    add.add_static("/console/static/", STATIC)


__all__ = ["setup_console"]
