"""Decision quality on real demand: plan M5 days 1914-1941 from forecasts made at day 1913,
then run each plan against what was actually sold.

The 280 M5 item-store series (../shared/data/m5_subset) are aggregated to their 7
departments, which play the product families; a 7-line site is sized from the
training demand by capcast's own site generator (capacity at normal speed about
twice the recent average demand). Plans compared, all from the same CP-SAT
settings:

- capcast: LightGBM forecast (mlforecast, calibrated 80% and 95% bands), service level 0.95,
  with the family level error the forecaster measured on its backtest windows;
- capcast with independent errors: the same forecast, level error 0;
- seasonal naive: statsforecast's seasonal naive with its normal band, service level 0.95;
- capcast mean: the LightGBM mean forecast, no safety margin;
- perfect information: the realised demand itself.

Each plan's shifts execute as planned; stock, backlog and lost sales follow real demand.

    python -m benchmarks.decision              # 30 s per plan
    python -m benchmarks.decision --quick      # 5 s per plan
    python -m benchmarks.decision --deterministic   # same plans whatever the machine load
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from benchmarks.common import add_deterministic_flag, print_table, start, write_result
from benchmarks.m5 import add_m5_arguments, m5_day, m5_panel
from features.generate import generate_site
from models.baselines import SeasonalNaive
from models.lgbm import LightGBMForecaster
from planning import Demand, Site, SolverSettings, demand_from_forecast, service_level_demand, simulate, solve

LAST_TRAIN_DAY, HORIZON, SERVICE_LEVEL = 1913, 28, 0.95


def _rows(forecast: pd.DataFrame, family_of: pd.Series) -> list[dict]:
    return forecast.assign(family=forecast["unique_id"].map(family_of)).to_dict("records")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s per plan instead of --time-limit")
    parser.add_argument("--time-limit", type=float, default=30.0, help="CP-SAT seconds per plan")
    add_m5_arguments(parser)
    add_deterministic_flag(parser)
    return parser


def main(argv: list[str] | None = None) -> None:
    args, command = start(parser(), __spec__.name, argv)
    time_limit = 5.0 if args.quick else args.time_limit

    panel = m5_panel(args.data)
    panel = panel.assign(family=panel["dept_id"])
    cutoff = m5_day(args.data)(LAST_TRAIN_DAY)
    train = panel[panel["ds"] <= cutoff]
    test = panel[(panel["ds"] > cutoff) & (panel["ds"] <= cutoff + pd.Timedelta(days=HORIZON))]
    family_of = panel.drop_duplicates("unique_id").set_index("unique_id")["family"]
    site = Site.model_validate(generate_site(train, lines=7, seed=0))

    started = time.perf_counter()
    forecaster = LightGBMForecaster(horizon=HORIZON, num_threads=args.threads).fit(train)
    # Prices, SNAP days and events of the planned days are known when the plan is made.
    lgbm = forecaster.predict(HORIZON, future=forecaster.known_future(test))
    level_error = forecaster.family_level_error_
    lgbm_s = time.perf_counter() - started
    naive = SeasonalNaive(season_length=7).fit(train).predict(HORIZON)
    actual = demand_from_forecast(test.rename(columns={"y": "mean"}).to_dict("records"), "mean")
    lgbm_rows = _rows(lgbm, family_of)

    demands: dict[str, Demand] = {
        "capcast (LightGBM, service level 0.95)": service_level_demand(
            lgbm_rows, SERVICE_LEVEL, level_error=level_error
        ),
        "capcast, independent errors (level error 0)": service_level_demand(lgbm_rows, SERVICE_LEVEL),
        "seasonal naive (service level 0.95)": service_level_demand(_rows(naive, family_of), SERVICE_LEVEL),
        "capcast mean forecast (no margin)": demand_from_forecast(lgbm_rows, "mean"),
        "perfect information": actual,
    }
    settings = SolverSettings(time_limit_s=time_limit, workers=2, seed=0, deterministic=args.deterministic)
    rows = []
    for name, demand in demands.items():
        plan = solve(site, demand, settings)
        outcome = simulate(site, plan, actual)
        rows.append(
            {
                "plan": name,
                "planned_units": sum(sum(u) for u in demand.units.values()),
                "status": plan.solver.status,
                "gap": plan.solver.gap,
                "realised_cost": outcome.cost.total,
                "fill_rate": outcome.fill_rate,
                "late_units": outcome.late_units,
                "lost_units": outcome.lost_units,
                "overtime_cost": outcome.cost.overtime,
                "idle_capacity": outcome.idle_capacity,
                "storage_overflow": outcome.storage_overflow_units,
            }
        )
    perfect = rows[-1]["realised_cost"]
    for row in rows:
        row["cost_vs_perfect"] = round(row["realised_cost"] / perfect - 1.0, 4)

    days = f"{LAST_TRAIN_DAY + 1}-{LAST_TRAIN_DAY + HORIZON}"
    title = f"M5 days {days}: plans run against realised demand ({time_limit:g} s per plan)"
    print_table(title, rows)
    capcast, naive_row = rows[0], rows[2]
    checks = [
        {
            "target": "fill rate >= 97% at service level 0.95",
            "value": capcast["fill_rate"],
            "met": capcast["fill_rate"] >= 0.97,
        },
        {
            "target": "cost within 10% of perfect information",
            "value": capcast["cost_vs_perfect"],
            "met": capcast["cost_vs_perfect"] <= 0.10,
        },
        {
            "target": "cheaper than seasonal naive at equal or higher fill rate",
            "value": round(capcast["realised_cost"] - naive_row["realised_cost"], 2),
            "met": capcast["realised_cost"] < naive_row["realised_cost"]
            and capcast["fill_rate"] >= naive_row["fill_rate"],
        },
    ]
    print_table("targets (issue: capacity recommendations)", checks)
    write_result(
        "decision",
        command,
        {"plans": rows, "targets": checks},
        extra={
            "site": site.model_dump(mode="json"),
            "family_level_error": level_error,
            "lightgbm_fit_predict_s": round(lgbm_s, 2),
            "time_limit_s": time_limit,
            "deterministic": args.deterministic,
        },
    )


if __name__ == "__main__":
    main()
