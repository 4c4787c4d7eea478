"""The one feature pipeline that training and serving share.

Features are computed by mlforecast/coreforecast from the panel itself: lags,
rolling means of lagged demand, calendar features and the holiday calendar;
static attributes become categoricals. Known-future exogenous columns (price,
promotion, events...) enter as they are, at the period they describe, their
blanks filled by each column's blank policy (``features.blanks``), and each
price column also relative to the series' mean price in the training data (a
discount looks the same on a cheap and an expensive item). The references
(mean and last known values) are fixed at fit, so the same definition yields
the same features at any cut-off, in a batch job or in the API.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
from mlforecast.lag_transforms import RollingMean

from features.blanks import Blank, BlankFill, fill_blanks
from features.calendar import HolidayFlag
from features.frequency import frequency, frequency_of_dates
from features.gaps import fill_unobserved
from features.validation import OBSERVED_ONLY_COLUMNS, STATIC_COLUMNS, exogenous_columns

__all__ = [
    "STATIC_COLUMNS",
    "FeatureSpec",
    "future_frame",
    "infer_frequency",
    "price_references",
    "static_columns",
    "training_frame",
]


@dataclass(frozen=True)
class FeatureSpec:
    """Which lag features and date features a model sees.

    Args:
        lags: lags of the target, in periods.
        rolling_windows: window sizes of rolling means, each taken at every
            lag in ``rolling_lags``.
        rolling_lags: lags at which the rolling means start.
        date_features: pandas date attributes used as features.
        holiday_features: holiday and pre-holiday flags of the public holidays of
            ``holiday_country`` (and ``holiday_subdivision``: a state, a region), from the
            ``holidays`` package (``features.calendar.HolidayFlag``); a dataset names its
            own in ``dataset.yaml`` (``features.schema``).
        static: the static attributes (text, one value per series: categoricals); None
            takes the standard names found in the panel (``STATIC_COLUMNS``).
        observed_only: exogenous columns known only after their period, each with the
            value a forecast assumes for it (``(("in_stock", 1.0),)``): backtests and
            calibration give the model that value, never the realised one. None takes
            the standard ones found in the panel (``OBSERVED_ONLY_COLUMNS``).
        exogenous: known-future columns used; None takes every exogenous
            column of the panel (``features.validation.exogenous_columns``).
        relative_prices: add ``<price column>_relative`` for each exogenous
            column whose name ends in ``price``.
        price_changes: add ``<price column>_change``, the relative change from
            the series' previous period (the first forecast period compares
            with the last price seen in training).
        blanks: what a blank value of an exogenous column means, in training and in
            forecasts alike (``features.blanks``): ``(("sell_price", "previous"),
            ("promo", 0.0))``. A column it does not name takes its training data's
            word: ``missing`` when the data has blanks in it (pandas' NaN, what a
            panel built in code means by it), ``refuse`` when it has none.
            ``dataset.yaml`` names every column (``refuse`` unless declared).
    """

    lags: tuple[int, ...] = (1, 7, 14, 28)
    rolling_windows: tuple[int, ...] = (7, 28)
    rolling_lags: tuple[int, ...] = (1, 7)
    date_features: tuple[str, ...] = ("dayofweek", "month", "dayofyear")
    holiday_features: bool = True
    holiday_country: str = "US"
    holiday_subdivision: str | None = None
    static: tuple[str, ...] | None = None
    observed_only: tuple[tuple[str, float], ...] | None = None
    exogenous: tuple[str, ...] | None = None
    relative_prices: bool = True
    price_changes: bool = False
    blanks: tuple[tuple[str, BlankFill], ...] | None = None

    def resolved(self, panel: pd.DataFrame) -> FeatureSpec:
        """This spec with ``static``, ``observed_only``, ``exogenous`` and ``blanks`` fixed to columns of
        ``panel``; unknown names are refused."""
        static = self.static if self.static is not None else tuple(c for c in STATIC_COLUMNS if c in panel.columns)
        if missing := [c for c in static if c not in panel.columns]:
            raise ValueError(f"static columns not in the panel: {', '.join(missing)}")
        available = exogenous_columns(panel, static)
        exogenous = tuple(available) if self.exogenous is None else self.exogenous
        if unknown := [c for c in exogenous if c not in available]:
            raise ValueError(f"exogenous columns not in the panel: {', '.join(unknown)}")
        observed = self.observed_only
        if observed is None:
            observed = tuple((c, v) for c, v in OBSERVED_ONLY_COLUMNS.items() if c in exogenous)
        if unread := [c for c, _ in observed if c not in exogenous]:
            raise ValueError(f"observed-only columns that are not exogenous columns of the panel: {', '.join(unread)}")
        declared = dict(self.blanks or ())
        if unread := [c for c in declared if c not in exogenous]:
            raise ValueError(f"blank policies for columns that are not exogenous columns used: {', '.join(unread)}")
        blanks = tuple(
            (c, declared[c] if c in declared else Blank.MISSING if panel[c].isna().any() else Blank.REFUSE)
            for c in exogenous
        )
        return replace(self, static=static, observed_only=observed, exogenous=exogenous, blanks=blanks)

    @property
    def blank_fills(self) -> dict[str, BlankFill]:
        """Each exogenous column's blank policy (resolved specs; a spec pickled before there were
        policies has none and fills nothing)."""
        return dict(self.blanks or ())

    @property
    def assumed_values(self) -> dict[str, float]:
        """Each observed-only column and the value a forecast assumes for it (resolved specs)."""
        return dict(self.observed_only or ())

    @property
    def price_columns(self) -> tuple[str, ...]:
        """Exogenous columns holding a price, when any price feature is on."""
        if not (self.relative_prices or self.price_changes):
            return ()
        return tuple(c for c in self.exogenous or () if c.endswith("price"))

    @classmethod
    def for_frequency(cls, freq: str) -> FeatureSpec:
        """Standard features for a frequency, counted in its periods: daily data cycles weekly and
        yearly; hourly data daily and weekly; weekly and monthly data yearly."""
        unit = frequency(freq).unit
        if unit == "hour":
            return cls(
                lags=(1, 2, 24, 48, 168),
                rolling_windows=(24, 168),
                rolling_lags=(1, 24),
                date_features=("hour", "dayofweek", "month"),
            )
        if unit == "week":
            return cls(
                lags=(1, 2, 3, 4, 52), rolling_windows=(4, 13), rolling_lags=(1,), date_features=("month", "dayofyear")
            )
        if unit == "month":
            return cls(
                lags=(1, 2, 3, 12), rolling_windows=(3, 12), rolling_lags=(1,), date_features=("month", "quarter")
            )
        return cls()

    def mlforecast_kwargs(self, freq: str = "D") -> dict:
        """Keyword arguments for ``mlforecast.MLForecast`` implementing this spec on data of ``freq``:
        a day or an hour gets holiday and pre-holiday flags, a week or a month its count of holidays."""
        lag_transforms = {lag: [RollingMean(window_size=w) for w in self.rolling_windows] for lag in self.rolling_lags}
        date_features: list = list(self.date_features)
        if self.holiday_features:
            country, region = self.holiday_country, self.holiday_subdivision
            if frequency(freq).spans_days:
                date_features.append(HolidayFlag(country, region, period=freq))
            else:
                date_features += [HolidayFlag(country, region, shift) for shift in (0, 1)]
        return {"lags": list(self.lags), "lag_transforms": lag_transforms, "date_features": date_features}


def infer_frequency(panel: pd.DataFrame) -> str:
    """The pandas frequency alias of a validated panel (``features.frequency``: ``h``, ``D``,
    ``W-<day>``, ``MS`` or ``ME``)."""
    step = panel.groupby("unique_id", sort=False)["ds"].diff().mode()
    if step.empty:
        raise ValueError("cannot infer the frequency: every series has a single row")
    return frequency_of_dates(panel["ds"], step.iloc[0]).alias


def static_columns(panel: pd.DataFrame, spec: FeatureSpec | None = None) -> list[str]:
    """The static attributes a resolved ``spec`` names, or the standard ones found in the panel."""
    if spec is not None and spec.static is not None:
        return list(spec.static)
    return [c for c in STATIC_COLUMNS if c in panel.columns]


def price_references(panel: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """What a forecast needs of the training panel, per series (index ``unique_id``), its blanks filled
    as ``spec`` says: each price column's mean and, as ``<column>_last``, the last known value of each price
    column and of each column whose blanks take the previous value (``features.blanks``)."""
    prices = list(spec.price_columns)
    carried = [c for c, fill in spec.blank_fills.items() if fill is Blank.PREVIOUS]
    if not prices and not carried:
        return pd.DataFrame(index=pd.Index([], name="unique_id"))
    ordered = panel.sort_values(["unique_id", "ds"], ignore_index=True).astype({"unique_id": str})
    by_series = fill_blanks(ordered, spec.blank_fills).groupby("unique_id")
    return by_series[prices].mean().join(by_series[list(dict.fromkeys([*prices, *carried]))].last().add_suffix("_last"))


def _with_exogenous(
    frame: pd.DataFrame, source: pd.DataFrame, spec: FeatureSpec, references: pd.DataFrame, continues_training: bool
) -> pd.DataFrame:
    """``frame`` (sorted by ``unique_id, ds``) with the exogenous columns of ``source`` (same rows), their
    blanks filled (``features.blanks``), and the price features; ``continues_training`` marks rows that
    follow the training panel (a blank taking the previous value continues from ``references``)."""
    for column in spec.exogenous or ():
        frame[column] = source[column].astype(float).to_numpy()
    frame = fill_blanks(frame, spec.blank_fills, references if continues_training else None)
    for column in spec.price_columns:
        if spec.relative_prices:
            reference = frame["unique_id"].map(references[column]).astype(float)
            frame[f"{column}_relative"] = frame[column] / reference.where(reference > 0)
        if spec.price_changes:
            previous = frame.groupby("unique_id", sort=False)[column].shift(1)
            if continues_training:
                first = frame["unique_id"].ne(frame["unique_id"].shift(1))
                previous = previous.where(~first, frame["unique_id"].map(references[f"{column}_last"]).astype(float))
            frame[f"{column}_change"] = frame[column] / previous.where(previous > 0) - 1.0
    return frame


def training_frame(
    panel: pd.DataFrame, spec: FeatureSpec | None = None, references: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The columns the models learn from, statics as categoricals, sorted by series and time; exogenous
    blanks filled by the spec's blank policies (``features.blanks``); unobserved targets filled and
    weighted 0 (``features.gaps.fill_unobserved``).

    Args:
        panel: a validated panel.
        spec: a resolved spec (``FeatureSpec.resolved``) whose exogenous columns to add; none without.
        references: ``price_references`` fixed at fit; computed from ``panel`` when None.
    """
    ordered = panel.sort_values(["unique_id", "ds"], ignore_index=True)
    statics = static_columns(panel, spec)
    frame = ordered[["unique_id", "ds", "y", *statics]].copy()
    for column in statics:
        frame[column] = frame[column].astype(str).astype("category")
    if spec is not None:
        references = references if references is not None else price_references(panel, spec)
        frame = _with_exogenous(frame, ordered, spec, references, continues_training=False)
    return fill_unobserved(frame)


def future_frame(future: pd.DataFrame, spec: FeatureSpec, references: pd.DataFrame) -> pd.DataFrame:
    """Known-future values for the forecast periods, shaped like the training frame's exogenous part, their
    blanks filled as in training (``previous`` continues from the last values known at fit, in ``references``)."""
    ordered = future.astype({"unique_id": str}).assign(ds=pd.to_datetime(future["ds"]))
    ordered = ordered.sort_values(["unique_id", "ds"], ignore_index=True)
    return _with_exogenous(ordered[["unique_id", "ds"]].copy(), ordered, spec, references, continues_training=True)
