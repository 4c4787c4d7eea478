"""The forecast API under load: the real service (``capcast serve``) over HTTP on 127.0.0.1.

A sample made as ``make run`` makes it (``capcast data generate --seed 42``, ``capcast train``)
is served by 1 and by 2 workers (``CAPCAST_WORKERS``). For each, a bounded load (a fixed number
of requests at a fixed concurrency, ``benchmarks.load``) of:

* baseline: 1 series, 28 days, no ``future`` rows, at concurrency 1, 8 and 32;
* scenario: the same with the 28 days' known-future values (a promotion at a lower price);
* 100 series, baseline and scenario, at concurrency 32 (series per second).

Alongside: the in-process floor (the same requests through ``serving.forecasting`` in this
process, one at a time: JSON in, JSON out, no HTTP), the time from start to ready, and the
resident memory of each worker. ``--large`` also loads a 30,000-series model and reports its
start and memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import psutil

from benchmarks.common import print_table, start, write_result
from benchmarks.load import LoadResult, run_load
from benchmarks.service_process import running_service

HORIZON = 28
TARGETS = {  # 2 workers, concurrency 32 (issue 13)
    ("baseline", 1, 32): (600.0, 50.0),
    ("scenario", 1, 32): (250.0, 150.0),
}
SERIES_TARGETS = {("baseline", 100): 5000.0, ("scenario", 100): 3000.0}
READY_TARGET_S = 10.0
MEMORY_TARGET_MB = 1536.0


def capcast(home: Path, *arguments: str) -> None:
    """Run a ``capcast`` command on ``home`` as ``make run`` does; stop with its output if it fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPCAST_")} | {"CAPCAST_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "capcast", *arguments], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"capcast {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")


def trained_home(home: Path, products: int, locations: int, days: int, rounds: int | None) -> Path:
    sample = home / "sample"
    shape = ["--products", str(products), "--locations", str(locations), "--days", str(days)]
    capcast(home, "data", "generate", "--out", str(sample), "--seed", "42", *shape)
    capcast(home, "train", "--data", str(sample), *(["--n-estimators", str(rounds)] if rounds else []))
    return sample


def scenario_rows(sample: Path, ids: list[str], exogenous: list[str], first_day: pd.Timestamp) -> dict:
    """Per series, 28 days of known-future values: its last known values, with a week's promotion
    at 10% off when the model reads price and promo."""
    sales = pd.read_csv(sample / "sales.csv", usecols=["unique_id", "ds", *exogenous])
    last = sales.sort_values("ds").groupby("unique_id").last()
    days = pd.date_range(first_day, periods=HORIZON, freq="D")
    rows = {}
    for uid in ids:
        values = last.loc[uid, exogenous].astype(float).to_dict()
        series = []
        for k, day in enumerate(days):
            promoted = 7 <= k < 14
            row = {"unique_id": uid, "ds": day.date().isoformat(), **values}
            if promoted and "promo" in row:
                row["promo"] = 1.0
            if promoted and "price" in row:
                row["price"] = round(values["price"] * 0.9, 2)
            series.append(row)
        rows[uid] = series
    return rows


def request_bodies(ids: list[str], per_request: int, scenario: dict | None, count: int) -> list[bytes]:
    """``count`` different requests of ``per_request`` series each, cycling through ``ids``."""
    bodies = []
    for k in range(count):
        chosen = [ids[(k * per_request + j) % len(ids)] for j in range(per_request)]
        body: dict = {"unique_ids": chosen, "horizon": HORIZON}
        if scenario is not None:
            body["future"] = [row for uid in chosen for row in scenario[uid]]
        bodies.append(json.dumps(body).encode())
    return bodies


def in_process_floor_ms(home: Path, bodies: list[bytes], repeats: int) -> float:
    """Median milliseconds of one request's work without HTTP: parse, forecast, write the JSON."""
    from capcast.settings import Settings
    from serving.forecasting import forecast_body
    from serving.model_store import ServedModel
    from serving.schemas import ForecastRequest

    settings = Settings(home=home)
    model = ServedModel.resolve(settings.tracking_uri, settings.model_name, settings.model_alias, threads=1)

    async def one(body: bytes) -> float:
        started = time.perf_counter()
        await forecast_body(model, ForecastRequest.model_validate_json(body))
        return (time.perf_counter() - started) * 1000

    async def all_in_turn() -> list[float]:
        return [await one(bodies[k % len(bodies)]) for k in range(repeats)]

    try:
        return statistics.median(asyncio.run(all_in_turn()))
    finally:
        model.close()


def worker_memory_mb() -> list[float]:
    """Resident memory of each worker process of the service (a child of this process)."""
    workers = [p for p in psutil.Process().children(recursive=True) if "--worker-id" in " ".join(p.cmdline())]
    return [round(p.memory_info().rss / 2**20, 1) for p in workers]


@contextmanager
def timed_service(home: Path, workers: int, log):
    """The service on ``home`` with ``workers`` workers, once its first plan job is done (a solve
    holds the cores); yields (base URL, seconds from start to ready)."""
    started = time.perf_counter()
    env = {"CAPCAST_WORKERS": str(workers)}
    with running_service(home, ready_timeout_s=300, log=log, env=env) as base:
        ready_s = time.perf_counter() - started
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and any(
            job["status"] in ("queued", "running") for job in httpx.get(f"{base}/plan-jobs", timeout=10).json()
        ):
            time.sleep(1)
        yield base, ready_s


