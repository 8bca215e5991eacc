"""Small inline SVG line charts for the per-ticker pages: milliseconds per chart, a few KB each.

A run of hundreds of tickers cannot afford a matplotlib figure per ticker (about 0.2 s each to
lay out, draw and encode on one core). ``line_chart`` writes the SVG markup directly: date
x-axis, "nice" y ticks, polylines (solid or dashed), shaded bands and a legend, in the report's
palette. The markup is inline (``<svg>`` in the page): it loads nothing and is allowed by the
pages' Content Security Policy. Every text is escaped. ``data_uri`` stacks charts into one
standalone SVG document for an ``<img>`` (the main report's per-ticker figures).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape

import numpy as np
from markupsafe import Markup

LEFT, RIGHT, TOP, BOTTOM = 56, 120, 24, 26
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass
class Line:
    """One polyline: dates, values, colour, label (legend) and style."""

    x: np.ndarray
    y: np.ndarray
    color: str
    label: str = ""
    width: float = 1.2
    dash: bool = False
    markers: bool = False


@dataclass
class Band:
    """A shaded band between ``lo`` and ``hi`` at dates ``x``."""

    x: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    color: str
    label: str = ""
    opacity: float = 0.15


def _days(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype("datetime64[D]").astype(np.int64).astype(float)


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """About ``n`` round tick values (1, 2, 5 x 10^k steps) covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return np.array([])
    if hi <= lo:
        lo, hi = lo - 0.5 * (abs(lo) or 1), hi + 0.5 * (abs(hi) or 1)
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return np.arange(math.ceil(lo / step) * step, hi + step * 1e-9, step)


