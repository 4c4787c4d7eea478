"""Figures of a training run, for the MLflow UI (``mlflow.log_figure(fig, "plots/<name>.png")``).

Each function takes a backtest's frames (``training.backtest.BacktestReport``) or a booster's
feature importance and returns a ``matplotlib.figure.Figure`` built with the object-oriented API:
no pyplot, so no global figure state and no display backend, and it is safe in any thread.
Empty input or input without the needed columns gives a figure that says so instead of raising.
Figures are at most 16 x 10 inches at 100 dpi (1600 x 1000 pixels).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

__all__ = ["coverage_by_step", "error_by_step", "feature_importance", "forecast_bands"]

DPI = 100
MAX_WIDTH, MAX_HEIGHT = 16.0, 10.0  # inches: 1600 x 1000 pixels at DPI
ACTUAL_COLOR = "black"
# One colour per fold or candidate in turn (Okabe-Ito: readable for colour-blind readers).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
BAND_ALPHA = {"wide": 0.15, "80": 0.3}


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(min(width, MAX_WIDTH), min(height, MAX_HEIGHT)), dpi=DPI, layout="constrained")


def _message(title: str, message: str) -> Figure:
    """A small figure holding one sentence: what the plot would show and why it cannot."""
    fig = _figure(8, 3)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, transform=ax.transAxes, wrap=True)
    return fig


def _quantile_columns(frame: pd.DataFrame) -> dict[float, str]:
    """``{percent: column}`` of the ``q<percent>`` columns (``q2.5`` -> 2.5)."""
    found = {}
    for column in frame.columns:
        text = str(column)[1:]
        if str(column).startswith("q") and text.replace(".", "", 1).isdigit():
            found[float(text)] = str(column)
    return found


def _bands(frame: pd.DataFrame) -> list[tuple[float, str, str]]:
    """Central bands the quantile columns make, widest first: ``(level, lower, upper)``."""
    quantiles = _quantile_columns(frame)
    bands = [
        (round(100 - 2 * p, 6), quantiles[p], quantiles[100 - p])
        for p in sorted(quantiles)
        if p < 50 and (100 - p) in quantiles
    ]
    return sorted(bands, reverse=True)


def _level_text(level: float) -> str:
    return f"{level:g}%"


def _sample_series(volume: pd.Series, count: int, seed: int) -> list[tuple[object, str]]:
    """``count`` series spread across volume: ``(id, rank description)``, largest first."""
    ranked = volume.sort_index().sort_values(ascending=False, kind="stable")
    nonzero = ranked[ranked > 0]
    ranked = nonzero if len(nonzero) else ranked
    if count >= len(ranked):
        picks = list(range(len(ranked)))
    else:
        rng = np.random.default_rng(seed)
        strata = np.array_split(np.arange(len(ranked)), count)
        picks = [
            int(s[0]) if i == 0 else int(s[-1]) if i == count - 1 else int(rng.choice(s)) for i, s in enumerate(strata)
        ]
    chosen = []
    for i in picks:
        where = " (largest)" if i == 0 else " (smallest)" if i == len(ranked) - 1 else ""
        chosen.append((ranked.index[i], f"rank {i + 1} of {len(ranked)} by demand{where}"))
    return chosen


def forecast_bands(
    forecasts: pd.DataFrame, history: pd.DataFrame | None = None, series: int = 6, seed: int = 0
) -> Figure:
    """Actuals against each fold's forecast and bands, one panel per sampled series.

    Args:
        forecasts: the rolling-origin backtest's rows (``BacktestReport.forecasts``):
            ``unique_id, ds, mean`` (or ``q50``), ``q<p>`` quantiles, actual ``y``, ``cutoff``.
        history: optional ``unique_id, ds, y``; the actuals of the two horizons before the first
            cutoff are drawn, so the forecasts can be judged against the recent level and pattern.
        series: how many series to draw (at most; panels are laid out two per row).
        seed: picks the middle series of the sample (see below).

    Series sample (deterministic for a given ``seed``): series are ranked by their total actual
    demand over the forecast rows, those with none left out (unless all have none); the ranking is
    cut into ``series`` strata of consecutive ranks and one series drawn from each: the largest
    series from the first, the smallest non-zero one from the last, and one chosen with ``seed``
    from each stratum between. So the panels run from the biggest seller to the smallest.

    Each fold (cutoff) is drawn in its own colour: the forecast mean, its widest band lightly
    shaded and its 80% band (``q10``-``q90``) darker; a dotted line marks the cutoff. Actuals are
    a black line.
    """
    title = "Backtest forecasts with bands"
    needed = {"unique_id", "ds", "y"}
    point = "mean" if "mean" in forecasts.columns else "q50" if "q50" in forecasts.columns else None
    if forecasts.empty or point is None or not needed <= set(forecasts.columns):
        return _message(title, "no forecast rows to draw")
    frame = forecasts.assign(ds=pd.to_datetime(forecasts["ds"]))
    if "cutoff" in frame.columns:
        frame["cutoff"] = pd.to_datetime(frame["cutoff"])
    else:
        frame["cutoff"] = frame.groupby("unique_id")["ds"].transform("min")
    horizon = int(frame["step"].max()) if "step" in frame.columns and frame["step"].notna().any() else None
    horizon = horizon or int(frame.groupby(["unique_id", "cutoff"]).size().max())
    bands = _bands(frame)
    drawn = [bands[0]] if bands else []
    drawn += [b for b in bands[1:] if math.isclose(b[0], 80)][:1]
    cutoffs = sorted(frame["cutoff"].dropna().unique())
    color = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(cutoffs)}

    volume = frame.groupby("unique_id")["y"].sum(min_count=1).fillna(0.0)
    chosen = _sample_series(volume, max(1, series), seed)
    columns = 1 if len(chosen) == 1 else 2
    rows = math.ceil(len(chosen) / columns)
    fig = _figure(7.0 * columns, 1.2 + 2.8 * rows)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    first_cutoff = min(cutoffs) if cutoffs else frame["ds"].min()
    for ax, (uid, rank) in zip(axes, chosen):
        rows_of = frame[frame["unique_id"] == uid].sort_values(["cutoff", "ds"])
        actual = rows_of[["ds", "y"]].drop_duplicates("ds")
        if history is not None and not history.empty and {"unique_id", "ds", "y"} <= set(history.columns):
            past = history.loc[history["unique_id"] == uid, ["ds", "y"]].assign(ds=lambda h: pd.to_datetime(h["ds"]))
            past = past[past["ds"] <= first_cutoff].sort_values("ds").tail(2 * horizon)
            actual = pd.concat([past, actual[~actual["ds"].isin(past["ds"])]])
        actual = actual.sort_values("ds")
        for cutoff, fold in rows_of.groupby("cutoff", sort=True):
            tint = color[cutoff]
            for level, lower, upper in drawn:
                alpha = BAND_ALPHA["80"] if math.isclose(level, 80) else BAND_ALPHA["wide"]
                ax.fill_between(fold["ds"], fold[lower], fold[upper], color=tint, alpha=alpha, linewidth=0)
            ax.plot(fold["ds"], fold[point], color=tint, linewidth=1.6)
            ax.axvline(cutoff, color=tint, linestyle=":", linewidth=1)
        ax.plot(
            actual["ds"], actual["y"], color=ACTUAL_COLOR, linewidth=1.2, marker="." if len(actual) <= 120 else None
        )
        ax.set_title(f"{uid}: {rank}", fontsize=10)
        ax.set_ylabel("demand")
        ax.set_ylim(bottom=min(0.0, float(np.nanmin(actual["y"])) if actual["y"].notna().any() else 0.0))
        ax.grid(alpha=0.3)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ax in axes[len(chosen) :]:
        ax.set_axis_off()

    handles = [Line2D([], [], color=ACTUAL_COLOR, marker=".", label="actual")]
    # Hourly origins keep their hour, as the backtest writes them.
    moment = "%Y-%m-%d %H:%M" if any(pd.Timestamp(c) != pd.Timestamp(c).normalize() for c in cutoffs) else "%Y-%m-%d"
    handles += [
        Line2D([], [], color=color[c], linewidth=1.6, label=f"forecast {point}, cutoff {pd.Timestamp(c):{moment}}")
        for c in cutoffs
    ]
    neutral = PALETTE[0]
    for level, lower, upper in drawn:
        alpha = BAND_ALPHA["80"] if math.isclose(level, 80) else BAND_ALPHA["wide"]
        handles.append(Patch(color=neutral, alpha=alpha, label=f"{_level_text(level)} band ({lower}-{upper})"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), fontsize=9, frameon=False)
    fig.suptitle(f"{title}: {len(chosen)} of {volume.size} series, {len(cutoffs)} folds")
    return fig


def _candidates(by_step: pd.DataFrame | Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``{candidate: by_step}`` with rows sorted by step; one frame is candidate ``model``."""
    frames = dict(by_step) if isinstance(by_step, Mapping) else {"model": by_step}
    return {
        str(name): frame.dropna(subset=["step"]).sort_values("step")
        for name, frame in frames.items()
        if frame is not None and "step" in frame.columns and frame["step"].notna().any()
    }


