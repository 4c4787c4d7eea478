"""The open-tool reference models ("anchors") that capcast's forecasts are compared with.

Each anchor is a plain mlforecast + LightGBM recipe, written the way a user of
those libraries would write it, with no tuning to the test windows:

- **anchor recipe** (daily): tweedie LightGBM; lags 7/14/28; rolling means of
  7 and 28 days taken at lags 7 and 28; date features year, month, day,
  day of week; no exogenous data.
- **best anchor** (daily): the same plus the exogenous features capcast uses:
  price, SNAP, event flags as known-future columns (their future values are
  passed through ``X_df``) and store/department as static categoricals.
- **weekly anchor**: tweedie LightGBM; lags 1/2/4/52 weeks; rolling means
  of 4 and 13 weeks at lags 1 and 4; date features year, month, day of year;
  the weekly exogenous columns as known-future columns and store/department
  as static categoricals (the weekly counterpart of the best anchor).
- **hourly anchor**: tweedie LightGBM; lags 1/24/168; rolling means of 24 and
  168 hours at lags 24 and 168; hour, day of week and month; holiday and
  working-day flags as known-future columns; no weather.

The anchors give point forecasts only. Each returns the forecast frame's
``unique_id, ds, mean`` columns, clipped at zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import lightgbm as lgb
import pandas as pd
from mlforecast import MLForecast
from mlforecast.lag_transforms import RollingMean

__all__ = ["DAILY_ANCHOR", "AnchorRecipe", "daily_best_anchor", "hourly_anchor", "weekly_anchor"]

_MODEL = "lgbm"


def _learner(threads: int, seed: int) -> lgb.LGBMRegressor:
    return lgb.LGBMRegressor(
        objective="tweedie",
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=63,
        random_state=seed,
        n_jobs=threads,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


@dataclass(frozen=True)
class AnchorRecipe:
    """An mlforecast LightGBM recipe.

    Args:
        freq: pandas frequency alias of the panel ("D", "h", "W-FRI").
        lags: target lags, in periods.
        rolling: ``{lag: window sizes}`` of rolling means of the lagged target.
        date_features: pandas date attributes used as features.
        exogenous: known-future columns of the panel, supplied for the horizon via ``X_df``.
        static: static columns used as categoricals.
    """

    freq: str
    lags: tuple[int, ...]
    rolling: dict[int, tuple[int, ...]]
    date_features: tuple[str, ...]
    exogenous: tuple[str, ...] = ()
    static: tuple[str, ...] = ()
    name: str = field(default="anchor recipe", compare=False)

    def fit(self, train: pd.DataFrame, threads: int = 2, seed: int = 0) -> MLForecast:
        """Fit on a panel holding ``unique_id, ds, y`` and the recipe's columns."""
        mlf = MLForecast(
            models={_MODEL: _learner(threads, seed)},
            freq=self.freq,
            lags=list(self.lags),
            lag_transforms={
                lag: [RollingMean(window_size=w) for w in windows] for lag, windows in self.rolling.items()
            },
            date_features=list(self.date_features),
        )
        frame = train[["unique_id", "ds", "y", *self.static, *self.exogenous]].copy()
        for column in self.static:
            frame[column] = frame[column].astype("category")
        return mlf.fit(frame, static_features=list(self.static))

    def predict(self, mlf: MLForecast, horizon: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Point forecast ``unique_id, ds, mean`` for ``horizon`` periods.

        Args:
            future: the horizon's rows with the exogenous columns (required
                when the recipe has any).
        """
        x_df = future[["unique_id", "ds", *self.exogenous]] if self.exogenous else None
        raw = mlf.predict(horizon, X_df=x_df)
        return pd.DataFrame(
            {"unique_id": raw["unique_id"].astype(str), "ds": raw["ds"], "mean": raw[_MODEL].clip(lower=0.0)}
        )


DAILY_ANCHOR = AnchorRecipe(
    freq="D",
    lags=(7, 14, 28),
    rolling={7: (7, 28), 28: (7, 28)},
    date_features=("year", "month", "day", "dayofweek"),
)


def daily_best_anchor(exogenous: Sequence[str], static: Sequence[str] = ("store_id", "dept_id")) -> AnchorRecipe:
    """The daily anchor recipe plus known-future exogenous columns and static categoricals."""
    return AnchorRecipe(
        freq=DAILY_ANCHOR.freq,
        lags=DAILY_ANCHOR.lags,
        rolling=DAILY_ANCHOR.rolling,
        date_features=DAILY_ANCHOR.date_features,
        exogenous=tuple(exogenous),
        static=tuple(static),
        name="best anchor",
    )


def weekly_anchor(
    exogenous: Sequence[str] = (), static: Sequence[str] = ("store_id", "dept_id"), freq: str = "W-FRI"
) -> AnchorRecipe:
    """The weekly recipe: lags of 1, 2, 4 weeks and a year, 4- and 13-week means, the season by date."""
    return AnchorRecipe(
        freq=freq,
        lags=(1, 2, 4, 52),
        rolling={1: (4, 13), 4: (4, 13)},
        date_features=("year", "month", "dayofyear"),
        exogenous=tuple(exogenous),
        static=tuple(static),
        name="weekly anchor",
    )


def hourly_anchor(exogenous: Sequence[str] = ("holiday", "workingday")) -> AnchorRecipe:
    """The hourly recipe: daily and weekly lags and means, hour/day-of-week/month, calendar flags."""
    return AnchorRecipe(
        freq="h",
        lags=(1, 24, 168),
        rolling={24: (24, 168), 168: (24, 168)},
        date_features=("hour", "dayofweek", "month"),
        exogenous=tuple(exogenous),
        name="hourly anchor",
    )
