"""Known-future values at predict time: checking what a caller sends, and the baseline scenario.

A forecaster that reads exogenous columns needs their values for exactly the
forecast periods of exactly the requested series. ``check_future`` accepts
that and nothing else, naming the offending column; an empty value is refused
where the column's blank policy refuses it (``features.blanks``: the rule its
training followed) and otherwise left for the model to fill the same way. When
a caller has no scenario, ``baseline_future`` repeats each series' usual recent
value (``usual_values``): its regular price, no promotion, in stock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from features.blanks import Blank, BlankFill
from features.validation import OBSERVED_ONLY_COLUMNS

__all__ = [
    "FutureValuesError",
    "as_forecast_time",
    "baseline_future",
    "check_future",
    "check_future_at",
    "period_text",
    "usual_values",
]

_KEYS = ["unique_id", "ds"]


class FutureValuesError(ValueError):
    """The known-future values given to ``predict`` do not fit the model or the horizon.

    ``column`` names the offending column when there is one.
    """

    def __init__(self, message: str, column: str | None = None):
        super().__init__(message)
        self.column = column


def _checked_columns(future: pd.DataFrame, needed: Sequence[str]) -> pd.DataFrame:
    for column in [*_KEYS, *needed]:
        if column not in future.columns:
            raise FutureValuesError(f"missing column {column!r}", column)
    for column in future.columns:
        if column not in _KEYS and column not in needed:
            raise FutureValuesError(f"unknown exogenous column {column!r}; this model uses {', '.join(needed)}", column)
    given = future[[*_KEYS, *needed]].copy()
    given["unique_id"] = given["unique_id"].astype(str)
    given["ds"] = pd.to_datetime(given["ds"], errors="coerce")
    if given["ds"].isna().any():
        raise FutureValuesError("ds: not a date", "ds")
    if given["ds"].dt.tz is not None:
        # Forecast periods are local time: say so, rather than report every period as missing.
        raise FutureValuesError("ds: must be local time without a UTC offset", "ds")
    for column in needed:
        values = pd.to_numeric(given[column], errors="coerce")
        if (values.isna() & given[column].notna()).any() or np.isinf(values).any():
            raise FutureValuesError(f"{column}: values must be numbers", column)
        given[column] = values.astype(float)
    return given


def period_text(ds: pd.Timestamp, freq: str | None) -> str:
    """``ds`` as messages name it: with its hour for an hourly forecast, or when a row for a daily one has one."""
    return f"at {ds:%Y-%m-%d %H:%M}" if freq == "h" or ds != ds.normalize() else f"on {ds.date()}"


def check_future(
    future: pd.DataFrame | None,
    needed: Sequence[str],
    ids: Sequence[str],
    periods: pd.DatetimeIndex,
    blanks: Mapping[str, BlankFill] | None = None,
) -> pd.DataFrame | None:
    """``future`` typed and sorted, when it holds exactly one row per ``ids`` x ``periods``
    with the ``needed`` columns, and no empty value in a column whose blank policy (``blanks``,
    ``features.blanks``) is ``refuse``; None for a model that needs none.

    Raises:
        FutureValuesError: naming the first problem and its column.
    """
    expected = pd.MultiIndex.from_product([list(ids), periods], names=_KEYS)
    return check_future_at(future, needed, expected, periods.freqstr, blanks)


def check_future_at(
    future: pd.DataFrame | None,
    needed: Sequence[str],
    expected: pd.MultiIndex,
    freq: str | None,
    blanks: Mapping[str, BlankFill] | None = None,
) -> pd.DataFrame | None:
    """``check_future`` for series whose forecasts start at different periods: exactly one row per
    ``unique_id, ds`` of ``expected``."""
    if not needed:
        if future is not None and (extra := [c for c in future.columns if c not in _KEYS]):
            raise FutureValuesError(f"unknown exogenous column {extra[0]!r}: this model uses none", extra[0])
        return None
    if future is None:
        raise FutureValuesError(f"this model needs the future values of {', '.join(needed)} for every forecast period")
    given = _checked_columns(future, needed)
    _refuse_blanks(given, [c for c in needed if (blanks or {}).get(c) is Blank.REFUSE], freq)
    index = pd.MultiIndex.from_frame(given[_KEYS])
    if index.has_duplicates:
        uid, ds = index[index.duplicated()][0]
        raise FutureValuesError(f"two rows for series {uid!r} {period_text(ds, freq)}", "ds")
    if len(missing := expected.difference(index)):
        uid, ds = missing[0]
        raise FutureValuesError(
            f"{len(missing)} forecast periods have no values, first: series {uid!r} {period_text(ds, freq)}", "ds"
        )
    if len(extra := index.difference(expected)):
        uid, ds = extra[0]
        raise FutureValuesError(
            f"{len(extra)} rows are outside the forecast, first: series {uid!r} {period_text(ds, freq)}", "ds"
        )
    return given.sort_values(_KEYS, ignore_index=True)


def _refuse_blanks(given: pd.DataFrame, refused: Sequence[str], freq: str | None) -> None:
    """Refuse the first empty value (in row order) of a ``refused`` column, naming its series and period."""
    for column in refused:
        if (empty := given[column].isna()).any():
            first = given[empty].iloc[0]
            message = f"missing value for series {first['unique_id']!r} {period_text(first['ds'], freq)}"
            raise FutureValuesError(message, column)


def usual_values(
    panel: pd.DataFrame, columns: Sequence[str], periods: int = 28, assumed: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Per series (index ``unique_id``), each column's most frequent value over its last
    ``periods`` rows, the smallest on ties; an observed-only column always takes its assumed
    value (``assumed``, default ``OBSERVED_ONLY_COLUMNS``: ``in_stock`` is 1)."""
    ids = pd.Index(sorted(panel["unique_id"].astype(str).unique()), name="unique_id")
    if not columns:
        return pd.DataFrame(index=ids)
    recent = panel.sort_values("ds").groupby("unique_id", sort=True).tail(periods)
    usual = recent.groupby(recent["unique_id"].astype(str))[list(columns)].agg(
        lambda values: values.mode().min() if values.notna().any() else float("nan")
    )
    for column, value in (OBSERVED_ONLY_COLUMNS if assumed is None else assumed).items():
        if column in usual.columns:
            usual[column] = value
    return usual.rename_axis("unique_id")


def baseline_future(ids: Sequence[str], periods: pd.DatetimeIndex | pd.MultiIndex, usual: pd.DataFrame) -> pd.DataFrame:
    """One row per series and period carrying the series' usual values; ``periods`` the same for
    every series, or each series' own (a ``unique_id, ds`` index)."""
    if not isinstance(periods, pd.MultiIndex):
        periods = pd.MultiIndex.from_product([list(ids), periods], names=_KEYS)
    return periods.to_frame(index=False).join(usual, on="unique_id")


def as_forecast_time(rows: pd.DataFrame, assumed: Mapping[str, float] | None = None) -> pd.DataFrame:
    """``rows`` with each observed-only column (``assumed``, default ``OBSERVED_ONLY_COLUMNS``) set to
    the value a forecast assumes for it: what the model could have been told before those periods."""
    values = OBSERVED_ONLY_COLUMNS if assumed is None else assumed
    present = {column: value for column, value in values.items() if column in rows.columns}
    return rows.assign(**present) if present else rows
