"""Accuracy metrics on forecast frames, computed with utilsforecast where it has the piece.

Inputs are long frames: ``actual`` (``unique_id, ds, y``: the observed units
per period over the forecast window), ``forecast`` (the forecast frame of
``models.base``: ``unique_id, ds, mean, q<p>...``) and, for scaled errors,
``train`` (``unique_id, ds, y``: the history the model was fit on, sorted by
time within each series). Every actual row must have a forecast row; a missing
forecast is an error, never a silent drop.

Definitions:

- WAPE = sum |y - mean| / sum y over all series and periods.
- RMSSE of a series = sqrt(mean squared error over the window / mean squared
  one-step naive error in sample). As in M5, the in-sample part starts at the
  series' first non-zero demand, so leading zeros (item not yet on sale) do
  not shrink the scale. Series whose scale is undefined (no demand, or a
  constant history) have no RMSSE.
- WRMSSE = sum_i w_i RMSSE_i with M5 weights: w_i proportional to the dollar
  sales (units x price) of series i over the last 28 training days, summing to 1
  over the scored series (bottom level only: item-store series).
- Bias = (sum mean - sum y) / sum y: positive when forecasts are too high.
- Pinball loss at quantile q = mean over rows of max(q (y - f), (q - 1)(y - f)),
  in units per period.
- Coverage of a central ``level``% interval = share of actuals inside
  [q_lo, q_hi]; relative width = mean(q_hi - q_lo) / mean(y).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from utilsforecast.losses import quantile_loss, rmsse

__all__ = [
    "bias",
    "coverage",
    "dollar_sales_weights",
    "interval_coverage",
    "mean_rmsse",
    "pinball_loss",
    "relative_interval_width",
    "rmsse_by_series",
    "wape",
    "wrmsse",
    "wrmsse_by_group",
]

_KEYS = ["unique_id", "ds"]


def _scored(actual: pd.DataFrame, forecast: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Actuals joined with the forecast columns; refuses actual rows without a forecast."""
    joined = actual[[*_KEYS, "y"]].merge(forecast[[*_KEYS, *columns]], on=_KEYS, how="left")
    unforecast = joined[list(columns)].isna().any(axis=1)
    if unforecast.any():
        first = joined.loc[unforecast, _KEYS].iloc[0]
        raise ValueError(
            f"{int(unforecast.sum())} actual rows have no forecast in {list(columns)}"
            f" (first: {first['unique_id']!r} at {first['ds']})"
        )
    return joined


def _bounds(level: float) -> tuple[str, str]:
    return f"q{50.0 - level / 2.0:g}", f"q{50.0 + level / 2.0:g}"


def wape(actual: pd.DataFrame, forecast: pd.DataFrame, column: str = "mean") -> float:
    """Weighted absolute percentage error of ``column`` over the whole panel (a ratio; NaN when sum y = 0)."""
    joined = _scored(actual, forecast, [column])
    total = joined["y"].abs().sum()
    return float((joined["y"] - joined[column]).abs().sum() / total) if total > 0 else float("nan")


def bias(actual: pd.DataFrame, forecast: pd.DataFrame, column: str = "mean") -> float:
    """Relative bias (sum forecast - sum actual) / sum actual; > 0 means over-forecasting."""
    joined = _scored(actual, forecast, [column])
    total = joined["y"].sum()
    return float((joined[column].sum() - total) / total) if total > 0 else float("nan")


def _active_history(train: pd.DataFrame) -> pd.DataFrame:
    """Each series from its first non-zero demand on (M5 drops the leading zeros before scaling)."""
    history = train[[*_KEYS, "y"]].sort_values(_KEYS, ignore_index=True)
    started = history.groupby("unique_id", sort=False)["y"].cumsum() > 0
    return history[started.to_numpy()]


def rmsse_by_series(
    actual: pd.DataFrame, forecast: pd.DataFrame, train: pd.DataFrame, column: str = "mean"
) -> pd.Series:
    """RMSSE of ``column`` per series (index ``unique_id``), scaled by the in-sample one-step naive MSE.

    Returns:
        One value per forecast series; NaN where the scale is undefined (no
        demand in ``train``, or a constant history after the first sale).
    """
    joined = _scored(actual, forecast, [column])
    scores = rmsse(joined, models=[column], seasonality=1, train_df=_active_history(train))
    values = scores.set_index("unique_id")[column].astype(float).replace([np.inf, -np.inf], np.nan)
    return values.reindex(joined["unique_id"].drop_duplicates().sort_values()).rename("rmsse")


def mean_rmsse(actual: pd.DataFrame, forecast: pd.DataFrame, train: pd.DataFrame, column: str = "mean") -> float:
    """RMSSE averaged (unweighted) over the series where it is defined."""
    return float(rmsse_by_series(actual, forecast, train, column).mean())


