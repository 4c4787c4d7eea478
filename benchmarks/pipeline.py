"""Time each stage of the main job on the default sample data, and compare holdout accuracy.

Stages: generate the sample, validate and load it, backtest + fit + log/register
(training), forecast every series, plan with CP-SAT, start the service until
/readyz answers, and one /forecast request. Each run uses a fresh
CAPCAST_HOME in a temp folder, so the MLflow store is created from scratch.

    python -m benchmarks.pipeline            # default sample: 40 products x 5 stores x 1,096 days
    python -m benchmarks.pipeline --quick    # 10 x 3 x 400
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import mlflow

from benchmarks.common import print_table, write_result
from tests.service_process import running_service
from features.generate import SampleConfig, write_sample
from features.io import load_panel
from planning import SolverSettings, demand_from_forecast, load_site, plan_violations, solve
from training.tracking import TrackingConfig
from training.train import TrainConfig, train

QUICK = SampleConfig(products=10, locations=3, days=400)


def _time_service(home: Path, uid: str) -> tuple[float, float]:
    """Seconds from `capcast serve` to /readyz, and of one /forecast request after that."""
    started = time.perf_counter()
    with running_service(home, ready_timeout_s=120) as base:
        ready = time.perf_counter() - started
        request_started = time.perf_counter()
        response = httpx.post(f"{base}/forecast", json={"unique_ids": [uid], "horizon": 28}, timeout=30)
        response.raise_for_status()
        return ready, time.perf_counter() - request_started


def run_once(config: SampleConfig, plan_time_limit: float) -> tuple[dict[str, float], dict, dict]:
    """One pass of the main job in a fresh CAPCAST_HOME; returns (seconds per stage, metrics, plan summary)."""
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home, data = Path(tmp) / "home", Path(tmp) / "home" / "sample"
        t = time.perf_counter()
        write_sample(data, seed=42, config=config)
        seconds["generate"] = time.perf_counter() - t

        t = time.perf_counter()
        panel = load_panel(data)
        seconds["validate_and_load"] = time.perf_counter() - t

        result = train(panel, TrackingConfig.embedded(home), TrainConfig(), source=str(data))
        seconds.update({f"train_{stage}": value for stage, value in result.seconds.items()})

        t = time.perf_counter()
        mlflow.set_tracking_uri(TrackingConfig.embedded(home).tracking_uri)
        forecaster = mlflow.pyfunc.load_model("models:/demand@champion").unwrap_python_model().forecaster
        # The service's default scenario for known-future columns: each series' usual recent value.
        forecast = forecaster.predict(28, future=forecaster.baseline_future(28)).merge(
            forecaster.series_attributes_, on="unique_id"
        )
        seconds["load_champion_and_forecast_all"] = time.perf_counter() - t

        site = load_site(data / "site.yaml")
        t = time.perf_counter()
        demand = demand_from_forecast(forecast.to_dict("records"))
        plan = solve(site, demand, SolverSettings(time_limit_s=plan_time_limit))
        seconds["plan"] = time.perf_counter() - t
        violations = plan_violations(site, demand, plan)

        seconds["service_ready"], seconds["forecast_request"] = _time_service(home, str(panel["unique_id"].iloc[0]))
    seconds["total"] = sum(seconds.values())
    summary = {**plan.solver.model_dump(), "kpis": plan.kpis.model_dump(), "violations": violations}
    return seconds, result.metrics, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sample instead of the default one")
    parser.add_argument("--repeat", type=int, default=3, help="passes of the whole job; medians are reported")
    parser.add_argument("--plan-time-limit", type=float, default=10.0, help="CP-SAT time limit, seconds")
    args = parser.parse_args()
    config = QUICK if args.quick else SampleConfig()
    passes = [run_once(config, args.plan_time_limit) for _ in range(args.repeat)]

    rows = [
        {
            "stage": stage,
            "median_s": round(statistics.median(p[0][stage] for p in passes), 3),
            "min_s": round(min(p[0][stage] for p in passes), 3),
            "max_s": round(max(p[0][stage] for p in passes), 3),
        }
        for stage in passes[0][0]
    ]
    # Training is deterministic, so accuracy is the same in every pass; report the first.
    m = passes[0][1]
    accuracy = [
        {
            "model": name,
            "holdout_wape": m[f"holdout_wape_{key}"],
            "holdout_rmsse": m[f"holdout_rmsse_{key}"],
            "coverage_80": m[f"holdout_coverage_80_{key}"],
            "coverage_95": m[f"holdout_coverage_95_{key}"],
        }
        for name, key in (("lightgbm", "lgbm"), ("seasonal_naive", "seasonal_naive"))
    ]
    plans = [p[2] for p in passes]
    title = f"main job stages, {args.repeat} passes ({config.products} products x {config.locations} stores x {config.days} days)"
    print_table(title, rows)
    print_table("holdout accuracy, last 28 days", accuracy)
    print_table(
        "plan per pass",
        [
            {
                "status": p["status"],
                "objective": p["objective"],
                "best_bound": p["best_bound"],
                "gap": p["gap"],
                "fill_rate": p["kpis"]["expected_fill_rate"],
                "violations": len(p["violations"]),
            }
            for p in plans
        ],
    )
    write_result("pipeline", {"stages": rows, "accuracy": accuracy, "plans": plans}, extra={"sample": config.__dict__})


if __name__ == "__main__":
    main()
