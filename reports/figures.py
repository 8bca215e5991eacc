"""Report figure styling and encoding: palette, sizes, axes helpers, PNG data URIs.

The palette (``COLORS``, ``NAMES``, ``SERIES``) serves every figure, the SVG ones
(``stackcast.reports.svg_plot``, ``svg_chart``) included; matplotlib is imported only by the
helpers that draw with it, so pages without a matplotlib figure never load it. Those figures
are built with ``matplotlib.figure.Figure`` and the Agg canvas directly, never through
``pyplot``: nothing is registered globally, so nothing leaks and no display is needed. Styling
is per artist (no global ``rcParams``); ``to_data_uri`` renders a figure as a
``data:image/png;base64,...`` URI.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

from stackcast.models.base import FORECASTERS, label, registered

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# One palette for the whole report (colour-blind friendly, Okabe-Ito based); each registered
# forecaster brings its own colour and label (``models.base.FORECASTERS``).
COLORS = {
    "actual": "#222222",
    "model": "#0072B2",
    "model_h": "#D55E00",
    "latest": "#CC79A7",
    **{
        name: registered(name).color or "#56B4E9"
        for name in FORECASTERS
        if not registered(name).publishable
    },
    "long_flat": "#0072B2",
    "long_short": "#CC79A7",
    "buy_hold": "#7f7f7f",
}
NAMES = {
    "model": "model",
    **{name: label(name) for name in FORECASTERS if not registered(name).publishable},
}
# Distinguishable series (horizons): colour and line style both change, so lines stay apart in
# grey print and for colour-blind readers.
SERIES = (
    ("#0072B2", "-"),
    ("#D55E00", "--"),
    ("#009E73", "-."),
    ("#CC79A7", ":"),
    ("#E69F00", (0, (5, 1.5, 1, 1.5, 1, 1.5))),
    ("#56B4E9", (0, (8, 2))),
)
WIDTH = 8.0  # inches; at DPI this is the pixel width the CSS scales down on phones
DPI = 110
# zlib level of the PNGs: 3 encodes about twice as fast as the default 6, files a little larger.
PNG_COMPRESS_LEVEL = 3


def new_figure(
    height: float, nrows: int = 1, ncols: int = 1, *, layout: str | None = "constrained", **kw: Any
) -> tuple[Figure, Any]:
    """A styled figure and its 2-d array of axes (styling is per artist: no global rcParams).

    ``layout=None`` skips the layout engine (about half of a grid figure's drawing time): the
    caller then places the axes with ``Figure.subplots_adjust``.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH, height), dpi=DPI, layout=layout)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    for ax in axes.flat:
        _style(ax)
    return fig, axes


def series_style(i: int) -> dict[str, Any]:
    """``color`` and ``ls`` of the ``i``-th series (cycles through ``SERIES``)."""
    color, ls = SERIES[i % len(SERIES)]
    return {"color": color, "ls": ls}


def headline_horizons(horizons: Any, most: int = 6) -> list[int]:
    """Up to ``most`` horizons, spread evenly from the first to the last (all when few)."""
    hs = sorted({int(h) for h in horizons})
    if len(hs) <= most:
        return hs
    picks = {hs[round(i * (len(hs) - 1) / (most - 1))] for i in range(most)}
    return sorted(picks)


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#999999")
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8, color="#999999")


def plain(text: Any) -> str:
    """User text (a ticker) safe from matplotlib's mathtext: ``$`` is escaped."""
    return str(text).replace("$", r"\$")


def set_title(ax: Axes, text: str, **kw: Any) -> None:
    """A bold, left-aligned axes title.

    Placed at the top of the axes (``y=1``) rather than by matplotlib's automatic placement,
    which measures every tick label of the axes at each draw to dodge top-side ticks the
    report's axes never have (a third of a small figure's drawing time).
    """
    kw.setdefault("y", 1.0)
    ax.set_title(text, loc="left", fontsize=10, fontweight="bold", **kw)


def add_legend(ax: Axes, where: str = "right", **kw: Any) -> None:
    """A frameless legend outside the axes (``right``) or under the figure (``below``)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if where == "below":
        ax.figure.legend(
            handles,
            labels,
            loc="outside lower center",
            fontsize=8,
            frameon=False,
            ncols=min(len(handles), 6),
            **kw,
        )
    else:
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
            frameon=False,
            borderaxespad=0.0,
            **kw,
        )


def to_data_uri(fig: Figure) -> str:
    """Render a figure to a base64 PNG data URI (no metadata, no external references).

    The figure is not cleared afterwards: it is registered nowhere (no ``pyplot``), so the
    garbage collector frees it like any other object, and clearing it cost a tenth of the
    figure's time.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        dpi=DPI,
        facecolor="white",
        metadata={"Software": None},
        pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
    )
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
