"""Loaders from public data layouts into the panel contract (ARCHITECTURE.md, "Panel").

Three layouts:

- **M5 long subset** (``sales_daily_280.csv.gz`` + ``calendar.csv.gz``): one row
  per item-store-day. Becomes a daily panel ``unique_id, ds, y`` with static
  columns ``item_id, store_id, dept_id, cat_id, state_id`` and known-future
  exogenous columns ``sell_price`` (currency units per unit; NaN before the
  item was on sale), ``snap`` (1 on the SNAP days of the row's state) and the
  event flags ``event`` plus one ``event_<type>`` per calendar event type.
  ``M5_BLANKS`` declares what a blank price means (``features.blanks``):
  ``missing``, read as unknown in training and forecasts, as the M5 models always
  read it (a ``FeatureSpec`` that names no policy infers the same from the blanks).
- **M5 competition layout** (``sales_train_*.csv`` with one column per day
  ``d_1..d_N``, ``calendar.csv``, ``sell_prices.csv`` with weekly prices per
  store and item): melted to the long layout, prices joined by week, then the
  same panel as above.
- **UCI bike sharing hourly** (``hour.csv.gz``): one row per hour with ``cnt``
  rentals. Becomes an hourly panel of one series with the known-future calendar
  columns ``holiday, workingday`` and, only on request, the observed weather.

Every path is an argument: library code never knows where data lives. Each
loader has a pure part (``*_panel``: frames in, panel out) and a reading part
(``read_*``: paths in). Problems are raised as ``PanelError`` naming the file,
row and column; nothing is silently dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.blanks import Blank
from features.validation import PanelError, Problem

__all__ = [
    "BIKE_CALENDAR_COLUMNS",
    "BIKE_WEATHER_COLUMNS",
    "EVENT_TYPES",
    "M5_BLANKS",
    "M5_STATIC_COLUMNS",
    "bike_panel",
    "m5_panel",
    "m5_wide_to_long",
    "read_bike_hourly",
    "read_m5_subset",
    "read_m5_wide",
]

M5_STATIC_COLUMNS = ("item_id", "store_id", "dept_id", "cat_id", "state_id")
# A blank sell_price (not on sale yet) stays unknown in training and forecasts: ``FeatureSpec(blanks=M5_BLANKS)``.
M5_BLANKS = (("sell_price", Blank.MISSING),)
# The event types of the M5 calendar; each gets a 0/1 column ``event_<type>``.
EVENT_TYPES = ("cultural", "national", "religious", "sporting")
_M5_SALES_COLUMNS = ("id", *M5_STATIC_COLUMNS, "d", "sales", "sell_price")
_M5_CALENDAR_COLUMNS = ("date", "d", "event_type_1", "event_type_2")

BIKE_CALENDAR_COLUMNS = ("holiday", "workingday")
# Observed weather: known only after the fact, so using it for a future hour is leakage.
BIKE_WEATHER_COLUMNS = ("weathersit", "temp", "atemp", "hum", "windspeed")
_BIKE_COLUMNS = ("dteday", "hr", "cnt", *BIKE_CALENDAR_COLUMNS)

# Header line plus 1-based numbering: data row at index i sits on file line i + 2.
_FIRST_DATA_LINE = 2


def _missing_columns(frame: pd.DataFrame, required: tuple[str, ...], source: str) -> list[Problem]:
    return [Problem(source, 1, column, "missing required column") for column in required if column not in frame]


def _count_problems(values: pd.Series, column: str, source: str) -> list[Problem]:
    """Non-numeric, missing or negative counts, located by file row."""
    numeric = pd.to_numeric(values, errors="coerce")
    problems = []
    for index in values.index[numeric.isna()]:
        text = values[index]
        message = "missing value" if pd.isna(text) or str(text).strip() == "" else f"not a number: {text!r}"
        problems.append(Problem(source, int(index) + _FIRST_DATA_LINE, column, message))
    for index in values.index[numeric < 0]:
        problems.append(Problem(source, int(index) + _FIRST_DATA_LINE, column, "negative demand"))
    return problems


def _state_snap(calendar: pd.DataFrame, states: pd.Series, days: pd.Series) -> np.ndarray:
    """The SNAP flag of each row's own state on that row's day (0/1)."""
    snap_columns = [c for c in calendar.columns if c.startswith("snap_")]
    long = calendar.melt(id_vars="d", value_vars=snap_columns, var_name="state_id", value_name="snap")
    long["state_id"] = long["state_id"].str.removeprefix("snap_")
    keys = pd.DataFrame({"d": days.to_numpy(), "state_id": states.to_numpy()})
    flags = keys.merge(long, on=["d", "state_id"], how="left")["snap"]
    return pd.to_numeric(flags, errors="coerce").fillna(0).astype(np.int8).to_numpy()


def _event_flags(calendar: pd.DataFrame) -> pd.DataFrame:
    """Per calendar day: ``event`` (any event) and ``event_<type>`` flags, as int8."""
    types = calendar[["event_type_1", "event_type_2"]].fillna("").apply(lambda c: c.str.strip().str.lower())
    flags = pd.DataFrame({"d": calendar["d"]})
    flags["event"] = (types != "").any(axis=1).astype(np.int8)
    for event_type in EVENT_TYPES:
        flags[f"event_{event_type}"] = (types == event_type).any(axis=1).astype(np.int8)
    return flags


def m5_panel(
    sales: pd.DataFrame,
    calendar: pd.DataFrame,
    sales_source: str = "<sales>",
    calendar_source: str = "<calendar>",
) -> pd.DataFrame:
    """Turn the M5 long layout into a daily panel.

    Args:
        sales: rows of ``sales_daily_280.csv`` (``id, item_id, dept_id, cat_id,
            store_id, state_id, d, sales, sell_price``, further columns ignored),
            in file order with a default RangeIndex.
        calendar: rows of ``calendar.csv`` (``date, d, event_type_1,
            event_type_2, snap_<state>...``).
        sales_source, calendar_source: names used in problems (file paths).

    Returns:
        One row per series per day, sorted by ``unique_id, ds``: ``unique_id``
        (the M5 ``id``, str), ``ds`` (datetime64, daily), ``y`` (units sold,
        float), the static columns of ``M5_STATIC_COLUMNS`` (str),
        ``sell_price`` (float, NaN when not on sale), ``snap`` and the event
        flags (int8).

    Raises:
        PanelError: on missing columns, non-numeric or negative sales, days
            absent from the calendar, or duplicated series-days.
    """
    problems = _missing_columns(sales, _M5_SALES_COLUMNS, sales_source)
    problems += _missing_columns(calendar, _M5_CALENDAR_COLUMNS, calendar_source)
    if problems:
        raise PanelError(problems)
    problems = _count_problems(sales["sales"], "sales", sales_source)
    unknown_day = ~sales["d"].isin(calendar["d"])
    problems += [
        Problem(sales_source, int(i) + _FIRST_DATA_LINE, "d", f"day {sales.at[i, 'd']!r} is not in the calendar")
        for i in sales.index[unknown_day]
    ]
    duplicated = sales.duplicated(["id", "d"], keep="first")
    problems += [
        Problem(sales_source, int(i) + _FIRST_DATA_LINE, "d", "duplicate (id, d) row") for i in sales.index[duplicated]
    ]
    if problems:
        raise PanelError(problems)

    dates = calendar.set_index("d")["date"]
    panel = pd.DataFrame(
        {
            "unique_id": sales["id"].astype(str),
            "ds": pd.to_datetime(sales["d"].map(dates)),
            "y": pd.to_numeric(sales["sales"]).astype(float),
            **{column: sales[column].astype(str) for column in M5_STATIC_COLUMNS},
            "sell_price": pd.to_numeric(sales["sell_price"], errors="coerce").astype(float),
            "snap": _state_snap(calendar, sales["state_id"].astype(str), sales["d"]),
        }
    )
    events = _event_flags(calendar)
    panel = pd.concat([panel, events.set_index("d").loc[sales["d"].to_numpy()].reset_index(drop=True)], axis=1)
    return panel.sort_values(["unique_id", "ds"], ignore_index=True)


def read_m5_subset(sales_path: Path, calendar_path: Path) -> pd.DataFrame:
    """Read the M5 long subset (CSV, optionally gzipped) into a daily panel; see ``m5_panel``."""
    sales = _read_csv(sales_path, dtype={"id": str, "d": str, "sales": str, "sell_price": str})
    calendar = _read_csv(calendar_path, dtype=str)
    return m5_panel(sales, calendar, str(sales_path), str(calendar_path))


def m5_wide_to_long(
    wide: pd.DataFrame,
    calendar: pd.DataFrame,
    prices: pd.DataFrame,
    wide_source: str = "<sales>",
    prices_source: str = "<prices>",
) -> pd.DataFrame:
    """The M5 competition layout (one row per item-store, one column per day ``d_1..d_N``,
    prices per store, item and week) as the long layout ``m5_panel`` reads.

    Raises:
        PanelError: on missing columns, no day columns, or duplicated ids or prices.
    """
    problems = _missing_columns(wide, ("id", *M5_STATIC_COLUMNS), wide_source)
    problems += _missing_columns(prices, ("store_id", "item_id", "wm_yr_wk", "sell_price"), prices_source)
    problems += _missing_columns(calendar, ("d", "wm_yr_wk"), "<calendar>")
    day_columns = [c for c in wide.columns if str(c).startswith("d_")]
    if not day_columns:
        problems.append(Problem(wide_source, 1, None, "no day columns (d_1, d_2, ...)"))
    if problems:
        raise PanelError(problems)
    duplicated = wide.duplicated("id", keep="first")
    problems = [Problem(wide_source, int(i) + _FIRST_DATA_LINE, "id", "duplicate id") for i in wide.index[duplicated]]
    duplicated = prices.duplicated(["store_id", "item_id", "wm_yr_wk"], keep="first")
    problems += [
        Problem(prices_source, int(i) + _FIRST_DATA_LINE, "wm_yr_wk", "duplicate (store_id, item_id, wm_yr_wk) price")
        for i in prices.index[duplicated]
    ]
    if problems:
        raise PanelError(problems)
    long = wide.melt(id_vars=["id", *M5_STATIC_COLUMNS], value_vars=day_columns, var_name="d", value_name="sales")
    long = long.merge(calendar[["d", "wm_yr_wk"]], on="d", how="left")
    long = long.merge(prices, on=["store_id", "item_id", "wm_yr_wk"], how="left")
    return long.drop(columns="wm_yr_wk")


def read_m5_wide(sales_path: Path, calendar_path: Path, prices_path: Path) -> pd.DataFrame:
    """Read the M5 competition files (``sales_train_*.csv``, ``calendar.csv``,
    ``sell_prices.csv``; CSV, optionally gzipped) into a daily panel; see ``m5_panel``."""
    wide = _read_csv(sales_path, dtype=str)
    calendar = _read_csv(calendar_path, dtype=str)
    prices = _read_csv(prices_path, dtype=str)
    long = m5_wide_to_long(wide, calendar, prices, str(sales_path), str(prices_path))
    return m5_panel(long, calendar, str(sales_path), str(calendar_path))


def bike_panel(
    hours: pd.DataFrame,
    series_id: str = "bike_dc",
    missing_hours: str = "zero",
    weather: bool = False,
    source: str = "<hours>",
) -> pd.DataFrame:
    """Turn the UCI bike-sharing hourly layout into a one-series hourly panel.

    The file leaves out hours in which no rental was recorded (165 of the
    17,544 hours of 2011–2012), so the panel's grid is made explicit here.

    Args:
        hours: rows of ``hour.csv`` (``dteday, hr, cnt, holiday, workingday``
            and the weather columns), default RangeIndex.
        series_id: the ``unique_id`` of the single series.
        missing_hours: gap policy for hours absent from the file: ``"zero"``
            records them as 0 rentals (the dataset omits empty hours);
            ``"missing"`` keeps them with ``y`` = NaN for a later policy to decide.
            Calendar columns are filled from the day either way.
        weather: also return the observed weather columns. They are not known
            in advance; a forecast that uses the weather of its own horizon is
            an upper bound, not a forecast.
        source: name used in problems (the file path).

    Returns:
        One row per hour from the first to the last hour of the file, sorted by
        ``ds``: ``unique_id`` (str), ``ds`` (datetime64, hourly), ``y``
        (rentals per hour, float), ``holiday`` and ``workingday`` (int8), and
        the weather columns (float) when requested.

    Raises:
        PanelError: on missing columns, hours outside 0–23, non-numeric or
            negative counts, duplicated hours, or an unknown gap policy.
    """
    if missing_hours not in ("zero", "missing"):
        raise PanelError(
            [Problem(source, None, None, f"unknown gap policy {missing_hours!r}: use 'zero' or 'missing'")]
        )
    required = (*_BIKE_COLUMNS, *(BIKE_WEATHER_COLUMNS if weather else ()))
    problems = _missing_columns(hours, required, source)
    if problems:
        raise PanelError(problems)
    problems = _count_problems(hours["cnt"], "cnt", source)
    hour = pd.to_numeric(hours["hr"], errors="coerce")
    bad_hour = hour.isna() | (hour < 0) | (hour > 23) | (hour % 1 != 0)
    problems += [
        Problem(source, int(i) + _FIRST_DATA_LINE, "hr", f"not an hour of the day: {hours.at[i, 'hr']!r}")
        for i in hours.index[bad_hour]
    ]
    day = pd.to_datetime(hours["dteday"], errors="coerce", format="ISO8601")
    problems += [
        Problem(source, int(i) + _FIRST_DATA_LINE, "dteday", f"not a date: {hours.at[i, 'dteday']!r}")
        for i in hours.index[day.isna()]
    ]
    if problems:
        raise PanelError(problems)
    stamps = day + pd.to_timedelta(hour, unit="h")
    duplicated = stamps.duplicated(keep="first")
    if duplicated.any():
        raise PanelError(
            [Problem(source, int(i) + _FIRST_DATA_LINE, "hr", "duplicate hour") for i in hours.index[duplicated]]
        )

    observed = pd.DataFrame({"ds": stamps, "y": pd.to_numeric(hours["cnt"]).astype(float)})
    for column in BIKE_CALENDAR_COLUMNS:
        observed[column] = pd.to_numeric(hours[column]).astype(np.int8)
    if weather:
        for column in BIKE_WEATHER_COLUMNS:
            observed[column] = pd.to_numeric(hours[column]).astype(float)
    grid = pd.DataFrame({"ds": pd.date_range(stamps.min(), stamps.max(), freq="h")})
    panel = grid.merge(observed, on="ds", how="left")
    if missing_hours == "zero":
        panel["y"] = panel["y"].fillna(0.0)
    # Holiday and working-day flags belong to the day, so a missing hour takes its day's flags.
    by_day = observed.assign(day=observed["ds"].dt.normalize()).groupby("day")[list(BIKE_CALENDAR_COLUMNS)].first()
    day_of_row = panel["ds"].dt.normalize()
    for column in BIKE_CALENDAR_COLUMNS:
        panel[column] = day_of_row.map(by_day[column]).astype(np.int8)
    panel.insert(0, "unique_id", series_id)
    return panel


def read_bike_hourly(
    path: Path, series_id: str = "bike_dc", missing_hours: str = "zero", weather: bool = False
) -> pd.DataFrame:
    """Read UCI ``hour.csv`` (optionally gzipped) into an hourly panel; see ``bike_panel``."""
    return bike_panel(_read_csv(path, dtype=str), series_id, missing_hours, weather, str(path))


def _read_csv(path: Path, **kwargs) -> pd.DataFrame:
    source = str(path)
    if not path.exists():
        raise PanelError([Problem(source, None, None, "file not found")])
    try:
        return pd.read_csv(path, keep_default_na=False, na_values=[""], **kwargs)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PanelError([Problem(source, None, None, f"cannot read file: {reason}")]) from None
