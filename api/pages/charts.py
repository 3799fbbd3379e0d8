"""Server-rendered SVG charts: readable without JavaScript, printable, no library to load.

Each function returns an SVG document as text (escaped), sized by its viewBox so that it
scales to its container; every bar and point carries a `<title>` with its exact number, and
the page shows the same numbers in a table one click away."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#0b5394", "#e69138", "#b3261e", "#6aa84f", "#674ea7")
_FONT = 'font-family="system-ui, Noto Sans, Noto Sans Devanagari, sans-serif"'


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" {_FONT} font-size="13">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    label_width: int = 120,
    width: int = 480,
) -> str:
    """Horizontal bars, one per label, stacked by series (name, values per label)."""
    row = 20
    top = 26
    height = top + row * len(labels) + 8
    total = [sum(values[i] for _, values in series) for i in range(len(labels))]
    peak = max(total, default=0) or 1
    span = width - label_width - 50
    body: list[str] = []
    x = label_width
    for index, (name, _values) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        body.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
        body.append(f'<text x="{x + 14}" y="15">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    for i, label in enumerate(labels):
        y = top + i * row
        body.append(
            f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
        )
        left = float(label_width)
        for index, (name, values) in enumerate(series):
            if values[i] == 0:
                continue
            length = span * values[i] / peak
            colour = PALETTE[index % len(PALETTE)]
            body.append(
                f'<rect x="{left:.1f}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" '
                f'fill="{colour}"><title>{escape(label)} · {escape(name)}: {values[i]}</title>'
                "</rect>"
            )
            left += length
        body.append(f'<text x="{left + 4:.1f}" y="{y + 13}">{total[i]}</text>')
    return _svg(width, height, body, title)


def columns(title: str, labels: Sequence[str], values: Sequence[int], *, width: int = 480) -> str:
    """Vertical columns with their values on top."""
    height = 220
    bottom = height - 30
    peak = max(values, default=0) or 1
    step = (width - 20) / max(len(labels), 1)
    body: list[str] = [
        f'<line x1="10" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#999"/>'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = 10 + i * step + step * 0.15
        h = (bottom - 30) * value / peak
        body.append(
            f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {value}</title></rect>'
        )
        body.append(
            f'<text x="{x + step * 0.35:.1f}" y="{bottom - h - 4:.1f}" '
            f'text-anchor="middle">{value}</text>'
        )
        body.append(
            f'<text x="{x + step * 0.35:.1f}" y="{bottom + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    return _svg(width, height, body, title)


def line(title: str, labels: Sequence[str], values: Sequence[int], *, width: int = 480) -> str:
    """A line over time with a dot and its value per point."""
    height = 220
    bottom, top, left = height - 30, 24, 30
    peak = max(values, default=0) or 1
    step = (width - left - 20) / max(len(labels) - 1, 1)
    points = [
        (left + i * step, bottom - (bottom - top) * value / peak) for i, value in enumerate(values)
    ]
    body: list[str] = [
        f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#999"/>',
        f'<polyline fill="none" stroke="{PALETTE[2]}" stroke-width="2" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        + '"/>',
    ]
    for (x, y), label, value in zip(points, labels, values, strict=True):
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{PALETTE[2]}">'
            f"<title>{escape(label)}: {value}</title></circle>"
        )
        body.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{value}</text>')
        body.append(
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" font-size="10">'
            f"{escape(label)}</text>"
        )
    return _svg(width, height, body, title)
