"""Small multi-panel SVG figures for the main report: lines, points, bars, labelled axes.

The ticker pages' ``svg_chart.line_chart`` draws one date chart; the main report's pooled
figures need panels side by side, numeric and logarithmic axes, point clouds and histograms.
A ``Canvas`` holds ``Panel`` objects (one set of axes each) and legends, all in pixels, and
encodes itself as a standalone ``data:image/svg+xml`` URI for an ``<img>``: it loads nothing
and is allowed by the pages' Content Security Policy. Writing the markup directly takes
milliseconds per figure, where a matplotlib figure takes a tenth of a second or more to lay
out, draw and encode. Every text is escaped; styling follows the report's PNG figures (grey
left and bottom spines, light grid, bold left-aligned titles).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

import numpy as np
from stackcast.reports.svg_chart import SVG_NS, date_ticks, nice_ticks, tick_label

FONT = "system-ui, sans-serif"
# SVG dash patterns of the report's line styles (``figures.SERIES``).
DASHES = {"-": "", "--": "5,3", "-.": "6,2,1.5,2", ":": "1.5,2"}


def dash_of(ls: object) -> str:
    """The SVG ``stroke-dasharray`` of a matplotlib line style (a name or ``(0, pattern)``)."""
    if isinstance(ls, tuple):
        return ",".join(f"{v:g}" for v in ls[1])
    return DASHES.get(str(ls), "")


def _text(
    x: float,
    y: float,
    s: str,
    *,
    size: float = 11,
    anchor: str = "start",
    color: str = "#333",
    bold: bool = False,
    rotate: bool = False,
) -> str:
    turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{color}" '
        f'font-family="{FONT}" font-size="{size:g}"{weight}{turn}>{escape(s)}</text>'
    )


def ticks(lo: float, hi: float, kind: str = "linear", n: int = 5) -> list[tuple[float, str]]:
    """``(value, label)`` axis ticks within ``[lo, hi]``.

    ``kind``: ``linear`` (1-2-5 steps, about ``n``), ``log`` (1, 2, 5 x 10^k; ``lo``/``hi``
    are the data values, not their logs) or ``date`` (month starts; values in days).
    """
    if kind == "date":
        return date_ticks(lo, hi)
    if kind == "log":
        decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        for subs in ((1, 2, 5), (1, 2, 3, 5, 7), range(1, 10)):  # more when 1-2-5 gives few
            out = [
                (float(f"{m * 10.0**k:.12g}"), f"{m * 10.0**k:.12g}") for k in decades for m in subs
            ]
            out = [(v, s) for v, s in out if lo <= v <= hi]
            if len(out) >= 3:
                break
        return out
    values = nice_ticks(lo, hi, n + 2)
    step = float(values[1] - values[0]) if len(values) > 1 else 1.0
    inside = [v for v in values if lo - 1e-9 * step <= v <= hi + 1e-9 * step]
    return [(float(v), tick_label(v, step)) for v in inside]


@dataclass
class Key:
    """A legend entry: a line (``dash`` pattern), a filled box or a marker."""

    label: str
    color: str
    dash: str = ""
    kind: str = "line"
    width: float = 1.5


@dataclass
class Panel:
    """One set of axes at ``(left, top, width, height)`` pixels, limits in data units.

    Data drawn with the methods below is clipped to the axes; ``xlog``/``ylog`` draw on a
    logarithmic scale (the limits then must be positive).
    """

    box: tuple[float, float, float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    xlog: bool = False
    ylog: bool = False
    data: list[str] = field(default_factory=list)
    over: list[str] = field(default_factory=list)
    frame: list[str] = field(default_factory=list)

    def _map(self, v: np.ndarray, lim: tuple[float, float], log: bool, p0: float, p1: float):
        v = np.asarray(v, dtype=float)
        lo, hi = lim
        if log:
            v, lo, hi = np.log10(np.where(v > 0, v, np.nan)), math.log10(lo), math.log10(hi)
        span = (hi - lo) or 1.0
        return p0 + (v - lo) / span * (p1 - p0)

    def px(self, x: np.ndarray) -> np.ndarray:
        """Data x to pixels."""
        left, _, width, _ = self.box
        return self._map(x, self.xlim, self.xlog, left, left + width)

    def py(self, y: np.ndarray) -> np.ndarray:
        """Data y to pixels (up is up)."""
        _, top, _, height = self.box
        return self._map(y, self.ylim, self.ylog, top + height, top)

    def line(
        self, x: np.ndarray, y: np.ndarray, color: str, width: float = 1.2, dash: str = ""
    ) -> None:
        """A polyline; non-finite points break it into pieces."""
        xs, ys = self.px(x), self.py(y)
        ok = np.isfinite(xs) & np.isfinite(ys)
        runs = np.split(np.arange(xs.size), np.flatnonzero(np.diff(ok.astype(np.int8))) + 1)
        style = f' stroke-dasharray="{dash}"' if dash else ""
        for run in runs:
            if run.size < 2 or not ok[run[0]]:
                continue
            xy = np.round(np.column_stack([xs[run], ys[run]]), 1).ravel().tolist()
            pts = ("%g,%g " * run.size % tuple(xy))[:-1]
            self.data.append(
                f'<polyline points="{pts}" fill="none" stroke="{color}" '
                f'stroke-width="{width:g}" stroke-linejoin="round"{style}/>'
            )

    def markers(self, x: np.ndarray, y: np.ndarray, color: str, r: float = 2.0, opacity=1.0):
        """A dot at each finite point (``opacity`` below 1 shows where points pile up)."""
        xs, ys = self.px(x), self.py(y)
        ok = np.isfinite(xs) & np.isfinite(ys)
        xy = np.round(np.column_stack([xs[ok], ys[ok]]), 1).ravel().tolist()
        dots = f'<circle cx="%g" cy="%g" r="{r:g}"/>' * int(ok.sum()) % tuple(xy)
        self.data.append(f'<g fill="{color}" fill-opacity="{opacity:g}">{dots}</g>')

    def bars(self, edges: np.ndarray, heights: np.ndarray, color: str, opacity=0.8) -> None:
        """Histogram bars: ``heights[i]`` between ``edges[i]`` and ``edges[i + 1]``."""
        x, base = self.px(edges), float(self.py(np.array([self.ylim[0]]))[0])
        tops = self.py(heights)
        for i, h in enumerate(np.asarray(heights, dtype=float)):
            if h > 0:
                self.data.append(
                    f'<rect x="{x[i]:.1f}" y="{tops[i]:.1f}" width="{x[i + 1] - x[i]:.1f}" '
                    f'height="{base - tops[i]:.1f}" fill="{color}" fill-opacity="{opacity:g}"/>'
                )

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: str) -> None:
        """A filled rectangle between data corners ``(x0, y0)`` and ``(x1, y1)``."""
        xs, ys = self.px(np.array([x0, x1])), self.py(np.array([y0, y1]))
        self.data.append(
            f'<rect x="{xs.min():.1f}" y="{ys.min():.1f}" width="{abs(xs[1] - xs[0]):.1f}" '
            f'height="{abs(ys[1] - ys[0]):.1f}" fill="{fill}"/>'
        )

    def label(self, x: float, y: float, s: str, *, size: float = 10, color: str = "#222") -> None:
        """Text centred on data point ``(x, y)``."""
        px, py = float(self.px(np.array([x]))[0]), float(self.py(np.array([y]))[0])
        self.over.append(_text(px, py + 0.35 * size, s, size=size, anchor="middle", color=color))

    def hline(self, y: float, color: str, width: float = 0.8, dash: str = "") -> None:
        """A horizontal line across the axes at data ``y``."""
        self.line(np.array(self.xlim), np.array([y, y]), color, width, dash)

    def vline(self, x: float, color: str, width: float = 0.8, dash: str = "") -> None:
        """A vertical line across the axes at data ``x``."""
        self.line(np.array([x, x]), np.array(self.ylim), color, width, dash)

    def note(self, x: float, y: float, s: str, *, size: float = 10, box: bool = False) -> None:
        """Text at axes fractions ``x, y`` (0-1 from the bottom left), lines split at newlines.

        Its top left corner is at ``x, y``; ``box`` puts it on a white, grey-edged box.
        """
        left, top, width, height = self.box
        lines = s.split("\n")
        px, py = left + x * width, top + (1 - y) * height
        if box:
            w = 0.6 * size * max(len(t) for t in lines) + 8
            h = 1.3 * size * len(lines) + 6
            self.over.append(
                f'<rect x="{px - 4:.1f}" y="{py - 2:.1f}" width="{w:.1f}" height="{h:.1f}" '
                'fill="#fff" fill-opacity="0.85" stroke="#ccc"/>'
            )
        for i, t in enumerate(lines):
            self.over.append(_text(px, py + size * (1 + 1.3 * i), t, size=size))

    def axes(
        self,
        *,
        title: str = "",
        xlabel: str = "",
        ylabel: str = "",
        xticks: str | Sequence[tuple[float, str]] = "linear",
        yticks: str | Sequence[tuple[float, str]] = "linear",
        size: float = 12,
        pad: float = 6,
    ) -> None:
        """Grid, ticks and labels, the left and bottom spines and a bold title.

        ``xticks``/``yticks``: a ``ticks`` kind (``linear``, ``log``, ``date``), explicit
        ``(value, label)`` pairs, or ``none`` (no ticks on that axis). ``pad``: pixels between
        the axes' top and the title's baseline.
        """
        left, top, width, height = self.box
        bottom = top + height
        xt = ticks(*self.xlim, xticks) if isinstance(xticks, str) and xticks != "none" else ()
        yt = ticks(*self.ylim, yticks) if isinstance(yticks, str) and yticks != "none" else ()
        xt = xt if isinstance(xticks, str) else xticks
        yt = yt if isinstance(yticks, str) else yticks
        out = self.frame
        for v, label in xt:
            x = float(self.px(np.array([v]))[0])
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom + 3}" stroke="#e5e5e5"/>'
                + _text(x, bottom + 4 + size, label, size=size, anchor="middle", color="#444")
            )
        for v, label in yt:
            y = float(self.py(np.array([v]))[0])
            out.append(
                f'<line x1="{left - 3}" x2="{left + width}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="#e5e5e5"/>'
                + _text(left - 5, y + size * 0.35, label, size=size, anchor="end", color="#444")
            )
        out.append(f'<path d="M{left} {top}V{bottom}H{left + width}" fill="none" stroke="#999"/>')
        if title:
            self.over.append(_text(left, top - pad, title, size=size + 1, bold=True, color="#111"))
        if xlabel:
            out.append(
                _text(left + width / 2, bottom + 2 * size + 10, xlabel, size=size, anchor="middle")
            )
        if ylabel:
            cy = top + height / 2
            gap = 0.6 * size * max((len(label) for _, label in yt), default=0) + 10
            out.append(_text(left - gap - 4, cy, ylabel, size=size, anchor="middle", rotate=True))


class Canvas:
    """A figure of ``width`` x ``height`` pixels: panels, legends and free text."""

    def __init__(self, width: int, height: int) -> None:
        """An empty white figure."""
        self.width, self.height = width, height
        self.panels: list[Panel] = []
        self.extra: list[str] = []

    def panel(self, box: tuple[float, float, float, float], xlim, ylim, **kw) -> Panel:
        """Add a ``Panel`` (see its attributes for ``kw``)."""
        p = Panel(box, tuple(map(float, xlim)), tuple(map(float, ylim)), **kw)
        self.panels.append(p)
        return p

    def text(self, x: float, y: float, s: str, **kw) -> None:
        """Text at pixel ``x, y`` (``_text``'s options: size, anchor, color, bold, rotate)."""
        self.extra.append(_text(x, y, s, **kw))

    def legend(self, keys: Sequence[Key], x: float, y: float, *, across: int = 1, step=120) -> None:
        """Legend entries from pixel ``x, y``: ``across`` per row, ``step`` pixels apart."""
        for i, k in enumerate(keys):
            kx, ky = x + step * (i % across), y + 19 * (i // across)
            if k.kind == "box":
                mark = f'<rect x="{kx}" y="{ky - 5}" width="18" height="10" fill="{k.color}"/>'
            elif k.kind == "marker":
                mark = f'<circle cx="{kx + 9}" cy="{ky}" r="3" fill="{k.color}"/>'
            else:
                dash = f' stroke-dasharray="{k.dash}"' if k.dash else ""
                mark = (
                    f'<line x1="{kx}" x2="{kx + 20}" y1="{ky}" y2="{ky}" stroke="{k.color}" '
                    f'stroke-width="{k.width:g}"{dash}/>'
                )
            self.extra.append(mark + _text(kx + 25, ky + 4, k.label, size=12))

    def svg(self) -> str:
        """The standalone SVG document."""
        out = [
            f'<svg xmlns="{SVG_NS}" viewBox="0 0 {self.width} {self.height}" '
            f'width="{self.width}" height="{self.height}">',
            f'<rect width="{self.width}" height="{self.height}" fill="#fff"/>',
        ]
        for i, p in enumerate(self.panels):
            left, top, width, height = p.box
            out += p.frame
            out.append(
                f'<clipPath id="c{i}"><rect x="{left}" y="{top}" width="{width}" '
                f'height="{height}"/></clipPath><g clip-path="url(#c{i})">{"".join(p.data)}</g>'
            )
            out += p.over
        out += self.extra
        out.append("</svg>")
        return "".join(out)

    def data_uri(self) -> str:
        """The figure as a ``data:image/svg+xml;base64,...`` URI."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg().encode()).decode()
