from stackcast.reports.error_table import error_table


def _row(**kw):
    row = {
        "horizon": 1, "first": True, "predictor": "model", "is_model": True, "best": True,
        "n": 125, "mae": 0.0123, "rmse": 0.02, "mase": 0.9, "rel_mae": 0.95, "dir_acc": 0.55,
        "dir_p": 0.04, "coverage": 0.81, "coverage_nominal": 0.8,
        "dm": {"stat": -1.5, "p_one_sided": 0.07, "p_holm": 0.2, "beats_random_walk": False},
    }  # fmt: skip
    return row | kw


def test_cells_and_optional_columns() -> None:
    drift = _row(horizon=2, predictor="drift", is_model=False, best=False, dm=None)
    html = error_table([_row(), drift])
    assert '<tr class="model">' in html and '<tr class="group-start">' in html
    assert '<td class="best">1.230</td>' in html and "<td>55.0%</td>" in html
    assert "dir. p" not in html and "/ 80%" not in html
    assert '<span class="badge">no</span>' in html and "<td>81.0%</td>" in html
    full = error_table([_row()], dir_p=True, nominal=True)
    assert (
        "<th>dir. p</th>" in full and "<td>55.0%</td>\n<td>0.040</td>        <td>-1.50</td>" in full
    )
    assert '81.0% <span class="note">/ 80%</span>' in full


def test_values_are_escaped_and_the_mase_note_names_left_out_tickers() -> None:
    mase = {"rows": 3, "of": 5, "excluded_tickers": ["A&B", "<C>"]}
    html = error_table([_row(predictor="<b>x</b>", coverage=None)], mase=mase)
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html
    assert "MASE covers 3 of 5 rows" in html and "A&amp;B, &lt;C&gt; in some folds" in html
    assert "<td>—</td>\n      </tr>" in html  # the model without a coverage
    assert "MASE covers" not in error_table([_row()], mase={"rows": 5, "of": 5})


def test_cells_are_escaped_one_by_one_in_one_call() -> None:
    from markupsafe import escape
    from stackcast.reports.error_table import escaped

    texts = ["<0.001", "a&b", '"q"', "", "—", "12.3%"]
    assert escaped(texts) == [str(escape(t)) for t in texts]
    assert escaped(["a\x00<b", "c"]) == ["a\x00&lt;b", "c"]  # a NUL of its own: cell by cell
    assert escaped([]) == []
