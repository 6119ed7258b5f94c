"""Fan charts of forecasts: one small panel per region, history and the selected model's intervals."""
from __future__ import annotations

import logging
import math

import pandas as pd
from matplotlib.figure import Figure

logger = logging.getLogger(__name__)


def plot_forecasts(history: pd.DataFrame, forecasts: pd.DataFrame, target: str, *,
                   breaks: pd.DataFrame | None = None, ncols: int = 4) -> Figure | None:
    """Draw history and forecast bands of ``target`` for every region.

    Parameters
    ----------
    history : DataFrame
        Wide panel with ``region``, ``year`` and the ``target`` column (published values).
    forecasts : DataFrame
        Long forecast table with ``target``, ``model``, ``region``, ``year``, ``point``,
        ``lower``, ``upper``, ``level`` and ``selected``; rows of the selected model are drawn,
        widest level lightest.
    breaks : DataFrame, optional
        ``region``, ``year`` of published values flagged ``break:*``; drawn as grey crosses so
        a reader sees which spikes are census re-basing or territory transfers.

    Returns
    -------
    Figure or None
        None (with a log line) when there is no selected forecast of ``target`` to draw.
    """
    fc = forecasts[(forecasts["target"] == target) & forecasts["selected"].astype(bool)]
    if fc.empty:
        logger.info("no selected forecast of %s to plot", target)
        return None
    regions = sorted(fc["region"].unique())
    nrows = math.ceil(len(regions) / ncols)
    fig = Figure(figsize=(3.2 * ncols, 2.3 * nrows))
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
    levels = sorted(fc["level"].dropna().unique(), reverse=True)
    for ax, region in zip(axes.flat, regions):
        h = history.loc[history["region"] == region, ["year", target]].dropna()
        ax.plot(h["year"], h[target], color="black", lw=1)
        if breaks is not None:
            b = h.merge(breaks.loc[breaks["region"] == region, ["year"]], on="year")
            ax.plot(b["year"], b[target], "x", color="grey", ms=5, label="break year")
        f = fc[fc["region"] == region]
        for i, lvl in enumerate(levels):
            band = f[f["level"] == lvl].sort_values("year")
            ax.fill_between(band["year"], band["lower"], band["upper"], color="tab:blue",
                            alpha=0.15 + 0.2 * i, lw=0, label=f"{lvl:.0%}")
        pts = f.drop_duplicates("year").sort_values("year")
        ax.plot(pts["year"], pts["point"], color="tab:blue", lw=1.5)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(f"{region} ({pts['model'].iloc[0]})", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(regions):]:
        ax.set_visible(False)
    handles, labels = [], []
    for ax in axes.flat:  # the first panel may have no break year to label
        for hd, lb in zip(*ax.get_legend_handles_labels()):
            if lb not in labels:
                handles.append(hd)
                labels.append(lb)
    fig.legend(handles, labels, loc="upper right", fontsize=8)
    fig.suptitle(f"{target}: history and forecast of the selected model", fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.95, 0.97))
    return fig
