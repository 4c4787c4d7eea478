"""Known-future values a caller sends (``future``): turned into a typed frame, or refused with the
field that is wrong.

The served version checks them again with its own code (``models.future``, shipped with it); the
checks here catch what MLflow's schema enforcement would otherwise drop without a word (rows of
other series, columns the model does not read), refuse an empty value where the model's blank
policy refuses it (``ModelInfo.blanks``: the rule its training followed; the model fills the
others as it did in training), and name the row of a value that is not a number or a date.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from serving.errors import ApiError
from serving.schemas import FutureValues, ModelInfo

__all__ = ["checked_future", "first_missing_value", "future_frame", "future_source"]

_KEYS = ("unique_id", "ds")


def future_frame(rows: Sequence[FutureValues] | None) -> pd.DataFrame | None:
    """A request's known-future rows as a frame (a value a row lacks is empty); None when the
    request sent none."""
    if rows is None:
        return None
    names = dict.fromkeys(name for row in rows for name in row.model_extra or {})
    columns = {"unique_id": [r.unique_id for r in rows], "ds": pd.to_datetime([r.ds for r in rows])}
    for name in names:
        columns[name] = [(r.model_extra or {}).get(name) for r in rows]
    return pd.DataFrame(columns)


def future_source(info: ModelInfo, rows) -> str:
    """Where the known-future values of a response came from."""
    if not info.exogenous:
        return "none"
    return "baseline" if rows is None else "request"


def first_missing_value(future: pd.DataFrame, columns: Sequence[str]) -> tuple[int, str] | None:
    """Position (0-based, in row order) and column of the first empty value of ``columns`` in
    ``future``; None when there is none."""
    present = [c for c in columns if c in future.columns]
    empty = future[present].isna().to_numpy()
    if not empty.any():
        return None
    rows, cols = empty.nonzero()  # row-major: the first row with a gap, then its first empty column
    return int(rows[0]), present[cols[0]]


def _refuse(message: str, field: str) -> ApiError:
    return ApiError(422, "invalid_future", message, field)


def checked_future(
    future: pd.DataFrame, info: ModelInfo, ids: Sequence[str], requested: bool, every_series: bool = True
) -> pd.DataFrame:
    """``future`` with ``unique_id`` as text, ``ds`` as local timestamps and the values as numbers.

    Args:
        info: the served version (its exogenous columns and their blank policies).
        ids: the series forecast; every one needs values, and no other may have any.
        requested: whether ``ids`` are the request's own (``/forecast``) or every series the
            model knows (``/recommend``, ``capcast forecast``): it words the refusal.
        every_series: False when ``ids`` may have values rather than must (a model of a hierarchy:
            its bottom series without values take their baseline).

    Raises:
        ApiError: 422 naming the field (``future``, ``future.<column>`` or ``future.<row>.<column>``).
    """
    if not info.exogenous:
        raise _refuse(f"model version {info.version} uses no known-future values", "future")
    if missing_columns := [c for c in (*_KEYS, *info.exogenous) if c not in future.columns]:
        raise _refuse("missing required column", f"future.{missing_columns[0]}")
    if unknown_columns := [c for c in future.columns if c not in (*_KEYS, *info.exogenous)]:
        column = unknown_columns[0]
        message = f"unknown exogenous column {column!r}; this model uses {', '.join(info.exogenous)}"
        raise _refuse(message, f"future.{column}")
    wanted = set(ids)
    given = set(future["unique_id"].astype(str))
    if other := sorted(given - wanted):
        whose = "series not requested" if requested else "series the model does not know"
        raise _refuse(f"values for {whose}: {', '.join(other[:5])}", "future")
    refused = [c for c in info.exogenous if info.blanks.get(c, "refuse") == "refuse"]
    if (missing := first_missing_value(future, refused)) is not None:
        row, column = missing
        raise ApiError(422, "missing_future_value", "missing value", f"future.{row}.{column}")
    typed = future.assign(unique_id=future["unique_id"].astype(str))
    typed["ds"] = _timestamps(future["ds"])
    for column in info.exogenous:
        typed[column] = _numbers(future[column], column)
    if every_series and (lacking := [i for i in ids if i not in given]):
        raise ApiError(422, "missing_future_value", f"no values for series: {', '.join(lacking[:5])}", "future")
    return typed


def _first(bad: pd.Series) -> int | None:
    return int(bad.to_numpy().nonzero()[0][0]) if bad.any() else None


def _timestamps(values: pd.Series) -> pd.Series:
    """Values as naive timestamps; a date is its midnight. Forecast periods are local time, so an
    offset is refused rather than converted."""
    parsed = values if pd.api.types.is_datetime64_any_dtype(values) else _parse_dates(values)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        raise _refuse("must be local time without a UTC offset", "future.ds")
    return parsed


def _parse_dates(values: pd.Series) -> pd.Series:
    try:
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    except (TypeError, ValueError):  # offsets that differ between rows: no one zone to read them in
        raise _refuse("must be local time without a UTC offset", "future.ds") from None
    if (bad := _first(parsed.isna() & values.notna())) is not None:
        raise _refuse(f"not a date (or hour): {values.iloc[bad]!r}", f"future.{bad}.ds")
    return parsed


def _numbers(values: pd.Series, column: str) -> pd.Series:
    parsed = pd.to_numeric(values, errors="coerce").astype(float)
    finite = parsed.abs() < float("inf")
    if (bad := _first(~finite & values.notna())) is not None:
        raise _refuse(f"not a number: {values.iloc[bad]!r}", f"future.{bad}.{column}")
    return parsed