def date_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Month starts (every 1, 2, 3, 6 or 12 months) within ``[lo, hi]`` days."""
    start = np.datetime64(int(lo), "D").astype("datetime64[M]")
    end = np.datetime64(int(hi), "D").astype("datetime64[M]")
    months = int((end - start).astype(int)) + 1
    step = next((s for s in (1, 2, 3, 6, 12) if months / s <= 7), 12 * math.ceil(months / 84))
    out = []
    for m in np.arange(start, end + 1, dtype="datetime64[M]"):
        if int(m.astype(int)) % step:
            continue
        d = float(m.astype("datetime64[D]").astype(np.int64))
        if lo <= d <= hi:
            label = str(m)[:4] if step >= 12 else str(m)
            out.append((d, label))
    return out


@lru_cache(maxsize=256)
def _date_axis(x0: float, x1: float, pw: int, ph: int) -> str:
    """The date grid lines and labels of a plot area ``pw`` x ``ph`` spanning days ``x0..x1``.

    Cached: the pages of one run share a few date ranges, so most charts reuse the markup.
    """
    out = []
    for d, label in date_ticks(x0, x1):
        x = LEFT + (d - x0) / (x1 - x0) * pw
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + ph}" stroke="#f0f0f0"/>'
            f'<text x="{x:.1f}" y="{TOP + ph + 15}" text-anchor="middle" fill="#555" {FONT}>'
            f"{escape(label)}</text>"
        )
    return "".join(out)


#: Whole pixels with text ready for ``pixel_pairs``: ``"x,"`` and ``"y "`` of each.
_PIXELS = range(-512, 2048)  # a chart's own pixels and a margin: 1 ms to build
_X_TEXT = np.array([f"{i}," for i in _PIXELS], dtype=object)
_Y_TEXT = np.array([f"{i} " for i in _PIXELS], dtype=object)


def pixel_pairs(x: np.ndarray, y: np.ndarray) -> str:
    """An SVG ``points`` list, ``"x,y x,y ..."``, of pixel coordinates rounded to whole pixels.

    Whole pixels are as sharp and their text is looked up, not formatted (half the time of
    one ``%d`` format call for the line); coordinates off the table are formatted.
    """
    xi = np.rint(x).astype(np.int64) - _PIXELS.start
    yi = np.rint(y).astype(np.int64) - _PIXELS.start
    if len(xi) and min(xi.min(), yi.min()) >= 0 and max(xi.max(), yi.max()) < len(_PIXELS):
        text = np.empty(2 * len(xi), dtype=object)
        text[0::2], text[1::2] = _X_TEXT[xi], _Y_TEXT[yi]
        return "".join(text.tolist())[:-1]
    xy = np.column_stack([xi, yi]).ravel() + _PIXELS.start
    return ("%d,%d " * len(xi) % tuple(xy.tolist()))[:-1]


def tick_label(v: float, step: float) -> str:
    """``v`` with as many decimals as the tick ``step`` needs (at most 6), thousands grouped."""
    digits = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{v:,.{min(digits, 6)}f}"


def line_chart(
    lines: Sequence[Line],
    bands: Sequence[Band] = (),
    *,
    title: str = "",
    ylabel: str = "",
    width: int = 760,
    height: int = 240,
    xlim: tuple[np.datetime64, np.datetime64] | None = None,
    percent: bool = False,
    hline: float | None = None,
) -> Markup | None:
    """An inline SVG chart of ``lines`` and ``bands`` over dates; None when nothing is finite.

    Args:
        lines: the polylines (NaN values break nothing: they are dropped).
        bands: shaded bands, drawn under the lines.
        title: bold, top left.
        ylabel: the y-axis label.
        width: the SVG's width in pixels (it scales down to the page width).
        height: its height in pixels.
        xlim: the date range (default: the data's).
        percent: y tick labels as percentages of the values (``5`` -> ``5%``).
        hline: a thin horizontal reference line at this value.
    """
    xs, ys = [], []
    for ln in lines:
        ok = np.isfinite(np.asarray(ln.y, dtype=float))
        xs.append(_days(ln.x)[ok])
        ys.append(np.asarray(ln.y, dtype=float)[ok])
    for b in bands:
        ok = np.isfinite(b.lo) & np.isfinite(b.hi)
        xs.append(_days(b.x)[ok])
        ys += [np.asarray(b.lo, dtype=float)[ok], np.asarray(b.hi, dtype=float)[ok]]
    allx, ally = np.concatenate(xs or [[]]), np.concatenate(ys or [[]])
    if not allx.size or not ally.size:
        return None
    x0, x1 = (
        (float(_days(np.array(xlim))[0]), float(_days(np.array(xlim))[1]))
        if xlim
        else (
            float(allx.min()),
            float(allx.max()),
        )
    )
    if x1 <= x0:
        x1 = x0 + 1
    yt = nice_ticks(float(ally.min()), float(ally.max()))
    y0, y1 = min(float(yt[0]), float(ally.min())), max(float(yt[-1]), float(ally.max()))
    if y1 <= y0:
        y1 = y0 + 1
    pw, ph = width - LEFT - RIGHT, height - TOP - BOTTOM

    def px(x: np.ndarray) -> np.ndarray:
        return LEFT + (np.asarray(x, dtype=float) - x0) / (x1 - x0) * pw

    def py(y: np.ndarray) -> np.ndarray:
        return TOP + (1 - (np.asarray(y, dtype=float) - y0) / (y1 - y0)) * ph

    def points(x: np.ndarray, y: np.ndarray) -> str:
        return pixel_pairs(px(x), py(y))

    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
    ]
    step = float(yt[1] - yt[0]) if len(yt) > 1 else 1.0
    for v, y in zip(yt, py(yt).tolist(), strict=True):  # one NumPy call for every tick
        label = tick_label(v, step) + ("%" if percent else "")
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555" {FONT}>'
            f"{label}</text>"
        )
    out.append(_date_axis(x0, x1, pw, ph))
    if hline is not None and y0 <= hline <= y1:
        y = float(py(hline))
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#999"/>')
    legend: list[tuple[str, str, bool, bool]] = []
    for b in bands:
        ok = np.isfinite(b.lo) & np.isfinite(b.hi)
        if not ok.any():
            continue
        bx = _days(b.x)[ok]
        poly = points(bx, b.lo[ok]) + " " + points(bx[::-1], b.hi[ok][::-1])
        out.append(f'<polygon points="{poly}" fill="{b.color}" fill-opacity="{b.opacity}"/>')
        if b.label:
            legend.append((b.label, b.color, False, True))
    for ln, x, y in zip(lines, xs, ys, strict=False):
        if not x.size:
            continue
        dash = ' stroke-dasharray="5,3"' if ln.dash else ""
        out.append(
            f'<polyline points="{points(x, y)}" fill="none" stroke="{ln.color}" '
            f'stroke-width="{ln.width}"{dash}/>'
        )
        if ln.markers:
            out += [
                f'<circle cx="{a:.1f}" cy="{c:.1f}" r="2" fill="{ln.color}"/>'
                for a, c in zip(px(x), py(y), strict=True)
            ]
        if ln.label:
            legend.append((ln.label, ln.color, ln.dash, False))
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    for i, (label, color, dashed, band) in enumerate(legend):
        y = TOP + 8 + 16 * i
        lx = LEFT + pw + 8
        if band:
            out.append(
                f'<rect x="{lx}" y="{y - 5}" width="18" height="10" fill="{color}" '
                'fill-opacity="0.25"/>'
            )
        else:
            dash = ' stroke-dasharray="5,3"' if dashed else ""
            out.append(
                f'<line x1="{lx}" x2="{lx + 18}" y1="{y}" y2="{y}" stroke="{color}" '
                f'stroke-width="1.5"{dash}/>'
            )
        out.append(f'<text x="{lx + 22}" y="{y + 4}" fill="#333" {FONT}>{escape(label)}</text>')
    if title:
        out.append(
            f'<text x="{LEFT}" y="{TOP - 8}" font-weight="bold" fill="#222" {FONT}>'
            f"{escape(title)}</text>"
        )
    if ylabel:
        cy = TOP + ph / 2
        out.append(
            f'<text x="12" y="{cy:.1f}" transform="rotate(-90 12 {cy:.1f})" '
            f'text-anchor="middle" fill="#555" {FONT}>{escape(ylabel)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


SVG_NS = "http://www.w3.org/2000/svg"
_SIZE = re.compile(r'<svg class="chart" viewBox="0 0 (\d+) (\d+)"')


def data_uri(charts: Sequence[Markup | None]) -> str | None:
    """``line_chart`` charts stacked top to bottom as one ``data:image/svg+xml`` URI.

    For an ``<img>`` beside the report's PNG figures: a standalone SVG document (namespace
    declared), base64-encoded, so it loads nothing and passes the pages' Content Security
    Policy. None when every chart is None.
    """
    parts, width, height = [], 0, 0
    for chart in charts:
        if chart is None:
            continue
        size = _SIZE.match(str(chart))
        if size is None:
            raise ValueError("data_uri takes line_chart output")
        w, h = int(size.group(1)), int(size.group(2))
        parts.append(f'<g transform="translate(0 {height})">{chart}</g>')
        width, height = max(width, w), height + h
    if not parts:
        return None
    doc = (
        f'<svg xmlns="{SVG_NS}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}">{"".join(parts)}</svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(doc.encode("utf-8")).decode("ascii")
