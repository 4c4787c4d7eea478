"""The forecast frame as the API answers it: per series, per period, mean and quantiles."""

from __future__ import annotations

import pandas as pd

from serving.schemas import ForecastPoint, SeriesForecast

__all__ = ["COLD_START_METHOD", "GLOBAL_METHOD", "periods_are_days", "to_series_forecasts"]

GLOBAL_METHOD, COLD_START_METHOD = "global model", "cold start: historic average"


def periods_are_days(ds: pd.Series) -> bool:
    """Whether forecast periods are days (written as dates) rather than hours: every ``ds`` at midnight.
    The API and the CLI both decide with this, so a forecast reads the same in either."""
    return bool((ds == ds.dt.normalize()).all())


def to_series_forecasts(frame: pd.DataFrame, cold_start_ids: frozenset[str] = frozenset()) -> list[SeriesForecast]:
    """The forecast frame as response objects, one per series in frame order."""
    quantiles = [c for c in frame.columns if c.startswith("q") and c[1:].replace(".", "").isdigit()]
    periods = frame["ds"].dt.date if periods_are_days(frame["ds"]) else frame["ds"].dt.to_pydatetime()
    rounded = frame.assign(ds=periods).round({"mean": 4, **dict.fromkeys(quantiles, 4)})
    by_series: dict[str, list[ForecastPoint]] = {}
    for row in rounded[["unique_id", "ds", "mean", *quantiles]].itertuples(index=False, name=None):
        unique_id, ds, mean, *values = row
        by_series.setdefault(str(unique_id), []).append(
            ForecastPoint(ds=ds, mean=mean, quantiles=dict(zip(quantiles, values)))
        )
    return [
        SeriesForecast(
            unique_id=uid, method=COLD_START_METHOD if uid in cold_start_ids else GLOBAL_METHOD, points=points
        )
        for uid, points in by_series.items()
    ]
