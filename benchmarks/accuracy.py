"""Accuracy of capcast's forecasts against seasonal naive and mlforecast anchors on real data.

M5 subset (280 item-store series, daily): window W1 trains through d_1913 and
forecasts d_1914-d_1941; W2 trains through d_1941 and forecasts d_1942-d_1969.
Scores: WRMSSE (M5 weights: dollar sales of the last 28 training days),
mean RMSSE, WAPE, bias, coverage and width (relative to mean demand) of the
80% and 95% intervals where a model gives them, pinball loss, fit and
predict wall time, and WRMSSE per category.

Bike sharing (UCI, hourly, one series; missing hours count as zero rentals):
four weekly origins from 2012-10-01 00:00, 168-hour horizon, no weather.

M5 levels (``--levels``, issue 15): the subset at every level of its hierarchy
(``benchmarks.m5_levels``: total, state, store, category, department, their
crossings, item-store), window W1; WAPE, mean RMSSE, bias and bands per level,
coverage per volume decile. M5 weekly (``--weekly``): weekly sums of the
item-store series (Saturday-Friday weeks), 12 weeks ending on or before d_1941.

Data come from ``../shared/data`` beside the project (see its README); nothing
here is tuned: every configuration is scored once per window.

    python -m benchmarks.accuracy            # M5 W1 + W2 (280 series), bike 4 origins
    python -m benchmarks.accuracy --quick    # 40 series, W1 only, bike 1 origin
    python -m benchmarks.accuracy --skip-m5  # bike sharing only (--skip-bike: M5 only)
    python -m benchmarks.accuracy --folds    # capcast with and without exogenous columns and price
                                             # changes, and a simple ensemble, on the two folds
                                             # before W1, where those choices are made
    python -m benchmarks.accuracy --levels --weekly --skip-m5 --skip-bike
                                             # the M5 levels and weekly benchmarks alone
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmarks import m5_levels
from benchmarks.anchors import DAILY_ANCHOR, AnchorRecipe, daily_best_anchor, hourly_anchor, weekly_anchor
from benchmarks.common import print_table, start, write_result
from benchmarks.m5 import DATA, QUICK_SERIES, m5_day, m5_panel
from features.loaders import EVENT_TYPES, read_bike_hourly
from features.pipeline import FeatureSpec
from models import metrics
from models.base import Forecaster
from models.baselines import LocalForecaster, SeasonalNaive
from models.hierarchy import HierarchicalForecaster
from models.lgbm import LightGBMForecaster

LEVELS = (80, 95)
M5_EXOGENOUS = ("sell_price", "snap", "event", *(f"event_{t}" for t in EVENT_TYPES))
CATEGORIES = ("FOODS", "HOBBIES", "HOUSEHOLD")
BIKE_HORIZON = 168
WEEKLY_HORIZON = 12


@dataclass(frozen=True)
class Window:
    """A test window: train through day ``last_train_day`` (M5 ``d_`` number), forecast ``horizon`` days."""

    name: str
    last_train_day: int
    horizon: int = 28


M5_WINDOWS = (Window("W1", 1913), Window("W2", 1941))
# Folds ending at W1's origin: where configuration choices are made, never on W1/W2.
M5_FOLDS = (Window("F1", 1857), Window("F2", 1885))


@dataclass(frozen=True)
class Run:
    """One model's forecast for one window, with its wall times in seconds."""

    forecast: pd.DataFrame
    fit_s: float
    predict_s: float


# A contender takes (train panel, future rows with known exogenous values, horizon) and returns a Run.
Contender = Callable[[pd.DataFrame, pd.DataFrame, int], Run]


def _forecaster(make: Callable[[], Forecaster]) -> Contender:
    def run(train: pd.DataFrame, future: pd.DataFrame, horizon: int) -> Run:
        started = time.perf_counter()
        model = make().fit(train)
        fitted = time.perf_counter()
        # Known-future values (price, calendar) of the forecast periods, as a caller would send them.
        forecast = model.predict(horizon, future=model.known_future(future))
        return Run(forecast, fitted - started, time.perf_counter() - fitted)

    return run


