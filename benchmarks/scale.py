"""Train time and peak memory against the number of series, in one process and on Dask (issue 14).

The production forecaster (``LightGBMForecaster()``'s defaults: 28-day horizon, 300 trees,
calibration included) fits generated daily panels of 280, 3,000 and 30,000 series x 1,100 days
(``features.generate``, seed 0, five stores per product), once in a single process (``--threads``
LightGBM threads, 1 by default: see its help) and once on a Dask ``LocalCluster`` of 2
single-threaded workers (``models.distributed``). Each fit runs in a fresh process, so its peak memory is its own: the
process's ``ru_maxrss`` (the loaded panel included), plus, for Dask, each worker's peak (the
scheduler and nannies live in the measured process). The time exponent ``k`` is the slope of
log(fit seconds) on log(series). Last, the training job's MLflow overhead (create the store and
run, log, plots, register) on the default sample: its share of ``training.train.train``'s
``seconds``.

Targets (2 cores): 30,000 series fit in <= 15 min with <= 8 GB peak; k <= 1.1; MLflow <= 10%.

    python -m benchmarks.scale            # 280 / 3,000 / 30,000 series x 1,100 days
    python -m benchmarks.scale --quick    # 100 / 300 series x 400 days
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from benchmarks.common import print_table, start, write_result

ROOT = Path(__file__).resolve().parents[1]
STORES = 5
ENGINES = ("single", "dask")
TARGET_SECONDS, TARGET_GB, TARGET_K, TARGET_MLFLOW = 15 * 60, 8.0, 1.1, 0.10


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 / 300 series x 400 days")
    parser.add_argument("--series", type=int, nargs="+", help="panel sizes (multiples of 5); default 280 3000 30000")
    parser.add_argument("--days", type=int, help="days per series; default 1100")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--mlflow-runs", type=int, default=1, help="training-job runs for the MLflow share")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="LightGBM threads of the single process and the training job (0: all cores); 1 by default: on shared "
        "cores OpenMP's spinning threads made a 2-thread fit 3x slower than a 1-thread one",
    )
    parser.add_argument(
        "--max-gb", type=float, default=14.0, help="stop a fit whose processes hold more (sampled every 0.5 s)"
    )
    parser.add_argument("--max-minutes", type=float, default=math.inf, help="stop a fit that lasts longer")
    return parser


def _tree_gb(process: psutil.Process) -> float:
    """Resident memory of a process and its descendants (the Dask workers), in GB."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total / 1024**3


def _child(task: dict, max_gb: float = math.inf, max_s: float = math.inf) -> dict:
    """Run ``task`` in a fresh interpreter (``child``) and return what it reports. A run whose
    processes hold more than ``max_gb`` together, or that lasts over ``max_s``, is stopped (a
    shared machine must not meet the OOM killer) and raises ``Stopped`` saying how far it got."""
    command = [sys.executable, "-c", "import sys, benchmarks.scale as s; s.child(sys.argv[1])", json.dumps(task)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, text=True, start_new_session=True)
        watched, started, seen_gb = psutil.Process(process.pid), time.perf_counter(), 0.0
        while process.poll() is None:
            seen_gb = max(seen_gb, _tree_gb(watched))
            elapsed = time.perf_counter() - started
            if seen_gb > max_gb or elapsed > max_s:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                limit = f"memory {seen_gb:.1f} GB > {max_gb} GB" if seen_gb > max_gb else f"time > {max_s:.0f} s"
                raise Stopped(f"stopped ({limit}) after {elapsed:.0f} s, peak sampled {seen_gb:.1f} GB")
            time.sleep(0.5)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            tail = " | ".join(err.read().strip().splitlines()[-3:])
            raise RuntimeError(f"{task['kind']} failed ({process.returncode}): {tail}")
        return json.loads(out.read().strip().splitlines()[-1])


class Stopped(RuntimeError):
    """A measurement stopped at a limit."""


def child(argument: str) -> None:
    """One measurement, in its own process; prints its result as the last line (JSON)."""
    task = json.loads(argument)
    result = {"generate": _generate, "fit": _fit, "mlflow": _mlflow}[task["kind"]](task)
    print(json.dumps(result), flush=True)


def _peak_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # kB on Linux


