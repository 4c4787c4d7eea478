"""Actuals newer than a model's training data, given at predict time: checking them and joining
them to the model's own last periods, so that a forecast starts after the latest actual without
refitting.

A caller's row replaces the model's own of the same period (a corrected figure); every series'
periods must follow one another without a gap, and the forecast of each series starts the period
after its last row. ``HistoryError`` names the row (its position among the caller's rows) and the
column of the first problem.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from features.frequency import frequency, on_grid
from models.future import period_text

__all__ = ["HISTORY_COLUMNS", "HistoryError", "extend_history", "forecast_index"]

HISTORY_COLUMNS = ("unique_id", "ds", "y")
_KEYS = ["unique_id", "ds"]


class HistoryError(ValueError):
    """The actuals given to ``predict`` cannot continue the model's data.

    ``row`` is the position of the offending row among the caller's rows, when one row is at fault;
    ``column`` names its column.
    """

    def __init__(self, message: str, column: str | None = None, row: int | None = None):
        super().__init__(message)
        self.column = column
        self.row = row


def _typed(history: pd.DataFrame, ids: Sequence[str], freq: str) -> pd.DataFrame:
    """The caller's rows with ``unique_id`` as text, ``ds`` local time on the frequency's grid and
    ``y`` a finite number, keeping each row's position in ``row``."""
    for column in HISTORY_COLUMNS:
        if column not in history.columns:
            raise HistoryError(f"missing column {column!r}", column)
    rows = history[list(HISTORY_COLUMNS)].reset_index(drop=True)
    rows = rows.assign(unique_id=rows["unique_id"].astype(str), row=np.arange(len(rows)))
    ds = pd.to_datetime(rows["ds"], errors="coerce")
    if (bad := ds.isna()).any():
        raise HistoryError("not a date", "ds", int(bad.idxmax()))
    if ds.dt.tz is not None:
        raise HistoryError("must be local time without a UTC offset", "ds", 0)
    if (off_grid := ~on_grid(ds, freq)).any():
        row = int(off_grid.idxmax())
        raise HistoryError(f"{ds[row]} is not {frequency(freq).grid}, the model's period", "ds", row)
    y = pd.to_numeric(rows["y"], errors="coerce")
    if (bad := y.isna() | np.isinf(y)).any():
        raise HistoryError("must be a finite number", "y", int(bad.idxmax()))
    if (negative := y < 0).any():
        raise HistoryError("demand cannot be negative", "y", int(negative.idxmax()))
    wanted = set(ids)
    if (stray := ~rows["unique_id"].isin(wanted)).any():
        row = int(stray.idxmax())
        raise HistoryError(f"series {rows['unique_id'][row]!r} is not among the requested series", "unique_id", row)
    rows = rows.assign(ds=ds, y=y.astype(float))
    if (twice := rows.duplicated(_KEYS)).any():
        row = int(twice.idxmax())
        raise HistoryError(
            f"a second row for series {rows['unique_id'][row]!r} {period_text(rows['ds'][row], freq)}", "ds", row
        )
    return rows


def extend_history(recent: pd.DataFrame, history: pd.DataFrame, ids: Sequence[str], freq: str) -> pd.DataFrame:
    """The model's last periods of ``ids`` (``recent``: ``unique_id, ds, y``) with the caller's rows
    (``history``) joined: ``unique_id, ds, y`` sorted, a caller's row winning over the model's of the
    same period. A series unknown to the model is the caller's rows alone.

    Raises:
        HistoryError: for a row that is not an actual of a requested series, a second row for a
            period, or a series whose periods have a gap.
    """
    given = _typed(history, ids, freq)
    stored = recent.loc[recent["unique_id"].astype(str).isin(set(ids)), ["unique_id", "ds", "y"]]
    stored = stored.assign(unique_id=stored["unique_id"].astype(str), row=-1)
    joined = pd.concat([stored, given], ignore_index=True)
    joined = joined.drop_duplicates(_KEYS, keep="last").sort_values(_KEYS, ignore_index=True)
    step = to_offset(freq)
    same_series = joined["unique_id"].eq(joined["unique_id"].shift())
    gap = same_series & (joined["ds"] != joined["ds"].shift() + step)
    if gap.any():
        at = int(gap.idxmax())
        uid, missing = joined["unique_id"][at], joined["ds"][at - 1] + step
        row = max(int(joined["row"][at]), int(joined["row"][at - 1]))
        raise HistoryError(
            f"series {uid!r} has no actual {period_text(missing, freq)}: actuals must continue the model's data "
            "without a gap",
            "ds",
            row if row >= 0 else None,
        )
    return joined.drop(columns="row")


def forecast_index(extended: pd.DataFrame, horizon: int, freq: str) -> pd.MultiIndex:
    """``unique_id, ds`` of each series' ``horizon`` periods after its last row, sorted."""
    last = extended.groupby("unique_id", sort=True)["ds"].max()
    if frequency(freq).spans_days:  # weeks and months are not fixed durations: step along the calendar
        ds = pd.DatetimeIndex(np.concatenate([pd.date_range(end, periods=horizon + 1, freq=freq)[1:] for end in last]))
    else:
        steps = np.tile(np.arange(1, horizon + 1), len(last)) * pd.Timedelta(to_offset(freq))
        ds = pd.DatetimeIndex(np.repeat(last.to_numpy(), horizon)) + steps
    return pd.MultiIndex.from_arrays([np.repeat(last.index.to_numpy(), horizon), ds], names=_KEYS)
