"""Time the main job exactly as ``make run`` runs it, and report its holdout accuracy and plan.

The commands are read from the Makefile itself (``make --dry-run run``), so this
benchmark times what the README promises and cannot drift from it: generate the
sample, validate it, train (holdout backtest, fit, log and register: the split
comes from the run's own timings in MLflow), forecast every series, plan at the
service level, and serve until /readyz answers, then one /forecast request. Each
command runs as its own process in a fresh CAPCAST_HOME (a new MLflow store), as
on a new machine once ``make install`` is done.

    python -m benchmarks.pipeline            # default sample: 40 products x 5 stores x 1,096 days
    python -m benchmarks.pipeline --quick    # the same commands on a sample of 10 x 3 x 400
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pandas as pd
from mlflow.tracking import MlflowClient

from benchmarks.common import print_table, start, write_result
from benchmarks.service_process import running_service
from planning import DemandBasis, Plan, demand_for_forecast, load_site, plan_violations
from training.tracking import TrackingConfig

ROOT = Path(__file__).resolve().parents[1]
QUICK_SAMPLE = ["--products", "10", "--locations", "3", "--days", "400"]


def main_job(home: Path) -> list[list[str]]:
    """The ``capcast`` commands of ``make run`` with ``CAPCAST_HOME=home``, with this interpreter's
    ``capcast`` (the same virtual environment ``make install`` made)."""
    bin_dir = Path(sys.executable).parent
    dry_run = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "run", f"CAPCAST_HOME={home}", f"BIN={bin_dir}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    commands = [shlex.split(line) for line in dry_run.splitlines() if line.strip()]
    capcast = str(bin_dir / "capcast")
    return [command for command in commands if command[0] == capcast]


def _stage(command: list[str]) -> str:
    return " ".join(word for word in command[1:3] if not word.startswith("-"))


def run_once(quick: bool) -> tuple[dict[str, float], dict, dict]:
    """One pass of the main job in a fresh CAPCAST_HOME; returns (seconds per stage, metrics, plan summary)."""
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        *steps, serve = main_job(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAPCAST_")} | {"CAPCAST_HOME": str(home)}
        for command in steps:
            if quick and command[1:3] == ["data", "generate"]:
                command = [*command, *QUICK_SAMPLE]
            started = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{shlex.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
            seconds[_stage(command)] = time.perf_counter() - started
        started = time.perf_counter()
        with running_service(home, ready_timeout_s=120, command=serve) as base:
            seconds["serve (until /readyz)"] = time.perf_counter() - started
            request_started = time.perf_counter()
            uid = pd.read_csv(home / "forecast.csv", usecols=["unique_id"])["unique_id"].iloc[0]
            response = httpx.post(f"{base}/forecast", json={"unique_ids": [uid], "horizon": 28}, timeout=30)
            response.raise_for_status()
            seconds["first /forecast request"] = time.perf_counter() - request_started
        metrics = _champion_metrics(home)
        plan_command = next(c for c in steps if c[1] == "plan")
        plan = _plan_summary(home, metrics["family_level_error"], plan_command)
    # The training job's own timing of its parts, inside the "train" stage.
    for part in ("backtest", "fit", "log_and_register"):
        seconds[f"  train: {part}"] = metrics[f"seconds_{part}"]
    seconds["total"] = sum(value for stage, value in seconds.items() if not stage.startswith(" "))
    return seconds, metrics, plan


def _champion_metrics(home: Path) -> dict[str, float]:
    tracking = TrackingConfig.embedded(home)
    client = MlflowClient(tracking.tracking_uri)
    version = client.get_model_version_by_alias(tracking.model_name, tracking.champion_alias)
    return client.get_run(version.run_id).data.metrics


def _plan_summary(home: Path, level_error: float, command: list[str]) -> dict:
    """The plan ``make run`` wrote, with the independent checker's verdict on it against the demand
    the ``plan`` command covered (its service level, else the default one, with the model's level error)."""
    plan = Plan.model_validate_json((home / "plan.json").read_text(encoding="utf-8"))
    forecast = pd.read_csv(home / "forecast.csv").to_dict("records")
    basis = DemandBasis(level_error=level_error)
    if "--service-level" in command:
        basis = replace(basis, service_level=float(command[command.index("--service-level") + 1]))
    demand = demand_for_forecast(forecast, basis)
    violations = plan_violations(load_site(home / "sample" / "site.yaml"), demand, plan)
    return {**plan.solver.model_dump(), "kpis": plan.kpis.model_dump(), "violations": violations}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same commands on a sample of 10 x 3 x 400")
    parser.add_argument("--repeat", type=int, default=3, help="passes of the whole job; medians are reported")
    return parser


def main(argv: list[str] | None = None) -> None:
    args, command = start(parser(), __spec__.name, argv)
    print("main job:", *(shlex.join(c) for c in main_job(Path("CAPCAST_HOME"))), sep="\n  ", flush=True)
    passes = [run_once(args.quick) for _ in range(args.repeat)]

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
            "wape": m[f"backtest_wape_{key}"],
            "rmsse": m[f"backtest_rmsse_{key}"],
            "coverage_80": m[f"backtest_coverage_80_{key}"],
            "coverage_95": m[f"backtest_coverage_95_{key}"],
        }
        for name, key in (("lightgbm", "lgbm"), ("seasonal_naive", "seasonal_naive"))
    ]
    plans = [p[2] for p in passes]
    sample = "10 products x 3 stores x 400 days" if args.quick else "the default sample (seed 42)"
    print_table(f"make run, stage by stage: {args.repeat} passes on {sample}", rows)
    print_table("backtest accuracy: means over 3 rolling-origin folds of 28 days", accuracy)
    print_table(
        "plan per pass (service level 0.95 with the model's family level error)",
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
    write_result(
        "pipeline", command, {"stages": rows, "accuracy": accuracy, "plans": plans}, extra={"quick": args.quick}
    )


if __name__ == "__main__":
    main()