def _step_axis(ax, steps: int) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(max(steps, 1), 14)))
    ax.set_xlabel("horizon step (periods after the cutoff)")
    ax.grid(alpha=0.3)


def _figure_legend(fig: Figure) -> None:
    """One legend below the panels, each label once (a candidate may be on some panels only)."""
    handles = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncol=min(len(handles), 5), frameon=False)


def _line(ax, frame: pd.DataFrame, column: str, **style) -> None:
    marker = "o" if len(frame) <= 60 else None
    ax.plot(frame["step"], frame[column], marker=marker, markersize=4, linewidth=1.6, **style)


def error_by_step(by_step: pd.DataFrame | Mapping[str, pd.DataFrame]) -> Figure:
    """WAPE (left) and relative bias (right) by horizon step, one line per candidate.

    Args:
        by_step: ``BacktestReport.by_step`` (columns ``step, wape, bias``, ...), or
            ``{candidate: by_step}`` to draw e.g. the production model and seasonal naive on the same axes.

    Bias is (sum forecast - sum actual) / sum actual: above zero the candidate over-forecasts.
    """
    title = "Error by horizon step"
    frames = _candidates(by_step)
    metrics = [
        (column, label)
        for column, label in (("wape", "WAPE (lower is better)"), ("bias", "bias (> 0: over-forecast)"))
        if any(column in f.columns and f[column].notna().any() for f in frames.values())
    ]
    if not metrics:
        return _message(title, "no per-step WAPE or bias to draw")
    fig = _figure(6.0 * len(metrics), 4.5)
    axes = fig.subplots(1, len(metrics), squeeze=False).ravel()
    steps = max(int(f["step"].max()) for f in frames.values())
    for ax, (column, label) in zip(axes, metrics):
        for i, (name, frame) in enumerate(frames.items()):
            if column in frame.columns and frame[column].notna().any():
                _line(ax, frame, column, color=PALETTE[i % len(PALETTE)], label=name)
        if column == "bias":
            ax.axhline(0, color="grey", linewidth=1)
        else:
            ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(label, fontsize=10)
        _step_axis(ax, steps)
    _figure_legend(fig)
    fig.suptitle(title)
    return fig


