"""The BentoML service: HTTP edges only. Forecasting lives in ``models``, planning in ``planning``."""

from __future__ import annotations

import bentoml
from fastapi import FastAPI

from capcast.settings import Settings
from planning import SolverSettings
from serving.errors import ApiError, install_error_handlers
from serving.future_input import future_frame, future_source
from serving.model_store import ServedModel
from serving.recommend import load_default_site, recommend_plan
from serving.responses import to_series_forecasts
from serving.schemas import ForecastRequest, ForecastResponse, ModelInfo, RecommendRequest, RecommendResponse

api = FastAPI(title="capcast", version="0.1.0", description="Demand forecasts and capacity recommendations.")
install_error_handlers(api)
MODEL_VERSION_HEADER = "X-Capcast-Model"


@api.middleware("http")
async def _name_the_served_model(request, call_next):
    """Every response, errors included, names the model version that produced it."""
    response = await call_next(request)
    served = getattr(api.state, "served_model", None)
    if served is not None:
        response.headers[MODEL_VERSION_HEADER] = served
    return response


@bentoml.service(name="capcast", traffic={"timeout": 360}, workers=1)
@bentoml.asgi_app(api, path="/")
class Capcast:
    def __init__(self) -> None:
        settings = Settings()
        self.model = ServedModel.resolve(settings.tracking_uri, settings.model_name, settings.model_alias)
        api.state.served_model = f"{self.model.info.name}/{self.model.info.version}"
        self.site = load_default_site(settings.site_path)
        self.plan_time_limit_s = settings.plan_time_limit_s

    @api.get("/model")
    def model_info(self) -> ModelInfo:
        """The model version this process serves."""
        return self.model.info

    @api.post("/forecast")
    def forecast(self, request: ForecastRequest) -> ForecastResponse:
        """Per series, per period (day, or hour for hourly models): mean and quantiles of demand."""
        horizon = self.model.horizon(request.horizon)
        frame = self.model.forecast_frame(request.unique_ids, horizon, future_frame(request.future))
        return ForecastResponse(
            model=self.model.info,
            horizon=horizon,
            future=future_source(self.model.info, request.future),
            forecasts=to_series_forecasts(frame, self.model.cold_start_ids),
        )

    @api.post("/recommend")
    def recommend(self, request: RecommendRequest) -> RecommendResponse:
        """A capacity plan for the site, covering the forecast of every series."""
        site = request.site or self.site
        if site is None:
            raise ApiError(422, "no_site", "no site configured on the service; send one in the request", "site")
        forecast = self.model.all_series_forecast(self.model.horizon(request.horizon), future_frame(request.future))
        basis = request.basis(self.model.info.family_level_error)
        settings = SolverSettings(time_limit_s=request.time_limit_s or self.plan_time_limit_s)
        plan = recommend_plan(forecast, site, basis, settings, request.locks, request.replan())
        return RecommendResponse(
            model=self.model.info,
            future=future_source(self.model.info, request.future),
            demand=basis.describe(),
            plan=plan,
        )


# Registered after the service's routes, so it only catches paths nothing else serves
# (BentoML's own /readyz, /livez and /metrics come before the mounted app).
@api.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def _unknown_endpoint(path: str) -> None:
    raise ApiError(404, "not_found", f"no endpoint /{path}; see /docs", None)