def _anchor(recipe: AnchorRecipe, threads: int) -> Contender:
    def run(train: pd.DataFrame, future: pd.DataFrame, horizon: int) -> Run:
        started = time.perf_counter()
        mlf = recipe.fit(train, threads=threads)
        fitted = time.perf_counter()
        forecast = recipe.predict(mlf, horizon, future)
        return Run(forecast, fitted - started, time.perf_counter() - fitted)

    return run


def m5_contenders(threads: int) -> dict[str, Contender]:
    return {
        "seasonal naive (7)": _forecaster(lambda: SeasonalNaive(season_length=7, levels=LEVELS)),
        **{
            f"statsforecast {method}": _forecaster(
                lambda method=method: LocalForecaster(method, season_length=7, levels=LEVELS, horizon=28)
            )
            for method in ("croston_optimized", "adida", "imapa", "auto_ets")
        },
        "anchor recipe": _anchor(DAILY_ANCHOR, threads),
        "best anchor (exog)": _anchor(daily_best_anchor(M5_EXOGENOUS), threads),
        "capcast LightGBMForecaster": _forecaster(
            lambda: LightGBMForecaster(horizon=28, levels=LEVELS, num_threads=threads)
        ),
    }


def bike_contenders(threads: int) -> dict[str, Contender]:
    return {
        "seasonal naive (168)": _forecaster(lambda: SeasonalNaive(season_length=BIKE_HORIZON, levels=LEVELS)),
        # statsforecast's ETS takes seasons of at most 24 periods: the daily cycle.
        "statsforecast auto_ets (24)": _forecaster(
            lambda: LocalForecaster("auto_ets", season_length=24, levels=LEVELS)
        ),
        "hourly anchor (no weather)": _anchor(hourly_anchor(), threads),
        "capcast LightGBMForecaster": _forecaster(
            lambda: LightGBMForecaster(horizon=BIKE_HORIZON, levels=LEVELS, num_threads=threads)
        ),
    }


def _interval_figures(actual: pd.DataFrame, forecast: pd.DataFrame) -> dict[str, float | str]:
    return m5_levels.band_figures(actual, forecast, LEVELS)


def _pinball(actual: pd.DataFrame, forecast: pd.DataFrame) -> dict[str, float]:
    quantiles = sorted({0.5, *(q / 100 for level in LEVELS for q in (50 - level / 2, 50 + level / 2))})
    if not all(f"q{100 * q:g}" in forecast.columns for q in quantiles):
        return {}
    return {f"q{100 * q:g}": loss for q, loss in metrics.pinball_loss(actual, forecast, quantiles).items()}


def _mean_of(first: Contender, second: Contender) -> Contender:
    """A simple ensemble: the mean of two contenders' point forecasts (bands are the first's)."""

    def run(train: pd.DataFrame, future: pd.DataFrame, horizon: int) -> Run:
        a, b = first(train, future, horizon), second(train, future, horizon)
        other = b.forecast.set_index(["unique_id", "ds"])["mean"]
        combined = a.forecast.assign(
            mean=0.5 * (a.forecast["mean"] + a.forecast.set_index(["unique_id", "ds"]).index.map(other))
        )
        return Run(combined, a.fit_s + b.fit_s, a.predict_s + b.predict_s)

    return run


def fold_contenders(threads: int) -> dict[str, Contender]:
    capcast = _forecaster(lambda: LightGBMForecaster(horizon=28, levels=LEVELS, num_threads=threads))
    return {
        "capcast, no exogenous": _forecaster(
            lambda: LightGBMForecaster(
                horizon=28, levels=LEVELS, num_threads=threads, features=FeatureSpec(exogenous=())
            )
        ),
        "capcast, exogenous": capcast,
        "capcast, exogenous + price changes": _forecaster(
            lambda: LightGBMForecaster(
                horizon=28, levels=LEVELS, num_threads=threads, features=FeatureSpec(price_changes=True)
            )
        ),
        "mean of capcast (exogenous) and ADIDA": _mean_of(
            capcast, _forecaster(lambda: LocalForecaster("adida", levels=LEVELS, horizon=28))
        ),
    }


