"""One documented hyper-parameter search for capcast's LightGBM, on rolling-origin folds that
end before the M5 test windows.

Folds (M5 subset, 280 series): train through d_1857, score d_1858-d_1885; train through
d_1885, score d_1886-d_1913. Both end at W1's origin (d_1913), so neither W1 nor W2 is
seen. Objective: mean WRMSSE of the point forecast over the folds (M5 weights of each
fold's training data). Optuna's TPE sampler with a fixed seed; the first trial is
capcast's current default, so the search can only report an improvement over it.

    python -m benchmarks.tune --trials 16
    python -m benchmarks.tune --quick        # 3 trials, 40 series
"""

from __future__ import annotations

import argparse
import time

import optuna
import pandas as pd

from benchmarks.common import print_table, start, write_result
from benchmarks.m5 import add_m5_arguments, m5_inputs
from models.lgbm import LightGBMForecaster
from models.metrics import dollar_sales_weights, wrmsse

FOLDS = (1857, 1885)
HORIZON = 28


def _space(trial: optuna.Trial) -> dict:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 150, 500, step=50),
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.15, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 15, 255, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 0.0, 10.0),
        "tweedie_variance_power": trial.suggest_float("tweedie_variance_power", 1.05, 1.7),
    }


def _defaults() -> dict:
    """Trial 0: the forecaster's own default of every hyper-parameter in the search space. A
    FixedTrial answers each ``suggest_*`` of ``_space`` with the value of that name it is given."""
    return _space(optuna.trial.FixedTrial(LightGBMForecaster().get_params()))


def _fold_score(panel: pd.DataFrame, cutoff: pd.Timestamp, params: dict, threads: int) -> float:
    train = panel[panel["ds"] <= cutoff]
    test = panel[(panel["ds"] > cutoff) & (panel["ds"] <= cutoff + pd.Timedelta(days=HORIZON))]
    model = LightGBMForecaster(horizon=HORIZON, num_threads=threads, **params).fit(train)
    forecast = model.predict(HORIZON, future=model.known_future(test))
    return wrmsse(test, forecast, train, dollar_sales_weights(train, price_column="sell_price", days=28))


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    add_m5_arguments(parser, quick="3 trials")
    return parser


def main(argv: list[str] | None = None) -> None:
    args, command = start(parser(), __spec__.name, argv)
    panel, day = m5_inputs(args)
    cutoffs = [day(n) for n in FOLDS]
    rows = []

    def objective(trial: optuna.Trial) -> float:
        params = _space(trial)
        started = time.perf_counter()
        scores = [_fold_score(panel, cutoff, params, args.threads) for cutoff in cutoffs]
        score = sum(scores) / len(scores)
        rows.append(
            {
                "trial": trial.number,
                **{f"fold_{n}": round(s, 4) for n, s in zip(FOLDS, scores)},
                "mean": round(score, 4),
                "seconds": round(time.perf_counter() - started, 1),
                **params,
            }
        )
        print_table(f"trial {trial.number}", [rows[-1]])
        return score

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=0))
    study.enqueue_trial(_defaults())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=3 if args.quick else args.trials)
    best = {"trial": study.best_trial.number, "mean_wrmsse": round(study.best_value, 4), **study.best_params}
    print_table("all trials (folds end before W1)", rows)
    print_table("best", [best])
    write_result("tune", command, {"trials": rows, "best": [best]}, extra={"folds": list(FOLDS), "horizon": HORIZON})


if __name__ == "__main__":
    main()