def _load_row(kind: str, series: int, workers: int, result: LoadResult) -> dict:
    target = TARGETS.get((kind, series, result.concurrency)) if workers == 2 else None
    series_target = SERIES_TARGETS.get((kind, series)) if workers == 2 and result.concurrency == 32 else None
    return {
        "requests": kind,
        "series": series,
        "workers": workers,
        "concurrency": result.concurrency,
        "n": result.requests,
        "failed": result.failed,
        "req/s": round(result.per_second, 1),
        "series/s": round(result.per_second * series, 1),
        "p50 ms": round(result.percentile_ms(50), 1),
        "p99 ms": round(result.percentile_ms(99), 1),
        "target": (
            f">= {target[0]:g}/s, p99 <= {target[1]:g} ms"
            if target
            else (f">= {series_target:g} series/s" if series_target else "")
        ),
        "met": (
            str(result.per_second >= target[0] and result.percentile_ms(99) <= target[1])
            if target
            else (str(result.per_second * series >= series_target) if series_target else "")
        ),
    }


def measure(home: Path, sample: Path, workers_list: list[int], requests: int, log) -> tuple[list, list, dict]:
    loads, starts = [], []
    bodies: dict = {}
    for workers in workers_list:
        with timed_service(home, workers, log) as (base, ready_s):
            if not bodies:
                info = httpx.get(f"{base}/model").json()
                ids = _series_ids(home)
                first_day = pd.Timestamp(info["last_period"]) + pd.Timedelta(days=1)
                scenario = scenario_rows(sample, ids, info["exogenous"], first_day)
                bodies = {
                    (kind, n): request_bodies(ids, n, scenario if kind == "scenario" else None, 64)
                    for kind in ("baseline", "scenario")
                    for n in (1, 100)
                }
            url = f"{base}/forecast"
            for (kind, n), payloads in bodies.items():
                run_load(url, payloads, 20, 4)  # warm the connections and the workers
                for concurrency in (1, 8, 32) if n == 1 else (1, 32):
                    count = requests if n == 1 else max(requests // 10, 40)
                    result = run_load(url, payloads, count, concurrency)
                    loads.append(_load_row(kind, n, workers, result))
                    print(loads[-1], flush=True)
            starts.append(_start_row("sample", len(_series_ids(home)), workers, ready_s))
    return loads, starts, bodies


def _start_row(model: str, series: int, workers: int, ready_s: float) -> dict:
    memory = worker_memory_mb()
    return {
        "model": model,
        "series": series,
        "workers": workers,
        "ready s": round(ready_s, 2),
        "ready target": f"<= {READY_TARGET_S:g} s",
        "worker RSS MB": ", ".join(f"{m:g}" for m in memory),
        "memory target": f"<= {MEMORY_TARGET_MB:g} MB" if series >= 30_000 else "",
        "met": str(ready_s <= READY_TARGET_S and (series < 30_000 or max(memory, default=0) <= MEMORY_TARGET_MB)),
    }


def large_rows(home: Path, workers_list: list[int], log) -> list[dict]:
    """Start and memory of a 30,000-series model (6,000 products x 5 locations, 120 days, 30 rounds:
    what is measured is serving it, so it is trained small), with one forecast answered."""
    trained_home(home, 6000, 5, 120, 30)
    rows = []
    for workers in workers_list:
        with timed_service(home, workers, log) as (base, ready_s):
            ids = _series_ids(home)
            answered = httpx.post(f"{base}/forecast", json={"unique_ids": ids[:100], "horizon": 28}, timeout=60)
            answered.raise_for_status()
            rows.append(_start_row("large", len(ids), workers, ready_s))
            print(rows[-1], flush=True)
    return rows


def _series_ids(home: Path) -> list[str]:
    sales = pd.read_csv(home / "sample" / "sales.csv", usecols=["unique_id"])
    return sorted(sales["unique_id"].astype(str).unique())


def floor_rows(home: Path, bodies: dict, loads: list[dict], repeats: int) -> list[dict]:
    rows = []
    for (kind, n), payloads in bodies.items():
        floor = in_process_floor_ms(home, payloads, repeats)
        http = [r for r in loads if r["requests"] == kind and r["series"] == n and r["concurrency"] == 1]
        http_p50 = http[0]["p50 ms"] if http else None
        rows.append(
            {
                "requests": kind,
                "series": n,
                "in-process ms": round(floor, 2),
                "HTTP p50 ms (1 worker, c=1)": http_p50,
                "HTTP / floor": round(http_p50 / floor, 2) if http_p50 else "",
            }
        )
    return rows


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.serving", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a small model and fewer requests")
    p.add_argument("--requests", type=int, default=2000, help="requests per 1-series load")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to serve with")
    p.add_argument("--large", action="store_true", help="also start and measure a 30,000-series model")
    return p


def main(argv: list[str] | None = None) -> None:
    args, command = start(parser(), "benchmarks.serving", argv)
    requests = 200 if args.quick else args.requests
    shape = (20, 5, 400, 30) if args.quick else (40, 5, 1096, None)
    with tempfile.TemporaryDirectory(prefix="capcast-serving-") as folder, open(Path(folder) / "serve.log", "w") as log:
        home = Path(folder) / "home"
        sample = trained_home(home, *shape)
        loads, starts, bodies = measure(home, sample, args.workers, requests, log)
        floors = floor_rows(home, bodies, loads, 20 if args.quick else 100)
        if args.large:
            starts += large_rows(Path(folder) / "large", args.workers, log)
    print_table("Forecast API over HTTP on 127.0.0.1", loads)
    print_table("In-process floor (median of one request's work)", floors)
    print_table("Start and memory", starts)
    path = write_result("serving", command, {"loads": loads, "floors": floors, "starts": starts})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