def run_m5(
    data: Path, windows: tuple[Window, ...], series: int | None, threads: int, contenders: Callable = m5_contenders
) -> tuple[list, list, dict]:
    """Score every M5 contender on every window; returns (rows, category rows, pinball losses)."""
    panel = m5_panel(data, series)
    day = m5_day(data)
    categories = panel.drop_duplicates("unique_id").set_index("unique_id")["cat_id"]
    rows, category_rows, pinball = [], [], {}
    for window in windows:
        cutoff = day(window.last_train_day)
        end = cutoff + pd.Timedelta(days=window.horizon)
        train = panel[panel["ds"] <= cutoff]
        test = panel[(panel["ds"] > cutoff) & (panel["ds"] <= end)]
        weights = metrics.dollar_sales_weights(train, price_column="sell_price", days=28)
        for name, contender in contenders(threads).items():
            run = contender(train, test.drop(columns="y"), window.horizon)
            forecast = run.forecast
            rows.append(
                {
                    "window": window.name,
                    "model": name,
                    "wrmsse": metrics.wrmsse(test, forecast, train, weights),
                    "mean_rmsse": metrics.mean_rmsse(test, forecast, train),
                    "wape": metrics.wape(test, forecast),
                    "bias": metrics.bias(test, forecast),
                    **_interval_figures(test, forecast),
                    "fit_s": round(run.fit_s, 2),
                    "predict_s": round(run.predict_s, 2),
                }
            )
            by_category = metrics.wrmsse_by_group(test, forecast, train, weights, categories)
            category_rows.append(
                {"window": window.name, "model": name, **{c: by_category.get(c, "-") for c in CATEGORIES}}
            )
            pinball[f"{window.name} {name}"] = _pinball(test, forecast)
            print_table(f"M5 {window.name}: {name}", [rows[-1]])
    return rows, category_rows, pinball


def run_bike(data: Path, origins: pd.DatetimeIndex, threads: int) -> tuple[list, dict]:
    """Score every bike contender over the origins, pooling the forecast weeks."""
    panel = read_bike_hourly(data / "hour.csv.gz", missing_hours="zero", weather=False)
    horizon = pd.Timedelta(hours=BIKE_HORIZON)
    rows, per_origin = [], {}
    for name, contender in bike_contenders(threads).items():
        actuals, forecasts, trains, fit_s, predict_s = [], [], [], 0.0, 0.0
        for number, origin in enumerate(origins):
            train = panel[panel["ds"] < origin]
            test = panel[(panel["ds"] >= origin) & (panel["ds"] < origin + horizon)]
            run = contender(train, test.drop(columns="y"), BIKE_HORIZON)
            # One pseudo-series per origin, so pooled metrics keep each week's own scale.
            tag = f"#{number + 1}"
            actuals.append(test.assign(unique_id=test["unique_id"] + tag))
            forecasts.append(run.forecast.assign(unique_id=run.forecast["unique_id"] + tag))
            trains.append(train.assign(unique_id=train["unique_id"] + tag))
            fit_s, predict_s = fit_s + run.fit_s, predict_s + run.predict_s
            per_origin[f"{name} {origin:%Y-%m-%d}"] = metrics.wape(test, run.forecast)
        actual, forecast, train = pd.concat(actuals), pd.concat(forecasts), pd.concat(trains)
        rows.append(
            {
                "model": name,
                "wape": metrics.wape(actual, forecast),
                "mean_rmsse": metrics.mean_rmsse(actual, forecast, train),
                "bias": metrics.bias(actual, forecast),
                **_interval_figures(actual, forecast),
                "fit_s": round(fit_s / len(origins), 2),
                "predict_s": round(predict_s / len(origins), 2),
            }
        )
        print_table(f"bike: {name}", [rows[-1]])
    return rows, per_origin


