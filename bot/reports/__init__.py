"""Aggregate reports for coordinators and admins (see docs/reports.md).

Privacy by construction: every query here returns GROUP BY aggregates only (a count, the
number of distinct contacts, an average), never a row per person, a message text or an
id. A cell counting fewer than `k` distinct contacts (setting `reports.k_anonymity`,
default 5) is suppressed before anything renders it: `Cell.count` etc. are None and every
output (page, chart, CSV) shows "<k".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, literal_column, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.auth import Account
from bot.storage.models import Case, Contact, Conversation, Message, utcnow

DEFAULT_K = 5
REPORTS = ("topics", "urgent", "outcomes", "first_reply")
DIMENSIONS = ("province", "language", "sector", "channel")
GRAINS = ("month", "day")
DEFAULT_DAYS = 90
ROLES = ("coordinator", "admin")


def k_of(section: Any) -> int:
    try:
        return max(1, int(section.get("k_anonymity", DEFAULT_K)))
    except (TypeError, ValueError):
        return DEFAULT_K


@dataclass(frozen=True, slots=True)
class Filters:
    report: str = "topics"
    start: date | None = None  # inclusive, UTC days
    end: date | None = None  # inclusive
    by: str | None = None  # one of DIMENSIONS
    grain: str = "month"

    @classmethod
    def parse(cls, query: Any, today: date | None = None) -> Filters:
        today = today or utcnow().date()
        report = query.get("report", "topics")
        by = query.get("by") or None
        grain = query.get("grain", "month")
        start = _date(query.get("start")) or today - timedelta(days=DEFAULT_DAYS)
        end = _date(query.get("end")) or today
        if end < start:
            start, end = end, start
        return cls(
            report=report if report in REPORTS else "topics",
            start=start,
            end=end,
            by=by if by in DIMENSIONS else None,
            grain=grain if grain in GRAINS else "month",
        )

    def query(self) -> dict[str, str]:
        out = {"report": self.report, "grain": self.grain}
        if self.start:
            out["start"] = self.start.isoformat()
        if self.end:
            out["end"] = self.end.isoformat()
        if self.by:
            out["by"] = self.by
        return out


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Cell:
    """One row of a report table. None values are suppressed (fewer than k contacts)."""

    key: str | None  # topic id, outcome, case kind, or period
    dim: str | None  # the value of the `by` dimension
    count: int | None
    contacts: int | None
    minutes: float | None = None  # first_reply only: average minutes to the first reply

    @property
    def suppressed(self) -> bool:
        return self.contacts is None


@dataclass(frozen=True, slots=True)
class Report:
    filters: Filters
    k: int
    rows: list[Cell]  # by key (and by the dimension, if chosen)
    totals: list[Cell]  # by key only: the chart
    over_time: list[Cell]  # by period
    key_name: str  # what `key` holds: topic, outcome, kind


@dataclass(frozen=True, slots=True)
class _Source:
    base: Select[Any]
    key: Any
    contact: Any
    at: Any
    dims: dict[str, Any]
    key_name: str


def _source(report: str, account: Account) -> _Source:
    if report == "topics":
        # Questions asked: incoming messages the NLU or a button gave a topic to.
        base = (
            select()
            .select_from(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Message.direction == "in", Message.intent.is_not(None))
        )
        return _Source(
            base,
            Message.intent,
            Conversation.contact_id,
            Message.created_at,
            {
                "province": Contact.province,
                "language": Message.language,
                "sector": Contact.sector,
                "channel": Contact.platform,
            },
            "topic",
        )
    cases = select().select_from(Case)
    if account.role != "admin":  # a coordinator reports on their organisation's cases
        cases = cases.where(Case.organisation_id == account.organisation_id)
    dims = {
        "province": Case.province,
        "language": Case.language,
        "sector": Case.sector,
        "channel": Case.platform,
    }
    if report == "urgent":
        return _Source(
            cases.where(Case.urgent.is_(True)),
            Case.intent,
            Case.contact_id,
            Case.created_at,
            dims,
            "topic",
        )
    if report == "outcomes":
        return _Source(
            cases.where(Case.status == "closed", Case.outcome.is_not(None)),
            Case.outcome,
            Case.contact_id,
            Case.closed_at,
            dims,
            "outcome",
        )
    return _Source(
        cases.where(Case.first_reply_at.is_not(None)),
        Case.kind,
        Case.contact_id,
        Case.created_at,
        dims,
        "kind",
    )


def _period(column: Any, dialect: str, grain: str) -> Any:
    if dialect == "postgresql":
        # Literal SQL, not bound parameters: GROUP BY must repeat the very same expression.
        pattern = "'YYYY-MM-DD'" if grain == "day" else "'YYYY-MM'"
        return func.to_char(func.timezone(literal_column("'UTC'"), column), literal_column(pattern))
    pattern = "'%Y-%m-%d'" if grain == "day" else "'%Y-%m'"
    return func.strftime(literal_column(pattern), column)


def _minutes(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.extract("epoch", Case.first_reply_at - Case.created_at) / 60.0
    return (func.julianday(Case.first_reply_at) - func.julianday(Case.created_at)) * 1440.0


async def _cells(
    session: AsyncSession,
    source: _Source,
    filters: Filters,
    k: int,
    key: Any | None,
    dim: Any | None,
    with_minutes: bool,
) -> list[Cell]:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    key_col = (key if key is not None else null()).label("key")
    dim_col = (dim if dim is not None else null()).label("dim")
    measures = [
        func.count().label("n"),
        func.count(func.distinct(source.contact)).label("contacts"),
    ]
    if with_minutes:
        measures.append(func.avg(_minutes(dialect)).label("minutes"))
    where = []
    if filters.start:
        where.append(source.at >= datetime.combine(filters.start, time.min, tzinfo=_UTC))
    if filters.end:
        end = datetime.combine(filters.end + timedelta(days=1), time.min, tzinfo=_UTC)
        where.append(source.at < end)
    statement = source.base.add_columns(key_col, dim_col, *measures)
    if where:
        statement = statement.where(and_(*where))
    groups = [g for g in (key, dim) if g is not None]
    if groups:
        statement = statement.group_by(*groups)
    rows = (await session.execute(statement)).all()
    hidden = suppressed_rows(
        [(row.key if dim is not None else None, row.contacts) for row in rows], k
    )
    out = []
    for i, row in enumerate(rows):
        if i in hidden:
            out.append(Cell(row.key, row.dim, None, None, None))
            continue
        minutes = float(row.minutes) if with_minutes and row.minutes is not None else None
        out.append(Cell(row.key, row.dim, int(row.n), int(row.contacts), minutes))
    # Largest first; suppressed cells last (their order says nothing about their size).
    out.sort(key=lambda c: (c.suppressed, -(c.count or 0), str(c.key), str(c.dim)))
    return out


def suppressed_rows(cells: list[tuple[Any, int]], k: int) -> set[int]:
    """Indexes of the cells to hide. `cells` are (group, distinct contacts); the cells of
    one group add up to a total shown elsewhere (a row of the chart, or the grand total),
    so hiding one small cell alone would let anyone subtract it back out.

    Primary: every cell under k contacts. Secondary, per group with a hidden cell: hide
    the next smallest cells until at least two are hidden and together they hold at least
    k contacts (or everything in the group is hidden)."""
    hidden = {i for i, (_, n) in enumerate(cells) if n < k}
    groups: dict[Any, list[int]] = {}
    for i, (group, _) in enumerate(cells):
        groups.setdefault(group, []).append(i)
    for members in groups.values():
        if not any(i in hidden for i in members):
            continue
        visible = sorted((i for i in members if i not in hidden), key=lambda i: cells[i][1])
        while visible and (
            sum(1 for i in members if i in hidden) < 2
            or sum(cells[i][1] for i in members if i in hidden) < k
        ):
            hidden.add(visible.pop(0))
    return hidden


_UTC = utcnow().tzinfo


async def build(session: AsyncSession, account: Account, filters: Filters, k: int) -> Report:
    """The report's three tables, suppressed. Raises PermissionError for volunteers."""
    if account.role not in ROLES:
        raise PermissionError(account.role)
    source = _source(filters.report, account)
    minutes = filters.report == "first_reply"
    dim = source.dims[filters.by] if filters.by else None
    totals = await _cells(session, source, filters, k, source.key, None, minutes)
    rows = (
        await _cells(session, source, filters, k, source.key, dim, minutes)
        if dim is not None
        else totals
    )
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    period = _period(source.at, dialect, filters.grain)
    over_time = await _cells(session, source, filters, k, period, None, minutes)
    over_time.sort(key=lambda c: str(c.key))
    return Report(filters, k, rows, totals, over_time, source.key_name)
