"""Bar charts as inline SVG, drawn on the server: no JavaScript, no web font, nothing fetched from a CDN.

Pure: labels and numbers in, markup out. One call draws a grouped or stacked bar chart with a value axis,
category labels and a legend; every bar has a ``<title>`` (a tooltip and what a screen reader reads), and
the chart as a whole has a ``<title>`` and ``<desc>`` it is labelled by. The page puts the table with the
same numbers beside the chart: the chart is for the eye, the table is the record.

Colours and sizes are plain parameters, and classes (``chart``, ``bar``, ``series-N``) let a stylesheet
restyle it. Values are non-negative numbers: counts, rupiah, percentages.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#0a6e3c", "#d48a00", "#2f6db5", "#8e44ad", "#b00020", "#5d6d7e", "#16a085", "#7f8c8d")
CHAR_WIDTH = 6.6  # px per character of the 11 px system font, near enough to lay labels out
FONT = 'font-family="system-ui,sans-serif" font-size="11"'

Number = int | float


@dataclass(frozen=True)
class Series:
    """One set of bars: its name for the legend and tooltips, a value per label, and its colour."""

    name: str
    values: Sequence[Number]
    colour: str | None = None


def thousands(value: Number) -> str:
    """``1500000`` → ``1.500.000``, the Indonesian way (``2.5`` → ``2,5``)."""
    if isinstance(value, float) and not value.is_integer():
        whole = f"{value:,.1f}"
    else:
        whole = f"{round(value):,}"
    return whole.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def nice_ticks(top: Number, count: int = 4, whole: bool = True) -> list[Number]:
    """Axis ticks from 0 past ``top``, about ``count`` steps of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step: Number = next(m * magnitude for m in (1, 2, 5, 10) if raw <= m * magnitude)
    if whole:
        step = max(1, round(step))
    steps = math.ceil(top / step - 1e-9)
    return [step * i for i in range(steps + 1)]


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    description: str | None = None,
    stacked: bool = False,
    width: int = 720,
    height: int = 260,
    format_value: Callable[[Number], str] = thousands,
    label_every: int | None = None,
    chart_id: str | None = None,
) -> Markup:
    """An SVG bar chart: one group (or stack) of bars per label, one bar per series in it.

    It always draws ``len(labels) * len(series)`` bars (a zero is a bar of no height, still with its
    tooltip). ``label_every`` shows every n-th category label; by default as many as fit.
    """
    if not series:
        raise ValueError("a chart needs at least one series")
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels")
        if any(v < 0 or math.isnan(v) for v in s.values):
            raise ValueError(f"series {s.name!r} has a negative or missing value")
    whole = all(isinstance(v, int) for s in series for v in s.values)
    if stacked:
        top = max((sum(s.values[i] for s in series) for i in range(len(labels))), default=0)
    else:
        top = max((v for s in series for v in s.values), default=0)
    ticks = nice_ticks(top, whole=whole)
    scale_top = ticks[-1]

    legend_height = 22 if len(series) > 1 else 0
    left = 10 + CHAR_WIDTH * max(len(format_value(t)) for t in ticks)
    right, top_margin, bottom = 10, 10 + legend_height, 26
    plot_width = max(1.0, width - left - right)
    plot_height = max(1.0, height - top_margin - bottom)
    slot = plot_width / max(1, len(labels))
    base_y = top_margin + plot_height

    def y_of(value: Number) -> float:
        return base_y - plot_height * value / scale_top

    ident = chart_id or "chart-" + hashlib.sha1(f"{title}|{'|'.join(labels)}".encode()).hexdigest()[:8]
    summary = description or _describe(labels, series, format_value)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(summary)}</desc>',
        f'<g class="axis" {FONT} fill="#555">',
    ]
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left:.1f}" x2="{width - right:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d5dbd8" />'
            f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">{escape(format_value(tick))}</text>'
        )
    longest = max((len(label) for label in labels), default=1) * CHAR_WIDTH + 6
    every = label_every or max(1, math.ceil(longest / slot))
    for i, label in enumerate(labels):
        if i % every == 0:
            x = left + slot * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{base_y + 16:.1f}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</g>")

    group_width = slot * 0.72
    bar_width = group_width if stacked else group_width / len(series)
    parts.append('<g class="bars">')
    for i, label in enumerate(labels):
        x0 = left + slot * i + (slot - group_width) / 2
        below: Number = 0
        for n, s in enumerate(series):
            value = s.values[i]
            if stacked:
                x, y_top, y_bottom = x0, y_of(below + value), y_of(below)
                below += value
            else:
                x, y_top, y_bottom = x0 + bar_width * n, y_of(value), base_y
            colour = s.colour or PALETTE[n % len(PALETTE)]
            tip = f"{label} · {s.name}: {format_value(value)}" if len(series) > 1 else f"{label}: {format_value(value)}"
            parts.append(
                f'<rect class="bar series-{n}" x="{x:.1f}" y="{y_top:.1f}" width="{bar_width:.1f}" '
                f'height="{y_bottom - y_top:.1f}" fill="{escape(colour)}"><title>{escape(tip)}</title></rect>'
            )
    parts.append("</g>")
    parts.append(f'<line class="baseline" x1="{left:.1f}" x2="{width - right:.1f}" y1="{base_y:.1f}" ')
    parts.append(f'y2="{base_y:.1f}" stroke="#555" />')
    if legend_height:
        parts.append(f'<g class="legend" {FONT} fill="#1b1b1b">')
        x = left
        for n, s in enumerate(series):
            colour = s.colour or PALETTE[n % len(PALETTE)]
            parts.append(
                f'<rect x="{x:.1f}" y="4" width="11" height="11" fill="{escape(colour)}" />'
                f'<text x="{x + 15:.1f}" y="14">{escape(s.name)}</text>'
            )
            x += 15 + CHAR_WIDTH * len(s.name) + 16
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _describe(labels: Sequence[str], series: Sequence[Series], format_value: Callable[[Number], str]) -> str:
    """A sentence a screen reader can read instead of the picture: the largest bar of each series."""
    if not labels:
        return "No data."
    sentences = []
    for s in series:
        biggest = max(range(len(labels)), key=lambda i: s.values[i])
        sentences.append(f"{s.name}: highest {format_value(s.values[biggest])} ({labels[biggest]})")
    return f"{len(labels)} bars. " + "; ".join(sentences) + "."
