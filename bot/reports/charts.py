"""Server-rendered SVG bar charts (no JavaScript). Labels and numbers are escaped by
bot.console.html; a suppressed bar is drawn as an empty grey outline marked "<k"."""

from __future__ import annotations

from bot.console.html import Markup, join, render

WIDTH = 720
LABEL_W = 220
BAR_H = 22
GAP = 8
NUMBER_W = 70


def bar_chart(title: str, bars: list[tuple[str, int | None]], k: int, unit: str = "") -> Markup:
    """Horizontal bars, one per (label, value); value None = suppressed."""
    if not bars:
        return Markup("")
    top = max((v for _, v in bars if v is not None), default=0) or 1
    span = WIDTH - LABEL_W - NUMBER_W
    height = len(bars) * (BAR_H + GAP) + GAP
    parts = []
    for i, (label, value) in enumerate(bars):
        y = GAP + i * (BAR_H + GAP)
        if value is None:
            bar = render(
                '<rect x="{x}" y="{y}" width="{w}" height="{h}" class="bar suppressed"/>',
                x=LABEL_W,
                y=y,
                w=max(24, span // 12),
                h=BAR_H,
            )
            number = f"<{k}"
        else:
            bar = render(
                '<rect x="{x}" y="{y}" width="{w}" height="{h}" class="bar" rx="3"/>',
                x=LABEL_W,
                y=y,
                w=max(2, round(span * value / top)),
                h=BAR_H,
            )
            number = f"{value}{unit}"
            span_w = max(2, round(span * value / top))
        text_x = LABEL_W + (max(24, span // 12) if value is None else span_w) + 6
        parts.append(
            render(
                '<g><text x="{lx}" y="{ty}" class="label" text-anchor="end">{label}</text>{bar}'
                '<text x="{nx}" y="{ty}" class="number">{number}</text></g>',
                lx=LABEL_W - 8,
                ty=y + BAR_H * 0.72,
                label=label if len(label) <= 32 else label[:31] + "…",
                bar=bar,
                nx=text_x,
                number=number,
            )
        )
    return render(
        '<figure class="chart"><figcaption>{title}</figcaption>'
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%"'
        ' role="img" aria-label="{title}"><title>{title}</title>{bars}</svg></figure>',
        title=title,
        w=WIDTH,
        h=height,
        bars=join(parts),
    )
