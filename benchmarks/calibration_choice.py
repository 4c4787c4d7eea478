"""How the calibration scheme of ``models.calibration`` was chosen: candidate schemes scored on
two M5 folds that end before W1 (tests d_1858-d_1885 and d_1886-d_1913).

For each fold: capcast's LightGBM (default features, no exogenous columns: the
configuration of 2026-11-25) makes out-of-sample errors on backtest windows before
the fold's origin (4 windows of 28 days, or 8 windows 7 days apart), and the
point forecast of the fold itself. Each scheme turns the window errors into
80% and 95% bands for the fold; the table gives coverage and width / mean demand.

    python -m benchmarks.calibration_choice
    python -m benchmarks.calibration_choice --quick   # the second fold, 40 series
    python -m benchmarks.calibration_choice --levels  # the per-series schemes on every level (below)

``--levels``: the same two folds on the M5 subset at every level of its hierarchy
(``benchmarks.m5_levels``: a total beside its states, stores, departments and
items, 10 to 60,000 units a day). capcast's LightGBM (default features, the
known-future columns) is fit once per fold; its calibration-window errors are
then calibrated four ways (``models.calibration.ScaledConformal``): one pool on
the Poisson scale (the scheme before issue 15), with each series' dispersion,
per volume bucket, and both (the scheme chosen). The table gives the lowest and
highest 80%/95% coverage over the levels and over the volume deciles.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import pandas as pd
from mlforecast import MLForecast

from benchmarks.common import print_table, start, write_result
from benchmarks.m5 import add_m5_arguments, m5_inputs
from benchmarks.m5_levels import decile_rows, level_rows, levels_panel, volume_deciles
from features.pipeline import FeatureSpec, static_columns, training_frame
from models.base import forecast_frame, interval_quantiles
from models.calibration import ScaledConformal, calibration_profiles
from models.lgbm import LightGBMForecaster

FOLDS, HORIZON, LEVELS = (1857, 1885), 28, (80, 95)
LAYOUTS = ((4, 28), (8, 7))  # (windows, days between them)


def _bands(
    errors: pd.DataFrame, test: pd.DataFrame, scale, per_series: bool
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """80/95% bands for ``test`` from window ``errors`` scaled by ``scale(forecast, ids)``."""
    scores = (errors["y"] - errors["lgbm"]) / scale(errors["lgbm"].clip(lower=0), errors["unique_id"])
    point = test["lgbm"].clip(lower=0)
    test_scale = scale(point, test["unique_id"])
    bands = {}
    for level in LEVELS:
        alpha = (1 - level / 100) / 2
        if per_series:
            grouped = scores.groupby(errors["unique_id"])
            lo = test["unique_id"].map(grouped.quantile(alpha)).to_numpy()
            hi = test["unique_id"].map(grouped.quantile(1 - alpha)).to_numpy()
        else:
            lo, hi = np.quantile(scores, [alpha, 1 - alpha])
        bands[level] = (np.clip(point + lo * test_scale, 0, None), np.clip(point + hi * test_scale, 0, None))
    return bands


def _schemes(errors: pd.DataFrame):
    mae = errors.assign(r=(errors["y"] - errors["lgbm"]).abs()).groupby("unique_id")["r"].mean() + 0.05
    ones = lambda p, ids: np.ones(len(p))  # noqa: E731
    yield "absolute errors, pooled", ones, False
    yield "absolute errors, per series", ones, True
    for floor in (0.1, 1.0):
        yield f"errors / sqrt(forecast + {floor:g}), pooled", (lambda p, ids, f=floor: np.sqrt(p.to_numpy() + f)), False
        yield (
            f"errors / sqrt(forecast + {floor:g}), per series",
            (lambda p, ids, f=floor: np.sqrt(p.to_numpy() + f)),
            True,
        )
    yield "errors / (forecast + 0.1), pooled", (lambda p, ids: p.to_numpy() + 0.1), False
    yield "errors / series MAE, pooled", (lambda p, ids: ids.map(mae).to_numpy()), False


class _KeepingErrors(LightGBMForecaster):
    """capcast's LightGBM, keeping the calibration-window errors and training frame it calibrates on."""

    def _calibrate(self, errors: pd.DataFrame, frame: pd.DataFrame, statics: list[str]) -> None:
        self.kept_ = errors, frame[["unique_id", "ds", "y"]]
        super()._calibrate(errors, frame, statics)


