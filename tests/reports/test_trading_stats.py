"""stackcast.reports.trading_stats: many runs of bars summarised at once, as one at a time."""

from __future__ import annotations

import numpy as np
from stackcast.reports.trading_stats import drawdown, equity_curve, group_performance, performance


def test_runs_summarised_together_are_each_run_summarised_alone_to_the_last_bit():
    rng = np.random.default_rng(11)
    sizes = rng.choice([1, 2, 3, 8, 63, 125, 126], 40)
    n = int(sizes.sum())
    bounds = np.stack([np.cumsum(sizes) - sizes, np.cumsum(sizes)], axis=1)
    net = rng.normal(0.0005, 0.02, n)
    net[bounds[2, 0] : bounds[2, 1]] = -0.5  # a run that loses most of its equity
    held = rng.choice([-1.0, 0.0, 1.0], n)
    held[bounds[3, 0] : bounds[3, 1]] = 0.0  # never in the market: no hit rate
    gross = net + rng.normal(0, 0.001, n)
    turnover = np.abs(rng.choice([-1.0, 0.0, 1.0], n))
    for ppy, rf in ((252, 0.0), (12, 0.03)):
        kw = {"periods_per_year": ppy, "risk_free": rf}
        stats, curves = group_performance(net, gross, turnover, held, bounds, **kw)
        for (a, b), got, (equity, dd) in zip(bounds, stats, curves, strict=True):
            assert got == performance(net[a:b], gross[a:b], turnover[a:b], held[a:b], **kw)
            alone = [v[a:b].copy() for v in (net, gross, turnover, held)]
            assert group_performance(*alone, np.array([[0, b - a]]), **kw)[0] == [got]
            assert equity.tobytes() == equity_curve(net[a:b]).tobytes()
            assert dd.tobytes() == drawdown(equity_curve(net[a:b])).tobytes()