def _hierarchical(
    make_base: Callable[[], Forecaster], bottom_ids: pd.Index, shared: dict
) -> Callable[[str], Contender]:
    """``models.hierarchy.HierarchicalForecaster`` contenders, one per reconciliation method, fit on the
    item-store rows of the levels panel. They share one fit per training panel: the method acts only at
    predict (``HierarchicalForecaster._reconcile``), so a later contender sets its method on that fit;
    each row reports the shared fit's time. ``shared[method]`` keeps each method's last forecast."""

    def contender(method: str) -> Contender:
        def run(train: pd.DataFrame, future: pd.DataFrame, horizon: int) -> Run:
            bottom = train[train["unique_id"].isin(bottom_ids)]
            if shared.get("train") is not train:
                started = time.perf_counter()
                model = HierarchicalForecaster(base=make_base(), hierarchy=m5_levels.HIERARCHY, levels=LEVELS)
                shared.update(train=train, model=model.fit(bottom), fit_s=time.perf_counter() - started)
            model = shared["model"].set_params(method=method)
            started = time.perf_counter()
            forecast = model.predict(horizon, future=model.known_future(future[future["unique_id"].isin(bottom_ids)]))
            shared[method] = forecast
            return Run(forecast, shared["fit_s"], time.perf_counter() - started)

        return run

    return contender


def _item_bottom_up(
    make: Callable[[], Forecaster], summing: pd.DataFrame, direct: Callable[[], pd.DataFrame]
) -> Contender:
    """Bottom-up from a model of the item-store series alone: its forecasts summed to every level. The sums
    have no bands of their own: an aggregate's are the direct forecast's (``direct()``, run before) moved
    by the change of its mean, as ``HierarchicalForecaster`` moves a reconciled row's."""
    items_only = _forecaster(make)

    def run(train: pd.DataFrame, future: pd.DataFrame, horizon: int) -> Run:
        items = items_only(
            train[train["unique_id"].isin(summing.columns)],
            future[future["unique_id"].isin(summing.columns)],
            horizon,
        )
        started = time.perf_counter()
        points = m5_levels.bottom_up_points(items.forecast, summing)
        aggregates = points[~points["unique_id"].isin(summing.columns)]
        banded = m5_levels.shifted_bands(aggregates, direct())
        forecast = pd.concat([items.forecast, banded], ignore_index=True)
        return Run(forecast, items.fit_s, items.predict_s + time.perf_counter() - started)

    return run


def levels_contenders(levels: m5_levels.LevelsPanel, threads: int) -> dict[str, Contender]:
    """Contenders on every level's series, run in this order (the item model's bottom-up reads the direct
    forecast). The capcast hierarchy rows share one fit of the same LightGBMForecaster configuration
    as the item-level benchmark."""

    def capcast() -> LightGBMForecaster:
        return LightGBMForecaster(horizon=28, levels=LEVELS, num_threads=threads)

    shared: dict = {}
    hierarchical = _hierarchical(capcast, levels.summing.columns, shared)
    return {
        "seasonal naive (7)": _forecaster(lambda: SeasonalNaive(season_length=7, levels=LEVELS)),
        # The same known-future columns as capcast, and the statics that tell the levels apart.
        "best anchor (exog)": _anchor(daily_best_anchor(M5_EXOGENOUS, static=m5_levels.STATICS), threads),
        # One LightGBMForecaster on every level's series, unreconciled.
        "capcast direct": hierarchical("none"),
        "capcast bottom-up": hierarchical("bottom_up"),
        "capcast MinT": hierarchical("mint_shrink"),
        "capcast bottom-up, item model": _item_bottom_up(capcast, levels.summing, lambda: shared["none"]),
    }


def _level_targets(rows: list[dict], anchor: str = "best anchor (exog)") -> list[dict]:
    """Issue 15's level targets per capcast contender and level: WAPE and mean RMSSE below the anchor's,
    80% and 95% coverage within 5 points."""
    anchors = {row["level"]: row for row in rows if row["model"] == anchor}
    targets = []
    for row in rows:
        if not row["model"].startswith("capcast"):
            continue
        against = anchors[row["level"]]
        off = {level: row[f"cov{level}"] - level / 100 for level in LEVELS if row[f"cov{level}"] != "-"}
        targets.append(
            {
                "level": row["level"],
                "model": row["model"],
                "wape": row["wape"],
                "anchor_wape": against["wape"],
                "rmsse": row["mean_rmsse"],
                "anchor_rmsse": against["mean_rmsse"],
                "beats_anchor": "yes"
                if row["wape"] < against["wape"] and row["mean_rmsse"] < against["mean_rmsse"]
                else "no",
                **{f"cov{level}_off": value for level, value in off.items()},
                "coverage_within_5": "yes" if all(abs(v) <= 0.05 for v in off.values()) else "no",
            }
        )
    return targets


