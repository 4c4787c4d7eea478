"""Coherent forecasts of a hierarchy: items, their groups and the total that add up.

A bottom panel (one series per ``unique_id``) and a ``hierarchy`` of grouping
columns (static attributes such as ``state_id`` or ``("cat_id", "dept_id")``)
define the aggregate series: one per value of each level, plus the total.
``hierarchicalforecast.utils.aggregate`` builds them and the summing matrix
``S``; one ``base`` forecaster is fit on every level's series at once; at
predict time ``hierarchicalforecast.core.HierarchicalReconciliation`` makes the
forecasts coherent (bottom-up or MinTrace), so that each parent's mean is the
sum of its children's.

Series ids: the bottom series keep their own; an aggregate series is named by
its group values joined with ``/`` (hierarchicalforecast's convention:
``CA``, ``CA/CA_1``, ``FOODS/FOODS_1``) and the total is ``total``. Levels are
named by their columns joined the same way (``state_id/store_id``); the
bottom level is ``unique_id`` and the total level ``total``.

The planner plans product families: with ``("family",)`` in the hierarchy,
``level_forecast(forecast, "family")`` are rows whose ``unique_id`` (and
``family``) is the family, one coherent forecast per family and day.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from hierarchicalforecast.core import HierarchicalReconciliation
from hierarchicalforecast.methods import BottomUp, MinTrace
from hierarchicalforecast.utils import aggregate
from pandas.api.types import is_numeric_dtype
from sklearn.base import clone

from features.pipeline import FeatureSpec
from models.base import Forecaster, forecast_frame, interval_quantiles
from models.baselines import cold_start_fallback
from models.calibration import ScaledConformal, calibration_profiles
from models.future import FutureValuesError, baseline_future, check_future, period_text
from models.history import HistoryError, extend_history, forecast_index
from models.lgbm import LightGBMForecaster

__all__ = ["BOTTOM", "METHODS", "TOTAL", "HierarchicalForecaster"]

#: The id of the total series and the name of its level.
TOTAL = "total"
#: The name of the bottom level (the panel's own series).
BOTTOM = "unique_id"
_SEP = "/"
_KEYS = ["unique_id", "ds"]
# Helper columns of the frames handed to ``aggregate``; the total column's value is the total's id.
_TOTAL_COLUMN = "__total"
_SERIES_COLUMN = "__series"
_UNOBSERVED = "__unobserved"
# An aggregate series' value of a static attribute its level does not group by.
_ALL = "all"
_BASE = "base"

# method -> the hierarchicalforecast reconciler; "none" keeps the base forecasts (incoherent).
# MinTrace is non-negative (a quadratic program per horizon step): demand is never negative, and
# clipping a negative mean afterwards would break the sums.
METHODS: dict[str, Callable[[], object] | None] = {
    "none": None,
    "bottom_up": BottomUp,
    "ols": lambda: MinTrace(method="ols", nonnegative=True),
    "wls_struct": lambda: MinTrace(method="wls_struct", nonnegative=True),
    "wls_var": lambda: MinTrace(method="wls_var", nonnegative=True),
    "mint_shrink": lambda: MinTrace(method="mint_shrink", nonnegative=True),
}


# A dataclass writes the scikit-learn __init__ (store each parameter, nothing else) from the fields.
@dataclass(eq=False, repr=False)
class HierarchicalForecaster(Forecaster):
    """One ``base`` forecaster over every level of a hierarchy, reconciled to coherent means.

    Aggregation (``fit`` and ``predict``'s ``future``): ``y`` is summed; a parent's ``y`` is
    unobserved (empty) on a period where any child's is. Every exogenous column (the numeric
    non-static ones: prices, promotion and event flags, ``in_stock``) becomes the **mean over the
    children that have a value**: an average price, the share of items on promotion or in stock,
    an event flag shared by all children unchanged. A mean keeps the column on the scale the base
    model learnt for the bottom series, where a max would call a department promoted when one of
    its forty items is. Observed-only columns (``in_stock``) aggregate the same way: the value a
    forecast assumes (1) is also the mean of the children's.

    Static attributes of an aggregate series: its own group values for its level's columns,
    ``"all"`` for every other static column; so the base model tells the levels apart. When the
    base has ``features`` with ``static`` unset, they are set to the bottom panel's static columns
    (text columns and the hierarchy's), so a grouping column outside the standard names is read as
    a static attribute, not as a number.

    Residuals for MinTrace (``wls_var``, ``mint_shrink``): the base's out-of-sample errors on its
    calibration windows (``LightGBMForecaster``: back-to-back windows of ``horizon`` periods, each
    forecast from the history before it), kept while the base fits. They are honest multi-step
    errors, which is what the reconciled ``horizon``-step forecasts need, where one-step in-sample
    fitted values of a model that saw the targets would understate the errors and their
    correlation. A base that computes no calibration errors can only use ``bottom_up``, ``ols``,
    ``wls_struct`` or ``none``.

    Quantiles: calibrated on the forecasts that are served. The base's calibration-window
    forecasts of every level are reconciled as a forecast is, and their errors calibrate the
    bands (``models.calibration``: each series' dispersion, volume buckets) around the reconciled
    means. Moving the base's bands by the mean's change instead left them centred on errors the
    reconciled forecast does not make: on M5 (d_1914-1941) the store x department sums' 80% bands
    covered 74% of days and MinT's item rows 72%. A base that keeps no calibration errors has its
    quantiles moved with the mean. hierarchicalforecast's own intervals (normality, bootstrap) would
    replace the calibration with a Gaussian or an in-sample one; quantiles do not add up across
    levels either way.

    Args:
        base: the forecaster fit on every level's series (cloned; its ``levels`` set to this
            forecaster's). None: ``LightGBMForecaster()``.
        hierarchy: the aggregation levels as hierarchicalforecast's ``spec``, each the grouping
            columns of one level, top first (``(("state_id",), ("state_id", "store_id"),
            ("cat_id",), ("cat_id", "dept_id"))``). The columns are static attributes of the
            bottom panel; the total and the bottom level are added. Empty: the total alone.
        method: ``"bottom_up"`` (the default), ``"mint_shrink"``, ``"wls_var"``, ``"ols"``,
            ``"wls_struct"`` (``hierarchicalforecast.methods``) or ``"none"``: each level forecast
            directly, unreconciled (the benchmark's "direct"). Bottom-up is the default because it
            measured best: on M5 (one cut-off, d_1914-1941, WAPE) it beat the direct forecasts and
            MinT at every aggregate level (the total: 0.040, direct 0.058, MinT 0.045), and MinT moved
            the bottom series' means so that their 80% bands (then the base's, moved with the mean)
            covered only 72.5%; bottom-up leaves the bottom forecasts' means as the base made them.
        levels: central interval levels in percent.
    """

    base: Forecaster | None = None
    hierarchy: tuple[tuple[str, ...], ...] = ()
    method: str = "bottom_up"
    levels: tuple[int, ...] = (80, 95)

    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown reconciliation method {self.method!r}; choose from {', '.join(METHODS)}")
        seen = set()
        for level in self.hierarchy:
            if isinstance(level, str) or not level or not all(isinstance(column, str) for column in level):
                raise ValueError(f"each hierarchy level must be a non-empty tuple of column names, got {level!r}")
            if tuple(level) in seen:
                raise ValueError(f"hierarchy level {_SEP.join(level)!r} is given twice")
            seen.add(tuple(level))

    def _cold_start_forecaster(self) -> Forecaster:
        return cold_start_fallback(self.levels)

    def _base(self) -> Forecaster:
        return LightGBMForecaster() if self.base is None else self.base

    @property
    def max_horizon(self) -> int | None:
        return (self.base_ if hasattr(self, "base_") else self._base()).max_horizon

    @property
    def exogenous_(self) -> tuple[str, ...]:
        return self.base_.exogenous_

    @property
    def observed_only_(self) -> dict[str, float]:
        return self.base_.observed_only_

    @property
    def blank_fills_(self) -> dict:
        """The base's blank policies (``features.blanks``): the bottom series' future values follow them."""
        return self.base_.blank_fills_

    @property
    def series_attributes_(self) -> pd.DataFrame:
        """``unique_id`` and the static attributes of every series of every level: a bottom series' own,
        an aggregate's group values for its level's columns and ``"all"`` for the others."""
        attributes = pd.concat([self.attributes_, self._attributes_of_levels()])
        return attributes.rename_axis("unique_id").reset_index()

    @property
    def family_level_error_(self) -> float:
        """The base's shared family level error (``models.calibration``), for plans of bottom rows;
        0 for a base without one. A plan of ``level_forecast`` rows needs none: each row is a family."""
        return float(getattr(self.base_, "family_level_error_", 0.0))

    def use_threads(self, threads: int) -> None:
        self.base_.use_threads(threads)

    # ------------------------------------------------------------------ fit

    def _columns(self) -> list[str]:
        """The grouping columns of the hierarchy, each once, in order."""
        return list(dict.fromkeys(column for level in self.hierarchy for column in level))

    def _check_panel(self, panel: pd.DataFrame) -> None:
        for column in self._columns():
            if column not in panel.columns:
                raise ValueError(f"hierarchy column {column!r} is not in the panel")
            if column in ("unique_id", "ds", "y", _TOTAL_COLUMN, _SERIES_COLUMN, _UNOBSERVED):
                raise ValueError(f"hierarchy column {column!r} is reserved and cannot group series")
            if panel[column].isna().any():
                raise ValueError(f"hierarchy column {column!r} has empty values")
            values = panel.groupby("unique_id")[column].nunique()
            if (values > 1).any():
                raise ValueError(
                    f"hierarchy column {column!r} is not static: series {values.idxmax()!r} has several values"
                )
        ends = panel.groupby("unique_id")["ds"].max()
        if ends.nunique() > 1:
            raise ValueError(
                f"the series must end on the same period to be reconciled: {ends.idxmin()!r} ends on "
                f"{ends.min()}, {ends.idxmax()!r} on {ends.max()}"
            )

    def _fit(self, panel: pd.DataFrame) -> None:
        self._check_panel(panel)
        self.statics_ = [c for c in panel.columns if c not in ("unique_id", "ds", "y") and _is_static(panel, c, self)]
        bottom = panel.astype({"unique_id": str}).sort_values(["unique_id", "ds"], ignore_index=True)
        self.attributes_ = bottom.drop_duplicates("unique_id").set_index("unique_id")[self.statics_].astype(str)
        exogenous = [c for c in panel.columns if c not in ("unique_id", "ds", "y", *self.statics_)]
        levels, self.S_, self.tags_ = self._aggregate(bottom, exogenous)
        self.level_of_ = {str(i): level for level, ids in self.tags_.items() for i in ids}
        if len(self.level_of_) < sum(len(ids) for ids in self.tags_.values()):
            raise ValueError("an aggregate series has the id of another series: rename the group values")
        self.base_ = self._base_forecaster()
        keeps_errors = hasattr(self.base_, "_calibrate")
        if (reconciler := self._reconciler()) is not None and reconciler.insample and not keeps_errors:
            raise ValueError(
                f"method {self.method!r} needs the base's backtest errors; {type(self.base_).__name__} computes none"
            )
        kept: list[pd.DataFrame] = []
        engine = _keeping_calibration_errors(kept) if keeps_errors else None
        self.base_.fit(self._with_attributes(levels), freq=self.freq_, engine=engine)
        self.insample_ = _insample(kept[0], list(self.level_of_)) if kept else None
        # The series' profiles as ``LightGBMForecaster`` takes them: at the first window, and at the end.
        history = levels[["unique_id", "ds", "y"]]
        self.profiles_ = calibration_profiles(history, kept[0]["cutoff"].min(), self.freq_) if kept else None
        # Per method: the fitted method's now, so that a served model's first request does not learn it;
        # another on first use (``set_params(method=...)`` after a fit forecasts with that method).
        self.calibrations_: dict[str, ScaledConformal | None] = {}
        if self._reconciler() is not None:
            self._calibration()

    def _calibration(self) -> ScaledConformal | None:
        """Bands for this method's reconciled forecasts, from the base's calibration windows reconciled the
        same way; None when the base kept no calibration errors."""
        if self.method not in self.calibrations_:
            self.calibrations_[self.method] = None if self.insample_ is None else self._reconciled_calibration()
        return self.calibrations_[self.method]

    def _reconciled_calibration(self) -> ScaledConformal:
        windows = self.insample_.copy()
        # A series too young for a window forecast nothing in it: its parents' sums take none of it.
        windows[_BASE] = windows[_BASE].fillna(0.0)
        reconciled = self._reconciled_means(windows[["unique_id", "ds", _BASE]])
        scored = windows["y"].notna().to_numpy()
        before, now = self.profiles_
        calibration = ScaledConformal.fit(
            windows["y"].to_numpy()[scored],
            reconciled[scored],
            interval_quantiles(self.levels),
            ids=windows["unique_id"].to_numpy()[scored],
            profile=before,
        )
        return replace(calibration, profile=now)

    def _base_forecaster(self) -> Forecaster:
        base = clone(self._base()).set_params(levels=self.levels)
        params = base.get_params(deep=False)
        if "features" in params:
            spec = params["features"] or FeatureSpec.for_frequency(self.freq_)
            if spec.static is None:
                base.set_params(features=replace(spec, static=tuple(self.statics_)))
        return base

    def _spec(self) -> list[list[str]]:
        """hierarchicalforecast's spec: the total, the hierarchy, the bottom (every column and the series)."""
        columns = self._columns()
        return [[_TOTAL_COLUMN], *[list(level) for level in self.hierarchy], [_TOTAL_COLUMN, *columns, _SERIES_COLUMN]]

    def _aggregate(
        self, bottom: pd.DataFrame, exogenous: Sequence[str]
    ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
        """Every level's series from bottom rows (``unique_id, ds``, ``y`` when there, and ``exogenous``;
        the grouping columns are read from ``attributes_``): ``unique_id, ds, [y], *exogenous``, the
        summing matrix and the ids of each level, with this module's ids and level names."""
        columns = self._columns()
        work = bottom[["unique_id", "ds"]].join(self.attributes_[columns], on="unique_id")
        work = work.rename(columns={"unique_id": _SERIES_COLUMN}).assign(**{_TOTAL_COLUMN: TOTAL})
        # Sums of values and counts of children with one: aggregate sums them, their ratio is the mean.
        targets = {}
        if "y" in bottom.columns:
            targets = {"y": bottom["y"].fillna(0.0).to_numpy(), _UNOBSERVED: bottom["y"].isna().to_numpy(dtype=float)}
        for position, column in enumerate(exogenous):
            values = pd.to_numeric(bottom[column], errors="coerce").astype(float)
            targets[f"__sum{position}"] = values.fillna(0.0).to_numpy()
            targets[f"__count{position}"] = values.notna().to_numpy(dtype=float)
        work = work.assign(**targets)
        spec = self._spec()
        Y, S, tags = aggregate(work, spec, target_cols=list(targets))
        # The bottom ids are every grouping value and the series joined: give the series theirs back.
        keys = work.drop_duplicates(_SERIES_COLUMN)
        own = dict(zip(keys[spec[-1]].astype(str).agg(_SEP.join, axis=1), keys[_SERIES_COLUMN]))
        Y["unique_id"] = Y["unique_id"].map(own).fillna(Y["unique_id"])
        S = S.rename(columns=own).assign(unique_id=S["unique_id"].map(own).fillna(S["unique_id"]))
        names = {_TOTAL_COLUMN: TOTAL, _SEP.join(spec[-1]): BOTTOM}
        tags = {names.get(level, level): np.array([own.get(i, i) for i in ids]) for level, ids in tags.items()}
        levels = Y[["unique_id", "ds"]].copy()
        if "y" in targets:
            levels["y"] = Y["y"].where(Y[_UNOBSERVED] == 0)
        for position, column in enumerate(exogenous):
            count = Y[f"__count{position}"]
            levels[column] = (Y[f"__sum{position}"] / count).where(count > 0)
        return levels, S, tags

    def _with_attributes(self, levels: pd.DataFrame) -> pd.DataFrame:
        """All-levels rows with each series' static attributes (an aggregate's: ``_attributes_of_levels``)."""
        attributes = pd.concat([self.attributes_, self._attributes_of_levels()])
        return levels.join(attributes, on="unique_id")

    def _attributes_of_levels(self) -> pd.DataFrame:
        rows = [pd.DataFrame({c: [_ALL] for c in self.statics_}, index=pd.Index([TOTAL], name="unique_id"))]
        for level in self.hierarchy:
            groups = self.attributes_[list(level)].drop_duplicates()
            frame = pd.DataFrame({c: groups[c] if c in level else _ALL for c in self.statics_})
            frame.index = pd.Index(groups.agg(_SEP.join, axis=1), name="unique_id")
            rows.append(frame)
        return pd.concat(rows)

    # ------------------------------------------------------------------ predict

    def predict(
        self,
        horizon: int,
        ids: Sequence[str] | None = None,
        future: pd.DataFrame | None = None,
        history: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Coherent forecasts of ``horizon`` periods after the end of the training panel, or after the
        newer actuals in ``history``.

        Args:
            horizon: number of future periods, >= 1.
            ids: series to return, bottom or aggregate (``level_of_``); all of every level when None.
                Every series is forecast and reconciled whatever ``ids`` holds.
            future: known-future values of **bottom** series (``unique_id, ds`` and each column of
                ``exogenous_``, every forecast period of each series it names), aggregated as at fit.
                A bottom series it does not name takes its baseline values (``usual_exogenous_``): an
                aggregate is forecast from all of its children, so a scenario for some items is that
                scenario with the others as usual. Needed when ``exogenous_`` is not empty, except with
                ``history``, where None is the baseline scenario of every series.
            history: actuals newer than the training panel (``unique_id, ds, y``) of **bottom** series:
                joined to the model's own last periods as ``Forecaster.predict`` does, then aggregated
                to every level as at fit; the base continues every level's series from them, without
                refitting, and the forecasts are reconciled as usual. The series are reconciled over the
                same periods, so every bottom series' actuals must end on the same period (a series the
                rows do not name ends where the model's data does).

        Raises:
            HistoryError: ``history`` names a series that is not a bottom series of the hierarchy (an
                aggregate, or one the model does not know: it needs a refit), leaves the series ending
                on different periods, or cannot continue the model's data (``models.history``).
            FutureValuesError: when ``future`` is missing, incomplete or has other columns, or names a
                series that is not a bottom series.
            ValueError: an id that is no series of the hierarchy.

        Returns:
            The forecast frame, sorted by ``unique_id, ds``.
        """
        self._check_predictable(horizon)
        wanted = None if ids is None else list(dict.fromkeys(str(i) for i in ids))
        if unknown := [i for i in wanted or () if i not in self.level_of_]:
            raise ValueError(f"series {unknown[0]!r} is not in the hierarchy")
        if history is not None:
            return self._predict_after_actuals(horizon, wanted, future, history)
        checked = self._scenario(future, self.forecast_periods(horizon), baseline_when_none=False)
        return self._predict(horizon, wanted, checked)

    def baseline_future(self, horizon: int, ids: list[str] | None = None) -> pd.DataFrame:
        """The baseline scenario (each bottom series' usual values) of **every** bottom series, whatever
        ``ids`` holds: a forecast of any series of the hierarchy reads all of them."""
        return super().baseline_future(horizon)

    def _scenario(self, future: pd.DataFrame | None, periods: pd.DatetimeIndex, baseline_when_none: bool):
        """Known-future rows of every bottom series over ``periods``: the caller's (checked as
        ``check_future`` does, for the series they name), the baseline for the others; None for a model
        that reads none."""
        if not self.exogenous_ or (future is None and not baseline_when_none):
            return check_future(future, self.exogenous_, self.series_ids_, periods, self.blank_fills_)
        if future is None:
            return baseline_future(self.series_ids_, periods, self.usual_exogenous_)
        named = list(dict.fromkeys(future["unique_id"].astype(str))) if "unique_id" in future.columns else []
        for series in named:
            if self.level_of_.get(series) != BOTTOM:
                why = "an aggregate of the hierarchy" if series in self.level_of_ else "not in the hierarchy"
                raise FutureValuesError(f"series {series!r} is {why}: give the values of the bottom series")
        checked = check_future(future, self.exogenous_, named, periods, self.blank_fills_)
        others = [i for i in self.series_ids_ if i not in set(named)]
        if not others:
            return checked
        usual = baseline_future(others, periods, self.usual_exogenous_)
        return pd.concat([checked, usual], ignore_index=True).sort_values(_KEYS, ignore_index=True)

    def _predict_after_actuals(
        self, horizon: int, ids: list[str] | None, future: pd.DataFrame | None, history: pd.DataFrame
    ) -> pd.DataFrame:
        bottom = set(self.series_ids_)
        named = history["unique_id"].astype(str) if "unique_id" in history.columns else pd.Series(dtype=str)
        for row, series in enumerate(named):
            if series not in bottom:
                why = (
                    "an aggregate of the hierarchy: its actuals are the sums of its bottom series'; send theirs"
                    if series in self.level_of_
                    else "not in the hierarchy: a new series is reconciled with the others only after a refit"
                )
                raise HistoryError(f"series {series!r} is {why}", "unique_id", row)
        extended = extend_history(self.recent_history_, history, self.series_ids_, self.freq_)
        ends = extended.groupby("unique_id")["ds"].max()
        if ends.nunique() > 1:
            behind, ahead = ends.idxmin(), ends.idxmax()
            raise HistoryError(
                f"the actuals of series {behind!r} end {period_text(ends.min(), self.freq_)}, those of {ahead!r} "
                f"{period_text(ends.max(), self.freq_)}: a hierarchy is reconciled over periods that every series "
                "has, so send every series' actuals up to the same period",
                "unique_id",
            )
        periods = pd.DatetimeIndex(forecast_index(extended, horizon, self.freq_).get_level_values("ds").unique())
        scenario = self._scenario(future, periods, baseline_when_none=True)
        levels = self._aggregate(extended, [])[0]
        # Every level's rows from the caller's first period on (a corrected figure moves its parents too);
        # a parent is unobserved where a child is (a gap kept as missing): the base reads those from its own data.
        first = pd.to_datetime(history["ds"]).min()
        actuals = levels[(levels["ds"] >= first) & levels["y"].notna()]
        return self._forecast_levels(horizon, ids, scenario, actuals)

    def level_actuals(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Actual demand of every level from bottom rows (``unique_id, ds, y``): ``unique_id, ds, y,
        level``, what the forecasts of each level are scored against. A parent's period is empty where a
        child's is (a stockout left out of the scores, an unobserved period)."""
        bottom = rows[["unique_id", "ds", "y"]].astype({"unique_id": str})
        levels = self._aggregate(bottom, [])[0]
        return levels.assign(level=levels["unique_id"].map(self.level_of_))

    def _predict(self, horizon: int, ids: list[str] | None, future: pd.DataFrame | None) -> pd.DataFrame:
        return self._forecast_levels(horizon, ids, future)

    def _forecast_levels(
        self,
        horizon: int,
        ids: list[str] | None,
        scenario: pd.DataFrame | None,
        actuals: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Every level's forecast from the bottom series' scenario (aggregated as at fit) and, when given,
        every level's newer actuals; reconciled, then the rows of ``ids`` (all when None)."""
        level_future = None if scenario is None else self._aggregate(scenario, self.exogenous_)[0]
        forecast = self._reconcile(self.base_.predict(horizon, future=level_future, history=actuals))
        if ids is not None:
            forecast = forecast[forecast["unique_id"].isin(ids)]
        return forecast.sort_values(_KEYS, ignore_index=True)

    def _reconciler(self):
        make = METHODS[self.method]
        return None if make is None else make()

    def _reconcile(self, raw: pd.DataFrame) -> pd.DataFrame:
        """The base forecasts of every level with coherent means and their bands (the class docstring)."""
        if self._reconciler() is None:
            return raw
        mean = self._reconciled_means(raw[["unique_id", "ds"]].assign(**{_BASE: raw["mean"].to_numpy()}))
        if (calibration := self._calibration()) is not None:
            return forecast_frame(raw, mean, calibration.apply(mean, raw["unique_id"].to_numpy()))
        shift = mean - raw["mean"].to_numpy()
        quantiles = {float(c[1:]): raw[c].to_numpy() + shift for c in raw.columns if c.startswith("q")}
        return forecast_frame(raw, mean, quantiles)

    def _reconciled_means(self, base: pd.DataFrame) -> np.ndarray:
        """Coherent means of base forecasts (``unique_id, ds, base``: every series, every period), in its order."""
        reconciler = self._reconciler()
        with warnings.catch_warnings():
            # Notes about the solver's matrix format (qpsolvers), not about the forecasts.
            warnings.filterwarnings("ignore", message="Converted matrix")
            reconciled = HierarchicalReconciliation(reconcilers=[reconciler]).reconcile(
                Y_hat_df=base, S_df=self.S_, tags=self.tags_, Y_df=self.insample_ if reconciler.insample else None
            )
        (column,) = [c for c in reconciled.columns if c not in base.columns]
        return base[["unique_id", "ds"]].merge(reconciled, on=["unique_id", "ds"], how="left")[column].to_numpy()

    def level_forecast(self, forecast: pd.DataFrame, level: str) -> pd.DataFrame:
        """The rows of ``forecast`` (from ``predict``) at one level (``"family"``, ``"state_id/store_id"``,
        ``"total"``), with a ``family`` column holding each row's series id: the planner plans each as one
        product family (``planning.recommend``).

        Raises:
            ValueError: ``level`` is not a level of the hierarchy.
        """
        if level not in self.tags_:
            raise ValueError(f"level {level!r} is not in the hierarchy; its levels are {', '.join(self.tags_)}")
        rows = forecast[forecast["unique_id"].isin(self.tags_[level])]
        return rows.assign(family=rows["unique_id"]).reset_index(drop=True)


def _is_static(panel: pd.DataFrame, column: str, forecaster: HierarchicalForecaster) -> bool:
    """A column is a static attribute when it groups the hierarchy or holds text."""
    return column in forecaster._columns() or not is_numeric_dtype(panel[column])


def _keeping_calibration_errors(kept: list[pd.DataFrame]) -> Callable[[Forecaster, pd.DataFrame], None]:
    """A ``Forecaster.fit`` engine that fits as usual and appends the calibration windows' errors
    (``unique_id, ds, cutoff, y, <model>``: what ``LightGBMForecaster._calibrate`` receives) to ``kept``."""

    def fit(base: Forecaster, panel: pd.DataFrame) -> None:
        calibrate = base._calibrate

        def keep(errors: pd.DataFrame, frame: pd.DataFrame, statics: list[str]) -> None:
            kept.append(errors)
            calibrate(errors, frame, statics)

        base._calibrate = keep
        try:
            type(base)._fit(base, panel)
        finally:
            del base._calibrate  # the instance's own attribute: the class method is back, nothing pickles it

    return fit


def _insample(errors: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """hierarchicalforecast's ``Y_df`` from backtest errors: ``unique_id, ds, y, base`` for every series
    and every backtest period, empty where a series has none (too young for a window)."""
    (model,) = [c for c in errors.columns if c not in ("unique_id", "ds", "cutoff", "y")]
    rows = errors.astype({"unique_id": str}).rename(columns={model: _BASE})[["unique_id", "ds", "y", _BASE]]
    grid = pd.MultiIndex.from_product([ids, sorted(rows["ds"].unique())], names=["unique_id", "ds"])
    return rows.set_index(["unique_id", "ds"]).reindex(grid).reset_index()
