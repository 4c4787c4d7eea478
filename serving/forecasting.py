"""``POST /forecast`` without HTTP: a request in, the response's JSON out. The route and the
serving benchmark's in-process floor both call this.

Baseline requests (no ``future`` rows) are slices of JSON written when the version loaded;
requests with their own known-future values go through the model, batched with those that
arrive at the same time (``ServedModel.scenarios``).
"""

from __future__ import annotations

from serving.future_input import future_source
from serving.limits import DEFAULT_LIMITS, RequestLimits
from serving.model_store import ServedModel
from serving.responses import forecast_json
from serving.schemas import ForecastRequest

__all__ = ["forecast_body"]


async def forecast_body(model: ServedModel, request: ForecastRequest, limits: RequestLimits = DEFAULT_LIMITS) -> bytes:
    """A ``ForecastResponse`` as JSON; ``ApiError`` for what cannot be served."""
    limits.check_forecast(len(request.unique_ids), future_rows=len(request.future or ()))
    horizon = model.horizon(request.horizon)
    source = future_source(model.info, request.future)
    if request.future is None:
        model.check_known(request.unique_ids)
        return forecast_json(model.info, horizon, source, model.baseline.series_json(request.unique_ids, horizon))
    model.check_known(request.unique_ids)
    series = await model.scenarios.forecast(request.unique_ids, horizon, request.future)
    return forecast_json(model.info, horizon, source, series)