def dollar_sales_weights(train: pd.DataFrame, price_column: str = "sell_price", days: int = 28) -> pd.Series:
    """M5 series weights: dollar sales over the last ``days`` periods of ``train``, summing to 1.

    Args:
        train: the training panel with ``unique_id, ds, y`` and ``price_column``
            (currency per unit; NaN when not on sale counts as no sales).
        price_column: the price column.
        days: length of the weighting window, in periods, ending at the
            panel's last period.

    Returns:
        Weights indexed by ``unique_id`` (every series of ``train``), sum 1.
    """
    periods = np.sort(train["ds"].unique())
    window = train[train["ds"] >= periods[max(len(periods) - days, 0)]]
    dollars = (window["y"] * window[price_column].fillna(0.0)).groupby(window["unique_id"]).sum()
    dollars = dollars.reindex(train["unique_id"].drop_duplicates().sort_values(), fill_value=0.0)
    total = dollars.sum()
    if total <= 0:
        raise ValueError(f"no dollar sales in the last {days} periods: weights are undefined")
    return (dollars / total).rename("weight")


def _weighted(scores: pd.Series, weights: pd.Series) -> float:
    w = weights.reindex(scores.index, fill_value=0.0)
    if w.sum() <= 0:
        return float("nan")
    return float((w * scores.fillna(0.0)).sum() / w.sum())


def wrmsse(
    actual: pd.DataFrame, forecast: pd.DataFrame, train: pd.DataFrame, weights: pd.Series, column: str = "mean"
) -> float:
    """Weighted RMSSE over the forecast series, weights renormalised to sum 1 over them.

    Args:
        weights: per-series weights indexed by ``unique_id``
            (``dollar_sales_weights``). A series with positive weight and an
            undefined RMSSE is an error.
    """
    return _weighted(_checked_rmsse(actual, forecast, train, weights, column), weights)


def wrmsse_by_group(
    actual: pd.DataFrame,
    forecast: pd.DataFrame,
    train: pd.DataFrame,
    weights: pd.Series,
    groups: Mapping[str, str] | pd.Series,
    column: str = "mean",
) -> dict[str, float]:
    """WRMSSE within each group of series (e.g. M5 category), weights renormalised per group.

    Args:
        groups: the group of each ``unique_id``.

    Returns:
        ``{group: WRMSSE}``, groups sorted by name.
    """
    scores = _checked_rmsse(actual, forecast, train, weights, column)
    group_of = pd.Series(groups).reindex(scores.index)
    return {str(g): _weighted(scores[group_of == g], weights) for g in sorted(group_of.dropna().unique())}


def _checked_rmsse(actual, forecast, train, weights: pd.Series, column: str) -> pd.Series:
    scores = rmsse_by_series(actual, forecast, train, column)
    undefined = scores.index[scores.isna() & (weights.reindex(scores.index, fill_value=0.0) > 0)]
    if len(undefined):
        raise ValueError(f"RMSSE undefined for weighted series {list(undefined[:5])}")
    return scores


def pinball_loss(actual: pd.DataFrame, forecast: pd.DataFrame, quantiles: Sequence[float]) -> dict[float, float]:
    """Mean pinball loss per quantile, in units per period, over every row.

    Args:
        quantiles: quantiles as fractions in (0, 1); quantile ``q`` is read from
            forecast column ``q<100 q>`` (0.1 -> ``q10``).

    Returns:
        ``{q: loss}`` in the order given.
    """
    columns = {q: f"q{100 * q:g}" for q in quantiles}
    joined = _scored(actual, forecast, list(columns.values()))
    rows = joined.groupby("unique_id").size()
    losses = {}
    for q, name in columns.items():
        per_series = quantile_loss(joined, models={name: name}, q=q).set_index("unique_id")[name]
        losses[q] = float((per_series * rows.reindex(per_series.index)).sum() / rows.sum())
    return losses


def coverage(actual: pd.DataFrame, forecast: pd.DataFrame, lower: str, upper: str) -> float:
    """Share of actuals inside ``[lower, upper]`` (forecast column names)."""
    joined = _scored(actual, forecast, [lower, upper])
    inside = (joined["y"] >= joined[lower]) & (joined["y"] <= joined[upper])
    return float(inside.mean())


def interval_coverage(actual: pd.DataFrame, forecast: pd.DataFrame, level: float) -> float:
    """Share of actuals inside the central ``level``% interval (80 -> ``[q10, q90]``)."""
    return coverage(actual, forecast, *_bounds(level))


def relative_interval_width(actual: pd.DataFrame, forecast: pd.DataFrame, level: float) -> float:
    """Mean width of the central ``level``% interval divided by mean actual demand."""
    lower, upper = _bounds(level)
    joined = _scored(actual, forecast, [lower, upper])
    demand = joined["y"].mean()
    return float((joined[upper] - joined[lower]).mean() / demand) if demand > 0 else float("nan")
