"""How fast the planner page is ready (issue 11, "Tests and evidence"): navigation to charts drawn.

A real ``capcast serve`` on a temporary CAPCAST_HOME (a small sample trained with
few trees, as the tests do) shows two stored plans in headless Chromium (Debian's
``/usr/bin/chromium`` through Playwright):

- sample: the plan the service makes by itself for the sample site (4 lines x 14
  days x 3 shifts), with its forecast bands and recent actuals;
- large: the large benchmark site (``benchmarks.planning_instances``, 30 lines x 56
  days x 3 shifts), planned by ``planning.recommend`` from one pseudo-series per
  family (mean = the instance's demand, quantiles q2.5..q97.5 at 15% spread, 28 days
  of actuals before it) with a CP-SAT time limit, and stored in the service's database.

A load is the time from navigation start to ``performance.mark("capcast-ready-plan")``,
which the page sets once every chart of the plan is drawn (``data-ready="plan"``).
Each load runs in a new browser context, so nothing is cached (Plotly.js, 4.8 MB,
is fetched and parsed every time); "reload" loads reuse one context's cache. One
load of each plan before them is not counted.
Target: the large plan ready within 2 s.

    python -m benchmarks.page                          # 10 loads each, the large plan solved for 15 s
    python -m benchmarks.page --quick                  # 3 loads each, 10 s solve
    python -m benchmarks.page --screenshots docs/images   # also overview.png and schedule.png of the sample plan
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from benchmarks.chromium import CHROMIUM, CHROMIUM_ARGS, VIEWPORT
from benchmarks.common import print_table, start, write_result
from benchmarks.planning_instances import make_instance
from benchmarks.service_process import running_service
from capcast import database
from features.generate import SampleConfig, write_sample
from features.io import load_panel
from planning import DemandBasis, Lineage, SolverSettings, recommend, rows_digest, site_digest
from planning.store import PlanStore
from training.tracking import TrackingConfig
from training.train import TrainConfig, train

TARGET_LARGE_S = 2.0
SPREAD = 0.15  # standard deviation of the pseudo-forecast, as a share of its mean
QUANTILES = {"q2.5": -1.959964, "q10": -1.281552, "q50": 0.0, "q90": 1.281552, "q97.5": 1.959964}
HISTORY_DAYS = 28
SAMPLE = SampleConfig(products=6, locations=2, days=240)
READY_TIMEOUT_MS = 60_000


def trained_home(home: Path) -> None:
    """A CAPCAST_HOME with a small trained model and the sample site, as tests/conftest.py makes it."""
    sample = home / "sample"
    write_sample(sample, seed=7, config=SAMPLE)
    config = TrainConfig(horizon=14, n_estimators=60, num_threads=1)
    train(load_panel(sample), TrackingConfig.embedded(home), config, source=str(sample))


def large_plan(home: Path, time_limit_s: float) -> tuple[str, dict]:
    """Plan the large benchmark site from a pseudo-forecast of its demand and store the plan in the
    home's database; returns the plan's id and what it is made of."""
    instance = make_instance("large")
    rows, history = [], []
    for family, units in instance.demand.units.items():
        for day, mean in zip(instance.demand.days, units):
            sd = SPREAD * mean
            quantiles = {name: max(0.0, mean + z * sd) for name, z in QUANTILES.items()}
            rows.append({"unique_id": f"{family}-all", "family": family, "ds": day, "mean": float(mean), **quantiles})
        for back in range(HISTORY_DAYS, 0, -1):  # actuals: the first planned week's demand of the same weekday
            day = instance.demand.days[0] - timedelta(days=back)
            history.append({"unique_id": f"{family}-all", "family": family, "ds": day, "y": float(units[-back % 7])})
    basis = DemandBasis(service_level=0.95)
    settings = SolverSettings(time_limit_s=time_limit_s, workers=2, seed=0)
    started = time.perf_counter()
    plan = recommend(rows, instance.site, basis, settings, history=history)
    solve_s = time.perf_counter() - started
    lineage = Lineage(
        forecast=f"file benchmarks.page pseudo-forecast sha256:{rows_digest(rows)}",
        site=instance.site.name,
        site_sha256=site_digest(instance.site),
        service_level=basis.service_level,
        level_error=basis.level_error,
        horizon=instance.days,
        solver={k: v for k, v in vars(settings).items() if isinstance(v, int | float | bool)},
        made_by="benchmarks.page",
    )
    engine = database.engine(f"sqlite:///{home / 'capcast.db'}")
    database.upgrade(engine)
    stored = PlanStore(engine).add(plan, lineage.model_dump(mode="json"), by="benchmarks.page")
    engine.dispose()
    shape = f"{instance.lines} lines x {instance.days} days x {len(instance.site.shifts)} shifts"
    return stored.id, {"shape": shape, "solve_s": round(solve_s, 1), "solver_status": plan.solver.status}


def first_plan(base: str, timeout_s: float = 120.0) -> str:
    """The id of the plan the service made by itself for its site."""
    site = httpx.get(f"{base}/site", timeout=10).json()["name"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        plans = httpx.get(f"{base}/plans", params={"site": site}, timeout=10).json()
        if plans:
            return plans[-1]["id"]
        jobs = httpx.get(f"{base}/plan-jobs", timeout=10).json()
        failed = [j for j in jobs if j["status"] in ("failed", "cancelled", "interrupted")]
        if failed and not any(j["status"] in ("queued", "running") for j in jobs):
            raise RuntimeError(f"the service's first plan job ended {failed[0]['status']}: {failed[0]['error']}")
        time.sleep(0.5)
    raise RuntimeError(f"the service made no plan within {timeout_s:g} s")


def launch(playwright):
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: install the Debian package chromium (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def ready_after_s(page, url: str) -> float:
    """Navigate to ``url`` and return the seconds from navigation start until the page marked the plan ready."""
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready === 'plan'", timeout=READY_TIMEOUT_MS)
    alerts = page.inner_text("#alerts").strip()
    if alerts:
        raise RuntimeError(f"the page showed an error for {url}: {alerts}")
    return page.evaluate("performance.getEntriesByName('capcast-ready-plan').at(-1).startTime") / 1000.0


def measure(browser, url: str, loads: int) -> dict:
    """``loads`` cold loads (a new context each) and as many reloads in one context, after one load
    that is not counted (the service's first answers for a plan warm its own caches)."""
    cold, warm = [], []
    context = browser.new_context(viewport=VIEWPORT)
    ready_after_s(context.new_page(), url)
    context.close()
    for _ in range(loads):
        context = browser.new_context(viewport=VIEWPORT)
        cold.append(ready_after_s(context.new_page(), url))
        context.close()
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    ready_after_s(page, url)
    for _ in range(loads):
        warm.append(ready_after_s(page, url))
    context.close()
    return {"cold": cold, "warm": warm}


def screenshots(browser, url: str, out: Path) -> list[Path]:
    """The overview and the schedule of the plan at ``url``, as a planner's laptop shows them."""
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready === 'plan'", timeout=READY_TIMEOUT_MS)
    written = [out / "overview.png", out / "schedule.png"]
    page.screenshot(path=str(written[0]))
    page.click("#tab-schedule")
    page.wait_for_timeout(200)
    page.screenshot(path=str(written[1]))
    context.close()
    return written


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 loads per plan, the large plan solved for 10 s")
    parser.add_argument("--loads", type=int, default=None, help="loads per plan (default 10, 3 with --quick)")
    parser.add_argument("--solve-seconds", type=float, default=None, help="CP-SAT limit of the large plan")
    parser.add_argument("--screenshots", type=Path, default=None, help="write overview.png and schedule.png here")
    return parser


def _row(name: str, shape: str, kind: str, seconds: list[float], target: float | None) -> dict:
    median = statistics.median(seconds)
    return {
        "plan": name,
        "size": shape,
        "loads": kind,
        "n": len(seconds),
        "median s": round(median, 3),
        "min s": round(min(seconds), 3),
        "max s": round(max(seconds), 3),
        "target": "–" if target is None else f"≤ {target:g} s: {'met' if median <= target else 'MISSED'}",
    }


def main(argv: list[str] | None = None) -> None:
    args, command = start(parser(), __spec__.name, argv)
    loads = args.loads or (3 if args.quick else 10)
    solve_seconds = args.solve_seconds or (10.0 if args.quick else 15.0)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="capcast-page-") as tmp:
        home = Path(tmp)
        print("training a small model ...", flush=True)
        trained_home(home)
        print(f"planning the large site for {solve_seconds:g} s ...", flush=True)
        large_id, large = large_plan(home, solve_seconds)
        with running_service(home, env={"CAPCAST_PLAN_TIME_LIMIT_S": "5"}) as base:
            sample_id = first_plan(base)
            sizes = {}
            for name, plan_id in (("sample", sample_id), ("large", large_id)):
                sizes[name] = len(httpx.get(f"{base}/plans/{plan_id}", timeout=30).content)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                results = {
                    "sample": measure(browser, f"{base}/ui/?plan={sample_id}", loads),
                    "large": measure(browser, f"{base}/ui/?plan={large_id}", loads),
                }
                written = []
                if args.screenshots:
                    written = screenshots(browser, f"{base}/ui/?plan={sample_id}", args.screenshots)
                browser.close()
    shapes = {"sample": "4 lines x 14 days x 3 shifts (sample site)", "large": large["shape"]}
    rows = [
        _row(name, shapes[name], kind, results[name][key], TARGET_LARGE_S if name == "large" else None)
        for name in ("sample", "large")
        for kind, key in (("new context", "cold"), ("reload", "warm"))
    ]
    print_table("page ready: navigation start → every chart of the plan drawn (headless Chromium, 1280x800)", rows)
    kilobytes = {name: f"{size / 1e3:,.0f} kB" for name, size in sizes.items()}
    print(f"plan JSON: sample {kilobytes['sample']}, large {kilobytes['large']}; large plan {large}")
    for path in written:
        print(f"screenshot: {path}")
    write_result(
        "page",
        command,
        {"ready": rows},
        {
            "raw_seconds": results,
            "plan_json_bytes": sizes,
            "large_plan": large,
            "screenshots": [str(p) for p in written],
            "browser": str(CHROMIUM),
        },
    )


if __name__ == "__main__":
    main()
