"""The BentoML service: HTTP edges only. Forecasting lives in ``models``, planning in ``planning``,
the plan desk (jobs, store, approval) in ``serving.plan_desk``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated

import bentoml
from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Match

from capcast import database
from capcast.settings import Settings
from inventory import AtpAnswer, InventoryConfig, LatencyStats, Ledger, NodeState, Position, Reservation, SourceState
from planning import PlanDiff, Site
from planning.store import JobStore, PlanJob, PlanStatus, PlanStore, PlanSummary, StoredPlan
from serving.auth import Role, Tokens, load_or_create_token
from serving.champion import Champion, freeze_loaded_objects
from serving.errors import COMMON_ERRORS, ApiError, errors, install_error_handlers
from serving.forecasting import forecast_body
from serving.future_input import future_source
from serving.inventory_desk import InventoryDesk
from serving.limits import RequestLimits
from serving.middleware import BodyLimit, ConcurrencyLimit, ModelVersionHeader, served_by
from serving.model_store import ServedModel
from serving.page import UI, asset
from serving.plan_desk import PlanDesk
from serving.plan_maker import PlanMaker, load_default_site
from serving.schemas import (
    ApproveRequest,
    EventBatch,
    ForecastRequest,
    ForecastResponse,
    IngestResponse,
    ModelInfo,
    PlanJobRequest,
    RecommendRequest,
    RecommendResponse,
    Rejected,
    ReleaseRequest,
    ReloadResponse,
    ReservationRequest,
    SeriesPage,
    ServedSeries,
)

_log = logging.getLogger(__name__)
Authorization = Annotated[str | None, Header(description="Bearer <planner token>")]
# Read once per process, at import: BentoML reads the worker count from the decorator.
SETTINGS = Settings()

api = FastAPI(
    title="capcast",
    version="0.1.0",
    description="Demand forecasts and capacity recommendations. Every error is "
    '`{"error": {"code", "message", "field"}}`; `code` is one of ErrorCode.',
    responses=COMMON_ERRORS,
)
install_error_handlers(api)


def _serving_version() -> str | None:
    service = getattr(api.state, "service", None)
    return None if service is None else _version(service.model)


def _version(model: ServedModel) -> str:
    return f"{model.info.name}/{model.info.version}"


# Added last = outermost: the header is on every answer, 503 and 413 included.
api.add_middleware(BodyLimit, limit=SETTINGS.max_body_bytes)
api.add_middleware(ConcurrencyLimit, limit=SETTINGS.max_concurrency)
api.add_middleware(ModelVersionHeader, current=_serving_version)


@bentoml.service(name="capcast", traffic={"timeout": 360}, workers=SETTINGS.worker_count)
@bentoml.asgi_app(api, path="/")
class Capcast:
    def __init__(self) -> None:
        settings = SETTINGS
        model = _load_champion(settings)
        engine = database.engine(settings.database)
        database.upgrade(engine)
        ledger = Ledger(engine, _inventory_config(settings))
        site = load_default_site(settings.site_path)
        self.limits = RequestLimits.from_settings(settings)
        self.planner = PlanMaker(model, site, settings.plan_time_limit_s, stock=ledger.family_stock, limits=self.limits)
        tokens, plans = _tokens(settings), PlanStore(engine)
        self.desk = PlanDesk(self.planner, plans, JobStore(engine), tokens)
        self.stock = InventoryDesk(ledger, plans, site.name if site else None, tokens)
        self.champion = Champion(
            model,
            lookup=lambda: ServedModel.lookup(settings.tracking_uri, settings.model_name, settings.model_alias).version,
            load=lambda: _load_champion(settings),
            on_swap=self._serve,
            reload_file=settings.home.resolve() / "reload-requested",
        )
        self.champion.start_polling(settings.model_poll_s)
        self.tokens = tokens
        api.state.service = self
        freeze_loaded_objects()
        # One worker starts the first plan, not each of them.
        if bentoml.server_context.worker_index in (None, 1) and (first := self.desk.start_first_plan()) is not None:
            _log.info("no stored plan for the site yet: plan job %s started", first.id)

    @property
    def model(self) -> ServedModel:
        return self.planner.model

    def _serve(self, model: ServedModel) -> None:
        self.planner.model = model

    @bentoml.on_shutdown
    def _stop(self) -> None:
        self.champion.stop()
        self.desk.shutdown()
        self.model.close()

    @api.post("/admin/reload", operation_id="reload_model", responses=errors(401, 403, 502))
    def reload(self, authorization: Authorization = None) -> ReloadResponse:
        """Look for a new version behind the alias now (needs an admin token), as the service does
        every ``CAPCAST_MODEL_POLL_S`` seconds: a new version is loaded beside the serving one,
        smoke-tested and swapped in without a failed request. The answer is this worker's; the
        service's other workers check within a second. 502 ``reload_failed`` when it cannot be
        loaded: the serving version stays."""
        self.tokens.check(authorization, Role.ADMIN)
        outcome = self.champion.request_reload()
        if outcome.error is not None:
            raise ApiError(502, "reload_failed", f"{outcome.error}; still serving version {outcome.serving}", None)
        return ReloadResponse(serving=self.model.info, candidate=outcome.candidate, swapped=outcome.swapped)

    @api.get("/model", operation_id="get_model")
    def model_info(self) -> ModelInfo:
        """The model version this process serves."""
        return self.model.info

    @api.get("/series", operation_id="list_series")
    def series(
        self,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
        offset: Annotated[int, Query(ge=0)] = 0,
        prefix: Annotated[str, Query(max_length=200, description="only ids that start with this")] = "",
    ) -> SeriesPage:
        """The series the served version forecasts, a page at a time, sorted by id."""
        total, page = self.model.series_page(offset, limit, prefix)
        following = offset + limit
        return SeriesPage(
            total=total,
            offset=offset,
            series=[ServedSeries(**s) for s in page],
            next_offset=following if following < total else None,
        )

    @api.post("/forecast", operation_id="forecast", response_model=ForecastResponse, responses=errors(400, 404))
    async def forecast(self, request: ForecastRequest, http: Request) -> Response:
        """Per series, per period (day, or hour for hourly models): mean and quantiles of demand."""
        model = self.model  # the version that answers, even if another is swapped in meanwhile
        served_by(http.scope["state"], _version(model))
        return Response(await forecast_body(model, request, self.limits), media_type="application/json")

    @api.post("/recommend", operation_id="recommend", responses=errors(400, 409))
    def recommend(self, request: RecommendRequest) -> RecommendResponse:
        """A capacity plan for the site, covering the forecast of every series (at once; for a plan
        that takes minutes, start a plan job with ``POST /plans``)."""
        self.limits.check_recommend_time(request.time_limit_s)
        plan, lineage = self.planner.make(request, replan=request.replan())
        return RecommendResponse(
            model=self.model.info,
            future=future_source(self.model.info, request.future),
            demand=plan.context.basis,
            plan=plan,
            lineage=lineage,
        )

    @api.get("/site", operation_id="get_site")
    def site(self) -> Site:
        """The site the service plans when a request brings none."""
        return self.planner.site(None)

    @api.get("/plans", operation_id="list_plans")
    def plans(
        self,
        site: str | None = None,
        status: PlanStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[PlanSummary]:
        """Stored plans, newest first: drafts, approved and superseded."""
        return self.desk.list(site, status, limit, offset)

    @api.post("/plans", operation_id="start_plan", status_code=202, responses=errors(400, 401, 403, 404))
    def start_plan(self, request: PlanJobRequest, authorization: Authorization = None) -> PlanJob:
        """Start a plan job (needs the planner token): 202 with the job; follow it at
        ``GET /plan-jobs/{id}`` (progress while CP-SAT runs), cancel it at ``POST /plan-jobs/{id}/cancel``;
        when it succeeds, ``plan_id`` names the stored draft."""
        return self.desk.submit(request, authorization)

    @api.get("/plans/{plan_id}", operation_id="get_plan", responses=errors(404))
    def stored_plan(self, plan_id: str) -> StoredPlan:
        """A stored plan: its status and history, lineage, decisions, KPIs and explanation."""
        return self.desk.get(plan_id)

    @api.get(
        "/plans/{plan_id}/shifts.csv",
        operation_id="get_plan_shifts_csv",
        responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **errors(404)},
    )
    def plan_csv(self, plan_id: str) -> PlainTextResponse:
        """The plan for the shop floor: one CSV row per line-shift."""
        headers = {"Content-Disposition": f'attachment; filename="plan-{plan_id}.csv"'}
        return PlainTextResponse(self.desk.csv(plan_id), media_type="text/csv", headers=headers)

    @api.get("/plans/{plan_id}/diff/{other_id}", operation_id="diff_plans", responses=errors(404))
    def plan_diff(self, plan_id: str, other_id: str) -> PlanDiff:
        """What plan ``other_id`` changes against plan ``plan_id``: shifts, cost and fill rate."""
        return self.desk.diff(plan_id, other_id)

    @api.post("/plans/{plan_id}/approve", operation_id="approve_plan", responses=errors(400, 401, 403, 404, 409))
    def approve(self, plan_id: str, request: ApproveRequest, authorization: Authorization = None) -> StoredPlan:
        """Approve a draft (needs the planner token): it supersedes the site's approved plan for
        any of its days, and is never changed afterwards."""
        return self.desk.approve(plan_id, request.by, authorization)

    @api.get("/plan-jobs", operation_id="list_plan_jobs")
    def plan_jobs(self, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[PlanJob]:
        """The site's recent plan jobs, newest first."""
        return self.desk.recent_jobs(limit)

    @api.get("/plan-jobs/{job_id}", operation_id="get_plan_job", responses=errors(404))
    def plan_job(self, job_id: str) -> PlanJob:
        """A plan job: status, progress (elapsed seconds, best plan's cost, proven bound), result."""
        return self.desk.job(job_id)

    @api.post("/plan-jobs/{job_id}/cancel", operation_id="cancel_plan_job", responses=errors(401, 403, 404, 409))
    def cancel_plan_job(self, job_id: str, authorization: Authorization = None) -> PlanJob:
        """Stop a queued or running plan job (needs the planner token)."""
        return self.desk.cancel(job_id, authorization)

    @api.post("/inventory/events", operation_id="post_stock_events", responses=errors(400, 401, 403, 409))
    def stock_events(
        self, batch: EventBatch, partial: bool = False, authorization: Authorization = None
    ) -> IngestResponse:
        """Apply a batch of a source's stock events exactly once (needs the source's token). Without
        ``partial`` one bad event refuses the whole batch (422, or 409 for a reused id with another
        body; ``error.details`` names each bad event's index and field); with it, bad events become
        dead letters and the rest are applied."""
        result = self.stock.ingest(batch.events, partial, authorization)
        return IngestResponse(
            applied=list(result.applied),
            duplicates=list(result.duplicates),
            negative=list(result.negative),
            rejected=[Rejected(**vars(r)) for r in result.rejected],
            dead_letters=list(result.dead_letters),
        )

    @api.get("/inventory/positions", operation_id="list_stock_positions")
    def stock_positions(
        self, node: str | None = None, sku: str | None = None, as_of: datetime | None = None
    ) -> list[Position]:
        """On hand, reserved and in transit per node and SKU, as of a time (now when omitted)."""
        return self.stock.ledger.positions(node=node, sku=sku, as_of=self.stock.as_of(as_of))

    @api.get("/inventory/atp", operation_id="get_available_to_promise")
    def available_to_promise(
        self,
        sku: str,
        node: str,
        first_day: Annotated[date, Query(alias="from")],
        last_day: Annotated[date, Query(alias="to")],
        today: Annotated[date | None, Query(description="the day promises start; the real today when omitted")] = None,
    ) -> AtpAnswer:
        """Time-phased available-to-promise per day: on hand − reserved + scheduled receipts (the
        approved plan's production at the production node) − committed reservations; ``stale``
        when the node's last report is older than its staleness."""
        return self.stock.atp(sku, node, first_day, last_day, today)

    @api.post("/inventory/reservations", operation_id="reserve", status_code=201, responses=errors(400, 401, 403, 409))
    def reserve(self, request: ReservationRequest, authorization: Authorization = None) -> Reservation:
        """Reserve against ATP at once (needs a source or planner token): no unit is promised twice;
        409 with the quantity available when there is not enough."""
        return self.stock.reserve(
            request.reservation_id, request.node, request.sku, request.qty, request.due, authorization
        )

    @api.post(
        "/inventory/reservations/{reservation_id}/release",
        operation_id="release_reservation",
        responses=errors(400, 401, 403, 404, 409),
    )
    def release(self, reservation_id: str, request: ReleaseRequest, authorization: Authorization = None) -> Reservation:
        """Give back reserved units (all of them when no ``qty`` is given)."""
        return self.stock.release(reservation_id, request.qty, authorization)

    @api.get("/inventory/sources", operation_id="list_stock_sources")
    def stock_sources(self) -> list[SourceState]:
        """Each source's events, last sequence number and missing sequence ranges."""
        return self.stock.ledger.sources()

    @api.get("/inventory/nodes", operation_id="list_stock_nodes")
    def stock_nodes(self) -> list[NodeState]:
        """Each node's last report and its age; ``stale`` when older than the node's staleness."""
        return self.stock.ledger.nodes()

    @api.get("/inventory/latency", operation_id="get_stock_latency")
    def stock_latency(self) -> list[LatencyStats]:
        """Per node and source: seconds from occurred to received, and from received to applied."""
        return self.stock.ledger.latency()

    @api.get("/", include_in_schema=False)
    def home(self) -> RedirectResponse:
        return RedirectResponse("/ui/")

    @api.get("/ui/", include_in_schema=False)
    def page(self) -> FileResponse:
        return FileResponse(UI / "index.html", media_type="text/html")

    @api.get("/ui/{name}", include_in_schema=False)
    def page_asset(self, name: str) -> FileResponse:
        found = asset(name)
        if found is None:
            raise ApiError(404, "not_found", f"the page has no file {name!r}", None)
        # Plotly.js changes only with the installed package: a day in the browser's cache saves ~1 s a load.
        cache = "public, max-age=86400" if name == "plotly.min.js" else "no-cache"
        return FileResponse(found[0], media_type=found[1], headers={"Cache-Control": cache})


