"""A tiny HTML helper that escapes by default.

`render(template, **values)` fills `{name}` placeholders; every value is escaped unless it
is already `Markup` (the output of `render`, `join` or `escape`). Templates are literals in
this package, never data, so nothing a worker or volunteer typed can become markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable


class Markup(str):
    """A string known to be safe HTML."""

    __slots__ = ()


def escape(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def render(template: str, **values: object) -> Markup:
    return Markup(template.format_map({k: escape(v) for k, v in values.items()}))


def join(parts: Iterable[object], separator: str = "") -> Markup:
    return Markup(escape(separator).join(escape(p) for p in parts))


def option(value: str, label: str, selected: bool = False) -> Markup:
    return render(
        '<option value="{value}"{sel}>{label}</option>',
        value=value,
        label=label,
        sel=Markup(" selected" if selected else ""),
    )