def _generate(task: dict) -> dict:
    from features.generate import SampleConfig, generate_panel

    started = time.perf_counter()
    config = SampleConfig(products=task["series"] // STORES, locations=STORES, days=task["days"])
    panel = generate_panel(config, seed=0)
    seconds = time.perf_counter() - started
    # Text columns dictionary-encoded, so that the fit reads them back as the generator made them.
    text = panel.select_dtypes(include="object").columns
    panel.astype(dict.fromkeys(text, "category")).to_parquet(task["path"], index=False)
    return {"rows": len(panel), "seconds": seconds}


def _fit(task: dict) -> dict:
    import pandas as pd

    from models.lgbm import LightGBMForecaster

    panel = pd.read_parquet(task["path"])
    # Each text value one shared object per distinct value, as in the generator's panel (8 bytes a row);
    # read as plain strings, 30,000 series' four text columns alone would take ~7 GB.
    panel = panel.astype(dict.fromkeys(panel.select_dtypes(include="category").columns, object))
    loaded_gb = _peak_gb()
    load = os.getloadavg()[0]
    workers_gb = 0.0
    if task["engine"] == "single":
        started = time.perf_counter()
        forecaster = LightGBMForecaster(num_threads=task["threads"]).fit(panel, freq="D")
        seconds = time.perf_counter() - started
        cluster_seconds = 0.0
    else:
        from models.distributed import dask_client, fit_on_dask

        cluster_started = time.perf_counter()
        with dask_client("local") as client:
            cluster_seconds = time.perf_counter() - cluster_started
            started = time.perf_counter()
            forecaster = fit_on_dask(LightGBMForecaster(num_threads=task["threads"]), panel, client, freq="D")
            seconds = time.perf_counter() - started
            workers_gb = sum(client.run(_peak_gb).values())
    forecast = forecaster.predict(28, future=forecaster.baseline_future(28))
    forecast.to_parquet(task["forecast"], index=False)
    return {
        "fit_s": seconds,
        "cluster_start_s": cluster_seconds,
        "process_peak_gb": _peak_gb(),
        "workers_peak_gb": workers_gb,
        "panel_loaded_gb": loaded_gb,
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }


def _mlflow(task: dict) -> dict:
    from features.generate import SampleConfig, generate_panel
    from training.tracking import TrackingConfig
    from training.train import TrainConfig, train

    # The default sample, as ``capcast data generate --seed 42`` writes it.
    panel = generate_panel(SampleConfig(), seed=42)
    with tempfile.TemporaryDirectory() as home:
        result = train(panel, TrackingConfig.embedded(Path(home)), TrainConfig(num_threads=task["threads"]))
    return {"seconds": result.seconds}


def slope(series: list[int], seconds: list[float]) -> float | None:
    """k in seconds ∝ series**k: the least-squares slope in log-log; None with fewer than 2 sizes."""
    if len(set(series)) < 2:
        return None
    return float(np.polyfit(np.log(series), np.log(seconds), 1)[0])


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main(argv: list[str] | None = None) -> None:
    args, command = start(parser(), __spec__.name, argv)
    sizes = args.series or ([100, 300] if args.quick else [280, 3000, 30000])
    days = args.days or (400 if args.quick else 1100)
    rows: list[dict] = []
    agreement: list[dict] = []
    mlflow_rows: list[dict] = []

    def save() -> None:
        tables = {"fits": rows, "dask_vs_single": agreement, "mlflow": mlflow_rows}
        write_result("scale", command, tables, {"targets": targets(rows, mlflow_rows, sizes)})

    # The training job first: a short run, reported even if a large fit does not end.
    for _ in range(args.mlflow_runs):
        seconds = _child({"kind": "mlflow", "threads": args.threads})["seconds"]
        run = sum(seconds.values())
        mlflow_rows.append(
            {
                **{f"{stage}_s": round(value, 2) for stage, value in seconds.items()},
                "run_s": round(run, 2),
                "mlflow_share": round(seconds["log_and_register"] / run, 3),
            }
        )
        print(json.dumps(mlflow_rows[-1]), flush=True)
        save()

    with tempfile.TemporaryDirectory() as tmp:
        for series in sizes:
            path = str(Path(tmp) / f"panel-{series}.parquet")
            made = _child({"kind": "generate", "series": series, "days": days, "path": path})
            print(
                f"{series} series x {days} days: {made['rows']:,} rows, generated in {made['seconds']:.1f} s",
                flush=True,
            )
            forecasts = {}
            for engine in args.engines:
                forecasts[engine] = str(Path(tmp) / f"forecast-{series}-{engine}.parquet")
                task = {
                    "kind": "fit",
                    "engine": engine,
                    "path": path,
                    "forecast": forecasts[engine],
                    "threads": args.threads,
                }
                try:
                    measured = _child(task, max_gb=args.max_gb, max_s=args.max_minutes * 60)
                except RuntimeError as error:
                    print(f"{series} series, {engine}: {error}", flush=True)
                    rows.append({"series": series, "days": days, "engine": engine, "error": str(error)})
                    save()
                    continue
                peak = measured["process_peak_gb"] + measured["workers_peak_gb"]
                rows.append(
                    {
                        "series": series,
                        "days": days,
                        "rows": made["rows"],
                        "engine": engine,
                        "fit_s": round(measured["fit_s"], 1),
                        "cluster_start_s": round(measured["cluster_start_s"], 1),
                        "peak_gb": round(peak, 2),
                        "process_peak_gb": round(measured["process_peak_gb"], 2),
                        "workers_peak_gb": round(measured["workers_peak_gb"], 2),
                        "panel_loaded_gb": round(measured["panel_loaded_gb"], 2),
                        "load_avg": f"{measured['load_before']:.1f}-{measured['load_after']:.1f}",
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
                save()
            if all(Path(p).exists() for p in forecasts.values()) and len(forecasts) == 2:
                agreement.append({"series": series, **_agreement(forecasts["single"], forecasts["dask"])})
                save()
            Path(path).unlink()
    fitted = [row for row in rows if "fit_s" in row]
    if fitted:
        print_table(f"fit with calibration, {days} days per series (peak = process + Dask workers)", fitted)
    if agreement:
        print_table("Dask against single-process forecasts (28 days, baseline scenario)", agreement)
    exponents = [{"engine": e, "k": targets(rows, mlflow_rows, sizes)["k"].get(e)} for e in args.engines]
    print_table("time ∝ series^k (log-log slope over the sizes)", exponents)
    if mlflow_rows:
        print_table("training job on the default sample: MLflow's share of the run", mlflow_rows)
    if stopped := [{key: row[key] for key in ("series", "engine", "error")} for row in rows if "error" in row]:
        print_table("fits that did not end", stopped)
    if verdicts := targets(rows, mlflow_rows, sizes)["verdicts"]:
        print_table("targets", [{"target": target, "verdict": verdict} for target, verdict in verdicts.items()])
    save()


def targets(rows: list[dict], mlflow_rows: list[dict], sizes: list[int]) -> dict:
    """The fitted exponents and each target's verdict on what was measured so far; a fit stopped
    past the memory limit has missed the memory target (the limit is above it) and has no time."""
    fitted = [row for row in rows if "fit_s" in row]
    k = {}
    for engine in ENGINES:
        mine = [row for row in fitted if row["engine"] == engine]
        k[engine] = slope([row["series"] for row in mine], [row["fit_s"] for row in mine])
    verdicts = {}
    for row in rows:
        if row["series"] != 30000:
            continue
        name = f"30,000 series {row['engine']}"
        if "fit_s" in row:
            time_ok, memory_ok = row["fit_s"] <= TARGET_SECONDS, row["peak_gb"] <= TARGET_GB
            verdicts[f"{name}: fit <= 15 min"] = f"{_verdict(time_ok)} ({row['fit_s']:.0f} s)"
            verdicts[f"{name}: peak <= 8 GB"] = f"{_verdict(memory_ok)} ({row['peak_gb']} GB)"
        else:
            verdicts[f"{name}: fit <= 15 min"] = f"not measured: {row['error']}"
            if "stopped (memory" in row["error"]:
                verdicts[f"{name}: peak <= 8 GB"] = "MISSED (over the stop limit)"
    for engine, value in k.items():
        if value is not None:
            measured = sorted({row["series"] for row in fitted if row["engine"] == engine})
            verdicts[f"k <= 1.1 ({engine}, series {measured})"] = f"{_verdict(value <= TARGET_K)} (k = {value:.2f})"
    if mlflow_rows:
        share = float(np.median([row["mlflow_share"] for row in mlflow_rows]))
        verdicts["MLflow <= 10% of a run (median)"] = f"{_verdict(share <= TARGET_MLFLOW)} ({share:.1%})"
    return {"k": {e: (None if v is None else round(v, 3)) for e, v in k.items()}, "verdicts": verdicts}


def _agreement(single: str, dask: str) -> dict:
    import pandas as pd

    a, b = pd.read_parquet(single), pd.read_parquet(dask)
    merged = a.merge(b, on=["unique_id", "ds"], suffixes=("_single", "_dask"))
    difference = (merged["mean_single"] - merged["mean_dask"]).abs()
    return {
        "mean_forecast": round(float(merged["mean_single"].mean()), 3),
        "mean_abs_diff": round(float(difference.mean()), 3),
        "relative": round(float(difference.mean() / merged["mean_single"].mean()), 4),
        "total_rel_diff": round(float(merged["mean_dask"].sum() / merged["mean_single"].sum() - 1), 4),
    }


if __name__ == "__main__":
    main()