def _load_champion(settings: Settings) -> ServedModel:
    return ServedModel.resolve(settings.tracking_uri, settings.model_name, settings.model_alias, settings.model_threads)


def _inventory_config(settings: Settings) -> InventoryConfig:
    path = settings.inventory_path
    return InventoryConfig.load(path) if path.exists() else InventoryConfig()


def _tokens(settings: Settings) -> Tokens:
    """The configured tokens and the planner token (from settings, or the token file)."""
    planner = settings.planner_token.get_secret_value() if settings.planner_token else None
    planner = planner or load_or_create_token(settings.planner_token_file)
    configured = [(t.name, Role(t.role), t.token.get_secret_value()) for t in settings.tokens]
    return Tokens([("planner", Role.PLANNER, planner), *configured])


def _api_routes(routes: list) -> Iterator[APIRoute]:
    """Every endpoint route, also those of included routers (where the service's own methods are)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(getattr(route, "original_router", None), "routes", None) or getattr(route, "routes", None)
        if inner:
            yield from _api_routes(inner)


# Registered after the service's routes, so it only catches requests no route serves (BentoML's
# own /readyz, /livez and /metrics come before the mounted app): a path served for other methods
# is a 405 naming them in Allow (RFC 9110), any other a 404.
@api.api_route(
    "/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False
)
def _unknown_endpoint(path: str, request: Request) -> None:
    allowed = sorted(
        {
            method
            for route in _api_routes(api.routes)
            if route.endpoint is not _unknown_endpoint
            for method in route.methods
            if route.matches(request.scope)[0] is Match.PARTIAL
        }
    )
    if allowed:
        message = f"/{path} answers {', '.join(allowed)}, not {request.method}"
        raise ApiError(405, "method_not_allowed", message, None, headers={"Allow": ", ".join(allowed)})
    raise ApiError(404, "not_found", f"no endpoint /{path}; see /docs", None)