def coverage_by_step(by_step: pd.DataFrame | Mapping[str, pd.DataFrame]) -> Figure:
    """Coverage of each band by horizon step, one panel per band, one line per candidate; the
    nominal level (80%, 95%) is a dashed line. Coverage under it: the band is too narrow there.

    Args:
        by_step: ``BacktestReport.by_step`` (columns ``step, coverage_<level>``), or ``{candidate: by_step}``.
            A candidate without coverage columns (no bands) is left out.
    """
    title = "Band coverage by horizon step"
    frames = _candidates(by_step)
    levels = sorted(
        {
            float(str(c).removeprefix("coverage_"))
            for f in frames.values()
            for c in f.columns
            if str(c).startswith("coverage_")
            and str(c).removeprefix("coverage_").replace(".", "", 1).isdigit()
            and f[c].notna().any()
        }
    )
    if not levels:
        return _message(title, "no bands: the by-step scores carry no coverage columns")
    fig = _figure(6.0 * len(levels), 4.5)
    axes = fig.subplots(1, len(levels), squeeze=False).ravel()
    steps = max(int(f["step"].max()) for f in frames.values())
    for ax, level in zip(axes, levels):
        column = f"coverage_{level:g}"
        low = level / 100
        for i, (name, frame) in enumerate(frames.items()):
            if column in frame.columns and frame[column].notna().any():
                _line(ax, frame, column, color=PALETTE[i % len(PALETTE)], label=name)
                low = min(low, float(frame[column].min()))
        ax.axhline(level / 100, color="grey", linestyle="--", linewidth=1.2, label=f"nominal {_level_text(level)}")
        ax.set_ylim(max(0.0, low - 0.1), 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_title(f"{_level_text(level)} band: share of actuals inside (nominal: dashed)", fontsize=10)
        _step_axis(ax, steps)
    _figure_legend(fig)
    fig.suptitle(title)
    return fig


def feature_importance(names: Sequence[str], gains: Sequence[float], top: int = 25) -> Figure:
    """The ``top`` features by total gain, as horizontal bars, largest at the top; bars are each
    feature's share of the total gain of all features and are labelled with it.

    Args:
        names: ``booster.feature_name()``.
        gains: ``booster.feature_importance("gain")``, in the same order; NaN gains are dropped.
    """
    title = "Feature importance (gain)"
    names, gains = list(names), [float(g) for g in gains]
    if len(names) != len(gains):
        raise ValueError(f"{len(names)} feature names but {len(gains)} gains")
    table = pd.DataFrame({"name": [str(n) for n in names], "gain": gains}).dropna()
    total = float(table["gain"].sum())
    if table.empty or total <= 0:
        return _message(title, "no feature has any gain")
    table = table.sort_values("gain", ascending=False, kind="stable").head(max(1, top))
    share = table["gain"] / total
    fig = _figure(9.0, 1.2 + 0.3 * len(table))
    ax = fig.add_subplot()
    positions = np.arange(len(table))[::-1]
    bars = ax.barh(positions, share, color=PALETTE[0])
    ax.bar_label(bars, labels=[f"{s:.1%}" for s in share], padding=3, fontsize=8)
    ax.set_yticks(positions, labels=table["name"], fontsize=9)
    ax.set_xlim(0, float(share.max()) * 1.15)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of total gain")
    ax.grid(axis="x", alpha=0.3)
    shown = f"top {len(table)} of {len(gains)} features" if len(table) < len(gains) else f"all {len(gains)} features"
    ax.set_title(f"{title}: {shown}, {float(share.sum()):.0%} of the total gain", fontsize=10)
    return fig
