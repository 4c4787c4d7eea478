# The demand model as MLflow logs it (models-from-code): this file is copied
# into every model version and executed on load, so a version always runs
# the code it was logged with. The fitted forecaster travels as an artifact;
# `features` and `models` travel as code_paths.
"""MLflow pyfunc wrapper around a fitted capcast forecaster.

Input: a frame with columns ``unique_id`` (str) and ``horizon`` (int, the
same on every row), one row per requested series; or, to give the
known-future values of a model that uses exogenous columns, one row per
series and forecast period with ``ds`` and those columns as well, an empty
value read as the model's training read it (refused or filled: its blank
policies, ``features.blanks``). Without them such a model forecasts its
baseline scenario (each series' most frequent recent value). Rows with a ``y`` are actuals newer than the model's data
(``unique_id, ds, y``): each series' forecast starts after its last one, and a
series the model does not know is forecast from them by its cold-start method.
A model of a hierarchy (``models.hierarchy``) also forecasts its aggregate series (a family's id,
``total``): the ids it accepts are every level's (``level_of_``); its known-future rows and actuals are
of bottom series, and a bottom series without known-future rows takes its baseline values.
Output: the forecast frame of ``models.base``.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel

from models.base import Forecaster, FutureValuesError, HistoryError

REQUEST_COLUMNS = ("unique_id", "horizon")


def _bad(field: str, message: str) -> MlflowException:
    # "<field>: <reason>" is what the service reads; the error code must be the constant
    # (a name would read as INTERNAL_ERROR).
    return MlflowException.invalid_parameter_value(f"{field}: {message}")


def parse_request(model_input: pd.DataFrame, known_ids: set[str], max_horizon: int | None) -> tuple[list[str], int]:
    """Validate the request frame; returns (series ids, horizon)."""
    for column in REQUEST_COLUMNS:
        if column not in model_input.columns:
            raise _bad(column, "missing column")
    if model_input.empty:
        raise _bad("unique_id", "no series requested")
    horizons = pd.to_numeric(model_input["horizon"], errors="coerce").unique()
    if len(horizons) != 1 or pd.isna(horizons[0]):
        raise _bad("horizon", "must be one whole number for the whole request")
    horizon = int(horizons[0])
    if horizon < 1 or (max_horizon is not None and horizon > max_horizon):
        raise _bad("horizon", f"must be between 1 and {max_horizon}, got {horizon}")
    ids = [str(i) for i in dict.fromkeys(model_input["unique_id"])]
    unknown = [i for i in ids if i not in known_ids]
    if unknown:
        raise _bad("unique_id", f"unknown series: {', '.join(unknown[:5])}")
    return ids, horizon


class DemandModel(PythonModel):
    def load_context(self, context) -> None:
        self.forecaster: Forecaster = Forecaster.from_bytes(Path(context.artifacts["forecaster"]).read_bytes())
        # A hierarchy's series of every level; a model of the series alone knows its own.
        self.known_ids = set(getattr(self.forecaster, "level_of_", None) or self.forecaster.series_ids_)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        model_input, history = split_history(model_input)
        known = self.known_ids if history is None else self.known_ids | set(history["unique_id"].astype(str))
        ids, horizon = parse_request(model_input, known, self.forecaster.max_horizon)
        try:
            if history is not None:
                future = given_future(self.forecaster, model_input)
                return self.forecaster.predict(horizon, ids=ids, future=future, history=history)
            future = future_values(self.forecaster, model_input, horizon, ids)
            return self.forecaster.predict(horizon, ids=ids, future=future)
        except FutureValuesError as error:
            raise _bad(error.column or "ds", str(error)) from None
        except HistoryError as error:
            field = "history" if error.row is None else f"history.{error.row}.{error.column}"
            raise _bad(field, str(error)) from None


def split_history(model_input: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(the request and known-future rows, the actuals: rows with a ``y``, in the order sent; None
    without any)."""
    if "y" not in model_input.columns:
        return model_input, None
    actual = model_input["y"].notna()
    if not actual.any():
        return model_input.drop(columns="y"), None
    history = model_input.loc[actual, ["unique_id", "ds", "y"]].reset_index(drop=True)
    return model_input.loc[~actual].drop(columns="y"), history


def given_future(forecaster: Forecaster, model_input: pd.DataFrame) -> pd.DataFrame | None:
    """The request's known-future rows (those with a ``ds``); None when it sent none. ``predict``
    refuses an empty value where the model's blank policy does."""
    if not forecaster.exogenous_ or "ds" not in model_input.columns or model_input["ds"].isna().all():
        return None
    return model_input.loc[model_input["ds"].notna()].drop(columns="horizon")


def future_values(
    forecaster: Forecaster, model_input: pd.DataFrame, horizon: int, ids: list[str]
) -> pd.DataFrame | None:
    """The request's known-future rows (``predict`` refuses an empty value where the model's blank
    policy does), or the model's baseline scenario when it sent none."""
    if not forecaster.exogenous_:
        return None
    if "ds" in model_input.columns and model_input["ds"].notna().any():
        # Rows without a ds only name series to forecast (a hierarchy's aggregates, whose values are their children's).
        return model_input.loc[model_input["ds"].notna()].drop(columns="horizon")
    return forecaster.baseline_future(horizon, ids)


mlflow.models.set_model(DemandModel())