def _level_schemes(errors: pd.DataFrame, frame: pd.DataFrame):
    """(name, calibration) for the four ways of calibrating ``errors``, each profile as ``LightGBMForecaster``
    takes it: learned as the series stood at the first window, applied as they stand at the end."""
    before, now = calibration_profiles(frame, errors["cutoff"].min(), "D")
    quantiles = interval_quantiles(LEVELS)
    actual, point, ids = errors["y"].to_numpy(), errors["lgbm"].to_numpy(), errors["unique_id"].astype(str).to_numpy()
    yield "one pool, Poisson scale (before)", ScaledConformal.fit(actual, point, quantiles)
    variants = {
        "one pool, series dispersion": lambda p: p.assign(volume=0.0),
        "volume buckets, Poisson scale": lambda p: p.assign(dispersion=1.0),
        "volume buckets, series dispersion (chosen)": lambda p: p,
    }
    for name, variant in variants.items():
        fitted = ScaledConformal.fit(actual, point, quantiles, ids=ids, profile=variant(before))
        yield name, replace(fitted, profile=variant(now))


def _levels(args: argparse.Namespace, command: str) -> None:
    panel, day = m5_inputs(args)
    levels = levels_panel(panel)
    rows = []
    for last in FOLDS[1:] if args.quick else FOLDS:
        cutoff = day(last)
        train = levels.panel[levels.panel["ds"] <= cutoff]
        test = levels.panel[(levels.panel["ds"] > cutoff) & (levels.panel["ds"] <= cutoff + pd.Timedelta(days=HORIZON))]
        model = _KeepingErrors(horizon=HORIZON, levels=LEVELS, num_threads=args.threads).fit(train)
        point = model.predict(HORIZON, future=model.known_future(test))
        deciles = volume_deciles(train)
        for name, calibration in _level_schemes(*model.kept_):
            bands = calibration.apply(point["mean"].to_numpy(), point["unique_id"].to_numpy())
            forecast = forecast_frame(point, point["mean"].to_numpy(), bands)
            by_level = pd.DataFrame(level_rows(name, test, forecast, train, levels.level, LEVELS))
            by_decile = pd.DataFrame(decile_rows(name, test, forecast, deciles, LEVELS))
            row = {"fold": f"d_{last + 1}-d_{last + HORIZON}", "scheme": name}
            for level in LEVELS:
                for over, table in (("levels", by_level), ("deciles", by_decile)):
                    row[f"cov{level} {over}"] = f"{table[f'cov{level}'].min():.3f}-{table[f'cov{level}'].max():.3f}"
            row["width80 total"] = round(float(by_level["width80"].iloc[0]), 3)
            row["width80 items"] = round(float(by_level["width80"].iloc[-1]), 3)
            rows.append(row)
    print_table("calibration schemes on every level of the M5 subset, folds before W1", rows)
    write_result("calibration_choice_levels", command, {"folds": rows})


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_m5_arguments(parser, quick="the second fold only")
    parser.add_argument("--levels", action="store_true", help="the per-series schemes on every level of the panel")
    return parser


def main(argv: list[str] | None = None) -> None:
    args, command = start(parser(), __spec__.name, argv)
    if args.levels:
        _levels(args, command)
        return
    panel, day = m5_inputs(args)
    panel = panel[["unique_id", "ds", "y", *static_columns(panel)]]
    learner = LightGBMForecaster(num_threads=args.threads)._create_model
    rows = []
    for last in FOLDS[1:] if args.quick else FOLDS:
        cutoff = day(last)
        train = panel[panel["ds"] <= cutoff]
        test = panel[(panel["ds"] > cutoff) & (panel["ds"] <= cutoff + pd.Timedelta(days=HORIZON))]
        frame, statics = training_frame(train), static_columns(train)
        make = lambda: MLForecast(models={"lgbm": learner()}, freq="D", **FeatureSpec().mlforecast_kwargs())  # noqa: E731
        fitted = make().fit(frame, static_features=statics)
        scored = fitted.predict(HORIZON).merge(test[["unique_id", "ds", "y"]], on=["unique_id", "ds"])
        for windows, step in LAYOUTS:
            errors = make().cross_validation(
                frame, n_windows=windows, h=HORIZON, step_size=step, refit=False, static_features=statics
            )
            for name, scale, per_series in _schemes(errors):
                bands = _bands(errors, scored, scale, per_series)
                y = scored["y"].to_numpy()
                row = {"fold": f"d_{last + 1}-d_{last + HORIZON}", "windows": f"{windows} x {step} d", "scheme": name}
                for level, (lo, hi) in bands.items():
                    row[f"cov{level}"] = round(float(((y >= lo) & (y <= hi)).mean()), 3)
                    row[f"width{level}"] = round(float((hi - lo).mean() / y.mean()), 3)
                rows.append(row)
    mean = (
        pd.DataFrame(rows)
        .groupby(["windows", "scheme"], sort=False)[["cov80", "width80", "cov95", "width95"]]
        .mean()
        .round(3)
    )
    print_table("calibration schemes on folds before W1 (per fold)", rows)
    print_table("mean of the two folds", mean.reset_index().to_dict("records"))
    write_result("calibration_choice", command, {"folds": rows, "mean": mean.reset_index().to_dict("records")})


if __name__ == "__main__":
    main()
