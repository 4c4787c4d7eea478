"""``POST /forecast`` without HTTP: a request in, the response's JSON out. The route and the
serving benchmark's in-process floor both call this.

Baseline requests (no ``future`` rows) are slices of JSON written when the version loaded;
requests with their own known-future values go through the model, batched with those that
arrive at the same time (``ServedModel.scenarios``).
"""

from __future__ import annotations

import asyncio

import pandas as pd

from serving.errors import ApiError
from serving.future_input import future_frame, future_source
from serving.limits import DEFAULT_LIMITS, RequestLimits
from serving.model_store import ServedModel
from serving.responses import forecast_json
from serving.schemas import ForecastRequest, HistoryRow

__all__ = ["forecast_body"]


async def forecast_body(model: ServedModel, request: ForecastRequest, limits: RequestLimits = DEFAULT_LIMITS) -> bytes:
    """A ``ForecastResponse`` as JSON; ``ApiError`` for what cannot be served."""
    limits.check_forecast(
        len(request.unique_ids), future_rows=len(request.future or ()), history_rows=len(request.history or ())
    )
    horizon = model.horizon(request.horizon)
    source = future_source(model.info, request.future)
    if request.history is not None:
        return forecast_json(model.info, horizon, source, await _after_history(model, request, horizon))
    if request.future is None:
        model.check_known(request.unique_ids)
        return forecast_json(model.info, horizon, source, model.baseline.series_json(request.unique_ids, horizon))
    model.check_known(request.unique_ids)
    series = await model.scenarios.forecast(request.unique_ids, horizon, request.future)
    return forecast_json(model.info, horizon, source, series)


async def _after_history(model: ServedModel, request: ForecastRequest, horizon: int) -> list[bytes]:
    """Each series' forecast after its latest actual: a model call of its own, off the event loop."""
    if not model.info.takes_history:
        message = f"model version {model.info.version} was trained before forecasts could start from newer actuals"
        raise ApiError(422, "history_not_supported", message, "history")
    ids = list(dict.fromkeys(request.unique_ids))
    with_actuals = {row.unique_id for row in request.history}
    model.check_known(request.unique_ids, exempt=with_actuals)
    future = future_frame(request.future)
    pieces = await asyncio.to_thread(model.history_forecast, ids, horizon, future, history_frame(request.history))
    return [pieces[i].first(horizon) for i in sorted(ids)]


def history_frame(rows: list[HistoryRow]) -> pd.DataFrame:
    """The actuals as the model reads them: ``unique_id, ds, y`` in the order sent."""
    return pd.DataFrame(
        {
            "unique_id": [r.unique_id for r in rows],
            "ds": pd.to_datetime([r.ds for r in rows]),
            "y": [r.y for r in rows],
        }
    )
