"""What to do with the periods a series skips (a store closed for six months): the gap policy.

- ``refuse`` (the default): validation names each gap and the options below.
- ``zero``: the skipped periods are rows with no demand (``y`` = 0): right when the
  series sold nothing, wrong when it was closed.
- ``missing``: the skipped periods are rows with no target (``y`` empty): the models
  never learn from them, a backtest never scores them, and the lag features across
  the gap read the last observed value.
- ``drop-before``: each series starts after its last gap; what came before is dropped.

Inserted rows carry the series' static attributes and empty exogenous values
(unknown, which the models read as missing).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from features.frequency import Frequency

__all__ = ["OBSERVED_WEIGHT", "GapPolicy", "apply_gap_policy", "fill_unobserved", "periods_between"]

# The training frame's column weighting each row: 0 for an unobserved period (``missing`` gaps).
OBSERVED_WEIGHT = "observed_weight"


class GapPolicy(StrEnum):
    REFUSE = "refuse"
    ZERO = "zero"
    MISSING = "missing"
    DROP_BEFORE = "drop-before"


def periods_between(previous: pd.Series, ds: pd.Series, freq: Frequency, step: pd.Timedelta) -> pd.Series:
    """How many periods of ``freq`` lead from ``previous`` to ``ds`` (1: the next one), as floats
    (a fraction: off the frequency's grid); NaN where there is no previous row."""
    if freq.unit == "month":
        months = ds.dt.to_period("M").astype("int64") - previous.dt.to_period("M").astype("int64")
        return months.where(previous.notna()).astype(float)
    return (ds - previous) / step


def apply_gap_policy(panel: pd.DataFrame, freq: Frequency, policy: GapPolicy, static: list[str]) -> pd.DataFrame:
    """``panel`` (validated but for whole-period gaps, sorted by ``unique_id, ds``) with its gaps handled
    as ``policy`` says; unchanged for ``refuse``."""
    if policy is GapPolicy.REFUSE or panel.empty:
        return panel
    ordered = panel.sort_values(["unique_id", "ds"], ignore_index=True)
    previous = ordered.groupby("unique_id", sort=False)["ds"].shift(1)
    step = ordered.groupby("unique_id", sort=False)["ds"].diff().mode().iloc[0]
    gap_ends = periods_between(previous, ordered["ds"], freq, step) > 1
    if not gap_ends.any():
        return ordered
    if policy is GapPolicy.DROP_BEFORE:
        last_gap = ordered["ds"].where(gap_ends).groupby(ordered["unique_id"]).transform("max")
        return ordered[last_gap.isna() | (ordered["ds"] >= last_gap)].reset_index(drop=True)
    frames = []
    for unique_id, series in ordered.groupby("unique_id", sort=False):
        grid = pd.date_range(series["ds"].iloc[0], series["ds"].iloc[-1], freq=freq.alias)
        full = series.set_index("ds").reindex(grid).rename_axis("ds").reset_index()
        full["unique_id"] = unique_id
        for column in static:
            full[column] = series[column].iloc[0]
        inserted = full["y"].isna() & ~full["ds"].isin(series["ds"])
        full.loc[inserted, "y"] = 0.0 if policy is GapPolicy.ZERO else np.nan
        frames.append(full[ordered.columns])
    return pd.concat(frames, ignore_index=True)


def fill_unobserved(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (sorted by ``unique_id, ds``) with each unobserved target (``y`` empty: a ``missing``
    gap) set to the series' last observed value, so lags across the gap read it; ``OBSERVED_WEIGHT``
    (0 there, 1 elsewhere) tells the models not to learn from those rows. Unchanged without any."""
    unobserved = frame["y"].isna()
    if not unobserved.any():
        return frame
    filled = frame.assign(**{OBSERVED_WEIGHT: (~unobserved).astype(float)})
    filled["y"] = filled.groupby("unique_id", sort=False, observed=True)["y"].ffill().fillna(0.0)
    return filled
