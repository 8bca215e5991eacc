"""The errors-per-horizon table of the main report and of every ticker page, as HTML.

Written directly in Python rather than as a Jinja macro: a run of hundreds of tickers renders
it once per page, and the macro's per-cell lookups, filters and escaping cost more than the
rest of the page. The markup is what the pages have always carried; every value is escaped.
The templates call it as ``error_table(rows, dir_p=..., nominal=..., mase=...)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape
from stackcast.reports.templating import _num, _pct, _pp, _pval

_HEAD = """<div class="table-wrap">
  <table>
    <thead>
      <tr>
        <th>h</th><th class="l">predictor</th><th>n</th><th>MAE %</th><th>RMSE %</th>\
<th>MASE</th><th>rel. MAE</th>
        <th>dir. acc.</th>{dir_p}<th>DM stat</th><th>DM p</th>
        <th>Holm p</th><th class="l">beats RW</th><th>coverage</th>
      </tr>
    </thead>
    <tbody>
"""
_ROW = """      <tr class="{cls}">
        <td>{horizon}</td>
        <td class="l">{predictor}</td>
        <td>{n}</td>
        <td class="{best}">{mae}</td>
        <td>{rmse}</td>
        <td>{mase}</td>
        <td>{rel_mae}</td>
        <td>{dir_acc}</td>
{dir_p}        <td>{dm_stat}</td>
        <td>{dm_p}</td>
        <td>{holm}</td>
        <td class="l">{beats}</td>
        <td>{coverage}</td>
      </tr>
"""
_TAIL = """    </tbody>
  </table>
</div>
<p class="note">MAE and RMSE in percent of price (log-return errors &times;100). rel. MAE: MAE
  divided by the random walk's MAE on the same forecasts (out of sample; below 1: smaller errors
  than the random walk, whose own is 1). MASE divides each error by the random walk's mean
  absolute error on the same ticker's training origins of the same fold (in sample), so the
  random walk's own MASE is its test-period error over its training-period error: above 1 when
  the tested period was more volatile than training, not a defect.{mase}</p>
"""
_MASE = """  MASE covers {rows} of {of} rows (no in-sample scale for
  {excluded} in some folds); every other column covers all of them."""
_NOMINAL = Markup(' <span class="note">/ %s</span>')
_YES, _NO = '<span class="badge yes">yes</span>', '<span class="badge">no</span>'


def escaped(texts: Iterable[str]) -> list[str]:
    """Each of ``texts`` HTML-escaped, in one ``escape`` call over all of them (joined by NUL).

    A table's cells are short: one call for a row costs a fifth of one call per cell.
    """
    texts = list(texts)
    joined = "\x00".join(texts)
    if not texts or joined.count("\x00") != len(texts) - 1:  # none, or a NUL of their own
        return [str(escape(t)) for t in texts]
    return str(escape(joined)).split("\x00")


def error_table(
    rows: Sequence[Mapping[str, Any]],
    dir_p: bool = False,
    nominal: bool = False,
    mase: Mapping[str, Any] | None = None,
) -> Markup:
    """The table of ``rows`` (``ticker_pages.error_rows`` / ``html._headline_rows``).

    Args:
        rows: One per (horizon, predictor): ``horizon``, ``first``, ``predictor``,
            ``is_model``, ``best``, ``n``, ``mae``, ``rmse``, ``mase``, ``dir_acc``, ``dm``
            (the DM test or None), and the model's ``coverage``; ``rel_mae``, ``dir_p`` and
            ``coverage_nominal`` where shown.
        dir_p: Show the directional test's p-value.
        nominal: Show the nominal coverage beside the realised one.
        mase: The run's ``mase_coverage``; said under the table when MASE leaves rows out.
    """
    out = [_HEAD.format(dir_p="<th>dir. p</th>" if dir_p else "")]
    for i, r in enumerate(rows):
        dm = r["dm"]
        classes = ["group-start" if r["first"] and i else "", "model" if r["is_model"] else ""]
        covered = r["is_model"] and r.get("coverage") is not None
        text = {
            "cls": " ".join(c for c in classes if c),
            "horizon": str(r["horizon"]) if r["first"] else "",
            "predictor": str(r["predictor"]),
            "n": str(r["n"]),
            "mae": _pp(r["mae"]),
            "rmse": _pp(r["rmse"]),
            "mase": _num(r["mase"], 3),
            "rel_mae": _num(r.get("rel_mae"), 3),
            "dir_acc": _pct(r["dir_acc"]),
            "dir_p": _pval(r["dir_p"]) if dir_p else "",
            "dm_stat": _num(dm["stat"], 2) if dm else "",
            "dm_p": _pval(dm["p_one_sided"]) if dm else "",
            "holm": _pval(dm["p_holm"]) if dm and "p_holm" in dm else "",
            "coverage": _pct(r["coverage"]) if covered else "",
        }
        cell = dict(zip(text, escaped(text.values()), strict=True))
        if covered and nominal:
            cell["coverage"] += _NOMINAL % _pct(r["coverage_nominal"], 0)
        elif r["is_model"] and not covered:
            cell["coverage"] = "—"
        cell["dir_p"] = f"<td>{cell['dir_p']}</td>" if dir_p else ""
        beats = (_YES if dm["beats_random_walk"] else _NO) if dm else ""
        out.append(_ROW.format(**cell, best="best" if r["best"] else "", beats=beats))
    note = ""
    if mase and mase["rows"] < mase["of"]:
        excluded = ", ".join(escape(t) for t in mase["excluded_tickers"])
        note = _MASE.format(rows=escape(mase["rows"]), of=escape(mase["of"]), excluded=excluded)
    out.append(_TAIL.format(mase=note))
    return Markup("".join(out))