def run_levels(data: Path, series: int | None, threads: int) -> dict[str, list[dict]]:
    """Score the levels contenders on W1 (d_1914-d_1941): rows per level, per volume decile, targets, times."""
    levels = m5_levels.levels_panel(m5_panel(data, series))
    window = M5_WINDOWS[0]
    cutoff = m5_day(data)(window.last_train_day)
    panel = levels.panel
    train = panel[panel["ds"] <= cutoff]
    test = panel[(panel["ds"] > cutoff) & (panel["ds"] <= cutoff + pd.Timedelta(days=window.horizon))]
    deciles = m5_levels.volume_deciles(train)
    bottom = levels.level.index[levels.level == m5_levels.BOTTOM]
    items, item_test = train[train["unique_id"].isin(bottom)], test[test["unique_id"].isin(bottom)]
    weights = metrics.dollar_sales_weights(items, price_column="sell_price", days=28)
    level_rows, decile_rows, times = [], [], []
    for name, contender in levels_contenders(levels, threads).items():
        run = contender(train, test.drop(columns="y"), window.horizon)
        rows = m5_levels.level_rows(name, test, run.forecast, train, levels.level, LEVELS)
        level_rows += rows
        decile_rows += m5_levels.decile_rows(name, test, run.forecast, deciles, LEVELS)
        times.append(
            {
                "model": name,
                "item_store_wrmsse": metrics.wrmsse(item_test, run.forecast, items, weights),
                "fit_s": round(run.fit_s, 2),
                "predict_s": round(run.predict_s, 2),
            }
        )
        print_table(f"M5 levels {window.name}: {name}", rows)
    return {
        "levels": level_rows,
        "deciles": decile_rows,
        "targets": _level_targets(level_rows),
        "times": times,
    }


def weekly_contenders(threads: int) -> dict[str, Contender]:
    return {
        "seasonal naive (52)": _forecaster(lambda: SeasonalNaive(season_length=52, levels=LEVELS)),
        "weekly anchor (exog)": _anchor(weekly_anchor(M5_EXOGENOUS), threads),
        "capcast LightGBMForecaster": _forecaster(
            lambda: LightGBMForecaster(horizon=WEEKLY_HORIZON, levels=LEVELS, num_threads=threads)
        ),
    }


def run_weekly(data: Path, series: int | None, threads: int, last_day: int = 1941) -> list[dict]:
    """Score the weekly contenders on the ``WEEKLY_HORIZON`` complete weeks ending on or before
    ``d_<last_day>``, trained on every week before them."""
    weekly = m5_levels.weekly_panel(m5_panel(data, series))
    weeks = sorted(weekly.loc[weekly["ds"] <= m5_day(data)(last_day), "ds"].unique())[-WEEKLY_HORIZON:]
    train = weekly[weekly["ds"] < weeks[0]]
    test = weekly[weekly["ds"].isin(weeks)]
    # M5 weights over the last 4 training weeks: the 28 days of the daily benchmark.
    weights = metrics.dollar_sales_weights(train, price_column="sell_price", days=4)
    rows = []
    for name, contender in weekly_contenders(threads).items():
        run = contender(train, test.drop(columns="y"), WEEKLY_HORIZON)
        rows.append(
            {
                "weeks": f"{weeks[0]:%Y-%m-%d}..{weeks[-1]:%Y-%m-%d}",
                "model": name,
                "wrmsse": metrics.wrmsse(test, run.forecast, train, weights),
                "mean_rmsse": metrics.mean_rmsse(test, run.forecast, train),
                "wape": metrics.wape(test, run.forecast),
                "bias": metrics.bias(test, run.forecast),
                **_interval_figures(test, run.forecast),
                "fit_s": round(run.fit_s, 2),
                "predict_s": round(run.predict_s, 2),
            }
        )
        print_table(f"M5 weekly: {name}", [rows[-1]])
    return rows


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SERIES} M5 series, W1 only, one bike origin")
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding m5_subset/ and bike_sharing/")
    parser.add_argument("--threads", type=int, default=2, help="LightGBM threads on M5")
    # On 15k rows two OpenMP threads on shared cores ran 7x to 300x slower than one (measured here).
    parser.add_argument("--bike-threads", type=int, default=1, help="LightGBM threads on the bike series")
    parser.add_argument("--skip-bike", action="store_true", help="M5 only")
    parser.add_argument("--skip-m5", action="store_true", help="bike sharing only")
    parser.add_argument(
        "--folds", action="store_true", help="capcast with/without exogenous columns on the folds before W1"
    )
    parser.add_argument("--levels", action="store_true", help="also the M5 subset at every level of its hierarchy, W1")
    parser.add_argument("--weekly", action="store_true", help="also the M5 subset as weekly sums, 12 weeks")
    # 78k weekly rows: small enough for the same slowdown as the bike series (69 s for the anchor's fit on
    # 40 weekly series with 2 threads, here).
    parser.add_argument("--weekly-threads", type=int, default=1, help="LightGBM threads on the weekly sums")
    return parser


