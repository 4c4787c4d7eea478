"""The forecast frame as the API answers it: per series, per period, mean and quantiles."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pandas as pd

from serving.schemas import ForecastPoint, ForecastResponse, ModelInfo, SeriesForecast

__all__ = [
    "COLD_START_METHOD",
    "GLOBAL_METHOD",
    "SeriesJson",
    "forecast_json",
    "periods_are_days",
    "series_json",
    "to_series_forecasts",
]

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


@dataclass(frozen=True)
class SeriesJson:
    """One series' forecast as the API writes it (a ``SeriesForecast``): its opening, then its
    points joined, with where each point ends, so that the first ``h`` periods are a slice."""

    opening: bytes
    points: bytes
    ends: tuple[int, ...]

    def first(self, horizon: int) -> bytes:
        return self.opening + self.points[: self.ends[horizon - 1]] + b"]}"


def series_json(frame: pd.DataFrame, cold_start_ids: frozenset[str] = frozenset()) -> dict[str, SeriesJson]:
    """The forecast frame's series as JSON pieces, by series id (frame order)."""
    pieces = {}
    for series in to_series_forecasts(frame, cold_start_ids):
        opening = series.model_dump_json(include={"unique_id", "method"}).encode()[:-1] + b',"points":['
        points = [p.model_dump_json().encode() for p in series.points]
        ends = tuple(itertools.accumulate(len(p) + 1 for p in points))  # each point and the comma after it
        pieces[series.unique_id] = SeriesJson(opening, b",".join(points), tuple(e - 1 for e in ends))
    return pieces


def forecast_json(model: ModelInfo, horizon: int, future: str, series: list[bytes]) -> bytes:
    """A ``ForecastResponse`` body from its series' JSON: the same bytes pydantic would write."""
    opening = ForecastResponse(model=model, horizon=horizon, future=future, forecasts=[]).model_dump_json()
    return opening.encode()[: -len(b"]}")] + b",".join(series) + b"]}"
