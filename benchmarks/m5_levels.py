"""The M5 subset at every level of its hierarchy, and as weekly sums: panels and per-level scores.

Levels (issue 15): total, state, store, category, department, state x category,
state x department, store x category, store x department and the item-store
series themselves. ``levels_panel`` builds them with hierarchicalforecast's
``aggregate``: demand is summed; aggregate ids are its "/"-joined names in the
order of ``M5_LEVELS`` (``CA/FOODS``, ``CA_1/FOODS_1``; the total is ``total``),
item-store series keep their M5 id. Known-future columns of an aggregate:

- ``sell_price``: mean price of the series on sale that day (NaN when none is);
- ``snap``: mean of the series' SNAP flags (the share of them in a SNAP state);
- ``event``, ``event_<type>``: max (the same calendar day for every series, so the flag itself).

Static columns of an aggregate (``state_id, store_id, cat_id, dept_id,
item_id``): the value its series share, ``"all"`` where they differ (a store
keeps its state, a department its category).

``weekly_panel`` sums the item-store series over M5 weeks (Saturday to Friday,
dated by the Friday: ``W-FRI``), keeping complete weeks only: ``sell_price`` is
the mean price over the days on sale, ``snap`` and the event columns count days.

Scores (``models.metrics``) per level: WAPE, mean RMSSE (each series scaled by
its own in-sample one-step naive error), bias, coverage and relative width of
the central intervals; and coverage per volume decile (series of every level
ranked by mean demand over the last 28 training periods).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from hierarchicalforecast.utils import aggregate

from models import metrics
from models.base import forecast_frame

__all__ = [
    "BOTTOM",
    "HIERARCHY",
    "M5_LEVELS",
    "STATICS",
    "LevelsPanel",
    "band_figures",
    "bottom_up_points",
    "decile_rows",
    "level_rows",
    "levels_panel",
    "shifted_bands",
    "volume_deciles",
    "weekly_panel",
]

BOTTOM = "item×store"
# (level, grouping columns): the total groups on nothing, the bottom is each item-store series.
M5_LEVELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("total", ()),
    ("state", ("state_id",)),
    ("store", ("store_id",)),
    ("cat", ("cat_id",)),
    ("dept", ("dept_id",)),
    ("state×cat", ("state_id", "cat_id")),
    ("state×dept", ("state_id", "dept_id")),
    ("store×cat", ("store_id", "cat_id")),
    ("store×dept", ("store_id", "dept_id")),
    (BOTTOM, ("state_id", "store_id", "cat_id", "dept_id", "item_id")),
)
# The aggregate levels' grouping columns, as a hierarchy forecaster takes them (the total implied).
HIERARCHY: tuple[tuple[str, ...], ...] = tuple(columns for name, columns in M5_LEVELS if columns and name != BOTTOM)
STATICS = ("state_id", "store_id", "cat_id", "dept_id", "item_id")
EVENTS = ("event", "event_cultural", "event_national", "event_religious", "event_sporting")
_TOTAL = "total"


@dataclass(frozen=True)
class LevelsPanel:
    """Every level's series of a bottom panel.

    Attributes:
        panel: ``unique_id, ds, y``, the static columns and the known-future columns, for every series.
        summing: the summing matrix: one row per series (index ``unique_id``), one column per item-store series.
        level: the level name of each series (index ``unique_id``).
    """

    panel: pd.DataFrame
    summing: pd.DataFrame
    level: pd.Series


def _joined(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    return frame[list(columns)].astype(str).agg("/".join, axis=1)


def levels_panel(bottom: pd.DataFrame) -> LevelsPanel:
    """Aggregate an M5 panel (``benchmarks.m5.m5_panel``) to ``M5_LEVELS`` (the module docstring's rules)."""
    frame = bottom[["unique_id", "ds", "y", *STATICS, "snap", *EVENTS]].copy()
    frame[_TOTAL] = _TOTAL
    # aggregate refuses missing values: the mean price over the series on sale is a sum over a count.
    frame["price_paid"] = bottom["sell_price"].fillna(0.0)
    frame["on_sale"] = bottom["sell_price"].notna().astype(float)
    spec = [[_TOTAL] if name == _TOTAL else list(columns) for name, columns in M5_LEVELS]
    spec[-1] = [_TOTAL, *spec[-1]]
    exog = {"price_paid": "sum", "on_sale": "sum", "snap": "mean", **dict.fromkeys(EVENTS, "max")}
    y_df, s_df, tags = aggregate(frame.drop(columns="unique_id"), spec, exog_vars=exog)

    # Item-store series keep their M5 ids.
    series = frame.drop_duplicates("unique_id")
    m5_id = dict(zip(_joined(series, spec[-1]), series["unique_id"], strict=True))
    y_df["unique_id"] = y_df["unique_id"].replace(m5_id)
    summing = s_df.set_index("unique_id").rename(index=m5_id, columns=m5_id)
    level = pd.Series(
        {m5_id.get(i, i): name for (name, _), key in zip(M5_LEVELS, ("/".join(s) for s in spec)) for i in tags[key]},
        name="level",
    )

    panel = y_df.rename(columns={f"{c}_{f}": c for c, f in exog.items()})
    panel["sell_price"] = (panel["price_paid"] / panel["on_sale"]).where(panel["on_sale"] > 0)
    panel = panel.drop(columns=["price_paid", "on_sale"]).join(_aggregate_statics(series, spec), on="unique_id")
    ordered = ["unique_id", "ds", "y", *STATICS, "sell_price", "snap", *EVENTS]
    return LevelsPanel(panel[ordered].sort_values(["unique_id", "ds"], ignore_index=True), summing, level)


def _aggregate_statics(series: pd.DataFrame, spec: list[list[str]]) -> pd.DataFrame:
    """Each series' static values: the one its item-store series share, "all" where they differ."""
    rows = []
    for columns in spec:
        key = _joined(series, columns).rename("unique_id")
        shared = series[list(STATICS)].groupby(key).agg(lambda v: v.iloc[0] if v.nunique() == 1 else "all")
        rows.append(shared)
    statics = pd.concat(rows)
    m5_id = dict(zip(_joined(series, spec[-1]), series["unique_id"], strict=True))
    return statics.rename(index=m5_id)


def bottom_up_points(bottom: pd.DataFrame, summing: pd.DataFrame, column: str = "mean") -> pd.DataFrame:
    """Every series' ``column`` summed from the item-store forecast (``unique_id, ds, <column>``)."""
    wide = bottom.pivot(index="ds", columns="unique_id", values=column)[summing.columns]
    summed = pd.DataFrame(wide.to_numpy() @ summing.to_numpy().T, index=wide.index, columns=summing.index)
    return summed.rename_axis(columns="unique_id").stack().rename(column).reset_index()[["unique_id", "ds", column]]


def shifted_bands(points: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """The forecast frame of point forecasts ``unique_id, ds, mean`` with the quantiles of a ``reference``
    forecast frame of the same rows, each moved by the change of the mean (clipped at zero)."""
    joined = points[["unique_id", "ds", "mean"]].merge(reference, on=["unique_id", "ds"], suffixes=("", "_reference"))
    mean = joined["mean"].to_numpy(dtype=float)
    shift = mean - joined["mean_reference"].to_numpy(dtype=float)
    columns = [c for c in reference.columns if c.startswith("q")]
    return forecast_frame(joined, mean, {float(c[1:]): joined[c].to_numpy(dtype=float) + shift for c in columns})


def weekly_panel(daily: pd.DataFrame) -> pd.DataFrame:
    """Weekly sums (``W-FRI``, dated by the Friday) of a daily M5 panel; incomplete weeks dropped."""
    week = daily["ds"].dt.to_period("W-FRI").dt.end_time.dt.normalize().rename("ds")
    grouped = daily.groupby(["unique_id", week], sort=True)
    weekly = grouped.agg(
        y=("y", "sum"),
        days=("y", "size"),
        **{c: (c, "first") for c in STATICS},
        sell_price=("sell_price", "mean"),
        snap=("snap", "sum"),
        **{c: (c, "sum") for c in EVENTS},
    ).reset_index()
    return weekly[weekly["days"] == 7].drop(columns="days").reset_index(drop=True)


def volume_deciles(train: pd.DataFrame, periods: int = 28) -> pd.Series:
    """Each series' volume decile, 1 (lowest) to 10: mean demand over the last ``periods`` of ``train``
    (index ``unique_id``), ranked over all series (ties in id order)."""
    last = np.sort(train["ds"].unique())[-periods:]
    volume = train[train["ds"].isin(last)].groupby("unique_id")["y"].mean().sort_index()
    return pd.Series(
        pd.qcut(volume.rank(method="first"), 10, labels=False) + 1, index=volume.index, name="decile"
    ).astype(int)


def band_figures(actual: pd.DataFrame, forecast: pd.DataFrame, levels: Sequence[int]) -> dict[str, float | str]:
    """Coverage and relative width of each central interval the forecast has (``-`` where it has none)."""
    figures: dict[str, float | str] = {}
    for level in levels:
        has_band = f"q{50 - level / 2:g}" in forecast.columns
        figures[f"cov{level}"] = metrics.interval_coverage(actual, forecast, level) if has_band else "-"
        figures[f"width{level}"] = metrics.relative_interval_width(actual, forecast, level) if has_band else "-"
    return figures


def level_rows(
    model: str,
    actual: pd.DataFrame,
    forecast: pd.DataFrame,
    train: pd.DataFrame,
    level: pd.Series,
    levels: Sequence[int] = (80, 95),
) -> list[dict]:
    """One row per level (``M5_LEVELS`` order, those ``level`` holds): WAPE, mean RMSSE, bias and bands."""
    rows = []
    for name in dict.fromkeys(n for n, _ in M5_LEVELS if n in set(level)):
        ids = level.index[level == name]
        test, fit = actual[actual["unique_id"].isin(ids)], train[train["unique_id"].isin(ids)]
        rows.append(
            {
                "level": name,
                "series": len(ids),
                "model": model,
                "wape": metrics.wape(test, forecast),
                "mean_rmsse": metrics.mean_rmsse(test, forecast, fit),
                "bias": metrics.bias(test, forecast),
                **band_figures(test, forecast, levels),
            }
        )
    return rows


def decile_rows(
    model: str, actual: pd.DataFrame, forecast: pd.DataFrame, decile: pd.Series, levels: Sequence[int] = (80, 95)
) -> list[dict]:
    """One row per volume decile: how many series, their mean demand range, WAPE and bands."""
    volume = actual.groupby("unique_id")["y"].mean()
    rows = []
    for number in range(1, 11):
        ids = decile.index[decile == number]
        test = actual[actual["unique_id"].isin(ids)]
        rows.append(
            {
                "decile": number,
                "series": len(ids),
                "test_mean_y": f"{volume[ids].min():.1f}-{volume[ids].max():.1f}",
                "model": model,
                "wape": metrics.wape(test, forecast),
                **band_figures(test, forecast, levels),
            }
        )
    return rows