def main(argv: list[str] | None = None) -> None:
    args, command = start(parser(), __spec__.name, argv)
    if args.folds:
        rows, category_rows, _ = run_m5(args.data / "m5_subset", M5_FOLDS, None, args.threads, fold_contenders)
        print_table("M5 folds before W1 (F1: d_1858-d_1885, F2: d_1886-d_1913)", rows)
        write_result("accuracy_folds", command, {"m5_folds": rows, "m5_fold_categories": category_rows})
        return

    tables, extra = {}, {}
    if not args.skip_m5:
        windows = M5_WINDOWS[:1] if args.quick else M5_WINDOWS
        m5_rows, category_rows, pinball = run_m5(
            args.data / "m5_subset", windows, QUICK_SERIES if args.quick else None, args.threads
        )
        print_table("M5 subset: accuracy (coverage/width of 80% and 95% intervals; width / mean demand)", m5_rows)
        print_table("M5 subset: WRMSSE per category", category_rows)
        tables |= {"m5": m5_rows, "m5_categories": category_rows}
        extra |= {"m5_pinball_units": pinball, "m5_series": "all 280" if not args.quick else QUICK_SERIES}
    if not args.skip_bike:
        origins = pd.date_range("2012-10-01", periods=1 if args.quick else 4, freq="7D")
        bike_rows, per_origin = run_bike(args.data / "bike_sharing", origins, args.bike_threads)
        print_table(f"bike hourly: {len(origins)} weekly origins, {BIKE_HORIZON} h, pooled", bike_rows)
        tables["bike"] = bike_rows
        extra["bike_wape_per_origin"] = per_origin
    if not (args.skip_m5 and args.skip_bike):
        write_result("accuracy", command, tables, extra=extra)
    series = QUICK_SERIES if args.quick else None
    if args.levels:
        levels = run_levels(args.data / "m5_subset", series, args.threads)
        print_table("M5 levels W1 (d_1914-d_1941): per level", levels["levels"])
        print_table(
            "M5 levels W1: per volume decile (all levels' series, mean demand of the last 28 days)", levels["deciles"]
        )
        print_table(
            "M5 levels W1: issue 15 targets (WAPE and RMSSE below the anchor; coverage within 5 points)",
            levels["targets"],
        )
        print_table("M5 levels W1: item-store WRMSSE and wall time, s", levels["times"])
        write_result("accuracy_levels", command, levels, extra={"m5_series": series or "all 280"})
    if args.weekly:
        weekly_rows = run_weekly(args.data / "m5_subset", series, args.weekly_threads)
        print_table(f"M5 weekly sums: {WEEKLY_HORIZON} weeks", weekly_rows)
        write_result("accuracy_weekly", command, {"weekly": weekly_rows}, extra={"m5_series": series or "all 280"})


if __name__ == "__main__":
    main()
