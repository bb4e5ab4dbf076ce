"""Inline SVG charts for the ndc pages: drawn on the server, so nothing is fetched from a CDN
(the machine is offline) and the figures in a chart are the ones in the page's tables."""

from __future__ import annotations

from html import escape

COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#4a5568", "#975a16")


def bars(series: dict[str, dict[str, float]], width: int = 720, height: int = 220) -> str:
    """Grouped bars: ``{group: {label: value}}`` (e.g. per source: loaded, quarantined)."""
    groups = list(series)
    labels = list(dict.fromkeys(label for values in series.values() for label in values))
    if not groups or not labels:
        return ""
    top = max((v for values in series.values() for v in values.values()), default=0) or 1
    pad, legend = 30, 18
    group_w = (width - 2 * pad) / len(groups)
    bar_w = max(2.0, group_w * 0.8 / len(labels))
    plot_h = height - pad - legend - 20
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for gi, group in enumerate(groups):
        x0 = pad + gi * group_w + group_w * 0.1
        for li, label in enumerate(labels):
            value = series[group].get(label, 0)
            h = plot_h * value / top
            x, y = x0 + li * bar_w, legend + 10 + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[li % len(COLOURS)]}"><title>{escape(group)} {escape(label)}: '
                f"{value:g}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + group_w * 0.4:.1f}" y="{height - 8}" font-size="11" '
            f'text-anchor="middle">{escape(group)}</text>'
        )
    parts += _legend(labels)
    parts.append("</svg>")
    return "".join(parts)


def lines(series: dict[str, list[tuple[str, float]]], width: int = 720, height: int = 240) -> str:
    """A trend: ``{name: [(day, value), ...]}``, one line per name over the days."""
    days = sorted({day for points in series.values() for day, _ in points})
    values = [v for points in series.values() for _, v in points]
    if not days or not values:
        return ""
    low, high = min(values + [0.0]), max(values) or 1.0
    pad, legend = 40, 18
    plot_w, plot_h = width - 2 * pad, height - pad - legend - 20

    def xy(day: str, value: float) -> tuple[float, float]:
        x = pad + (plot_w * days.index(day) / (len(days) - 1) if len(days) > 1 else plot_w / 2)
        y = legend + 10 + plot_h - plot_h * (value - low) / ((high - low) or 1)
        return x, y

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="4" y="{legend + 14}" font-size="10">{high:g}</text>',
        f'<text x="4" y="{legend + 10 + plot_h}" font-size="10">{low:g}</text>',
    ]
    for i, (name, points) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        coords = [xy(day, value) for day, value in sorted(points)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for (day, value), (x, y) in zip(sorted(points), coords, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>'
                f"{escape(name)} {escape(day)}: {value:g}</title></circle>"
            )
    parts.append(
        f'<text x="{pad}" y="{height - 8}" font-size="11">{escape(days[0])}</text>'
        f'<text x="{width - pad}" y="{height - 8}" font-size="11" text-anchor="end">'
        f"{escape(days[-1])}</text>"
    )
    parts += _legend(list(series))
    parts.append("</svg>")
    return "".join(parts)


def _legend(labels: list[str]) -> list[str]:
    parts, x = [], 30
    for i, label in enumerate(labels):
        parts.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>'
            f'<text x="{x + 14}" y="13" font-size="11">{escape(label)}</text>'
        )
        x += 24 + 7 * len(label)
    return parts
