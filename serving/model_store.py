"""Resolve the served model version in MLflow once, load it, and answer forecasts with it.

Nothing here imports ``models`` or ``features``: the model version brings its
own copy of that code (MLflow ``code_paths``), and it must be the first copy
imported in the process, or the version would run whatever code happens to
be installed.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from serving.baseline import BaselineForecast
from serving.errors import ApiError
from serving.future_input import checked_future
from serving.responses import COLD_START_METHOD, GLOBAL_METHOD, SeriesJson, series_json
from serving.scenarios import ScenarioForecasts
from serving.schemas import ModelInfo

__all__ = ["ModelNotFound", "RegistryUnreachable", "ServedModel", "champion_level_error"]

_log = logging.getLogger(__name__)

DEFAULT_HORIZON = 28
# The packages every version ships as MLflow code_paths (training.train logs them).
_VERSION_PACKAGES = ("models", "features")
# What MLflow answers when the registry has no such model or alias.
_NOT_THERE = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}
# Columns of the pyfunc's request besides the known-future ones; the service checks them before predicting.
_REQUEST_COLUMNS = ("unique_id", "horizon")


def _period_unit(freq: str) -> str:
    """One period of the model's data in words (``features.frequency`` has the same, but this module
    imports no ``features``)."""
    return {"h": "hour", "D": "day", "MS": "month", "ME": "month"}.get(freq, "week" if freq.startswith("W-") else freq)


class ModelNotFound(RuntimeError):
    """No model version answers to the configured name and alias."""


class RegistryUnreachable(RuntimeError):
    """The MLflow registry did not answer (a server down, a database that cannot be opened)."""


class ServedModel:
    """One resolved registry version and its identity. Every forecast goes through the version's
    pyfunc (its own code: ``training/pyfunc_model.py`` as logged), and every refusal of it is
    mapped to an ``ApiError`` in one place, ``_refused_future``."""

    def __init__(self, info: ModelInfo, pyfunc: mlflow.pyfunc.PyFuncModel, threads: int | None = None):
        self.info = info
        self.pyfunc = pyfunc
        # What the version knows about its data, read once; predicting goes through the pyfunc only.
        forecaster = _forecaster(pyfunc)
        if threads is not None:
            if hasattr(forecaster, "use_threads"):
                forecaster.use_threads(threads)
            else:
                _log.warning("model version %s predicts with the threads it was trained with", info.version)
        # The series the model was trained on; a model of a hierarchy also forecasts its aggregates
        # (``level_of_``: each series' level, the bottom one ``unique_id``).
        self.series_ids = sorted(str(i) for i in forecaster.series_ids_)
        self.levels: dict[str, str] = {str(i): level for i, level in getattr(forecaster, "level_of_", {}).items()}
        self.forecast_ids = sorted(self.levels) if self.levels else self.series_ids
        self.cold_start_ids = frozenset(getattr(forecaster, "cold_start_ids_", ()))
        self.series_attributes: pd.DataFrame = forecaster.series_attributes_
        self._attributes = self.series_attributes.drop_duplicates("unique_id").set_index("unique_id")
        # Versions trained before they kept their recent actuals show none.
        self._history = getattr(forecaster, "recent_history_", None)
        self.period_unit = _period_unit(forecaster.freq_)
        self._known = set(self.forecast_ids)
        # mlforecast's predict swaps state on the fitted object while it runs: one call at a time.
        self._predict_lock = threading.Lock()
        # Every caller's baseline (each series' usual known-future values), computed once: a baseline
        # request is rows of it, never a model call; computing it is also the version's smoke test.
        horizon = info.max_horizon or DEFAULT_HORIZON
        frame = self.predict(self.forecast_ids, horizon, None, requested=False)
        self.baseline = BaselineForecast(frame, horizon, self.cold_start_ids)
        # Requests with their own known-future values: those that arrive together share a model call.
        self.scenarios = ScenarioForecasts(self)

    @staticmethod
    def lookup(tracking_uri: str, name: str, alias: str) -> ModelVersion:
        """The registry version behind ``models:/name@alias``, without loading it; ``ModelNotFound``
        when there is none, ``RegistryUnreachable`` when the registry cannot be asked."""
        # An explicit client, never MLflow's process-wide URI: a poll must not move another job's store.
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        try:
            return client.get_model_version_by_alias(name, alias)
        except MlflowException as error:
            if error.error_code in _NOT_THERE:
                raise ModelNotFound(
                    f"no version of model {name!r} has alias @{alias} in {tracking_uri}; run `capcast train` first"
                ) from error
            reason = _reason(error)
            raise RegistryUnreachable(f"cannot reach the MLflow registry at {tracking_uri}: {reason}") from error

    @classmethod
    def resolve(cls, tracking_uri: str, name: str, alias: str, threads: int | None = None) -> ServedModel:
        """Look up ``models:/name@alias`` once and load exactly that version."""
        return cls.load(tracking_uri, cls.lookup(tracking_uri, name, alias), alias, threads)

    @classmethod
    def load(cls, tracking_uri: str, version: ModelVersion, alias: str, threads: int | None = None) -> ServedModel:
        """Load one registry version (with its own code, even when another version's is loaded)."""
        _forget_version_code()
        # Loading resolves ``models:/`` (and a server's ``mlflow-artifacts:/``) with MLflow's process-wide
        # URIs: set them here, on a swap, and never on a poll (``lookup``).
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        pyfunc = mlflow.pyfunc.load_model(f"models:/{version.name}/{version.version}")
        run = MlflowClient(tracking_uri).get_run(version.run_id) if version.run_id else None
        forecaster = _forecaster(pyfunc)
        # Versions trained before the measure existed plan as if families had no shared error; a model that
        # plans families' own forecasts adds none (``_hierarchy_info``).
        hierarchy = {"family_level_error": round(getattr(forecaster, "family_level_error_", 0.0), 4)}
        hierarchy |= _hierarchy_info(forecaster)
        info = ModelInfo(
            name=version.name,
            version=str(version.version),
            alias=alias,
            run_id=version.run_id or "",
            data_fingerprint=run.data.tags.get("data_fingerprint") if run else None,
            max_horizon=forecaster.max_horizon,
            trained_until=forecaster.last_ds_.date(),
            last_period=forecaster.last_ds_.to_pydatetime(),
            exogenous=list(forecaster.exogenous_),
            # Versions trained before blank policies refuse every empty value (a column not named refuses).
            blanks={c: str(f) if isinstance(f, str) else float(f) for c, f in _blank_fills(forecaster).items()},
            takes_history=_takes_history(pyfunc),
            **hierarchy,
        )
        return cls(info, pyfunc, threads)

    def series_page(self, offset: int, limit: int, prefix: str = "") -> tuple[int, list[dict]]:
        """(how many series match ``prefix``, the page of them from ``offset``): each series' id,
        method and static attributes (an aggregate of a hierarchy: its group values, ``all`` for the others)."""
        matching = [i for i in self.forecast_ids if i.startswith(prefix)] if prefix else self.forecast_ids
        page = matching[offset : offset + limit]
        attributes = self._attributes.reindex(page)
        return len(matching), [
            {
                "unique_id": uid,
                "method": COLD_START_METHOD if uid in self.cold_start_ids else GLOBAL_METHOD,
                "attributes": {k: v for k, v in row.items() if isinstance(v, str)},
            }
            for uid, row in zip(page, attributes.to_dict("records"))
        ]

    def recent_history(self) -> pd.DataFrame:
        """The version's last weeks of actual demand before its forecast, with each series'
        static attributes (``family``...); empty for a version that kept none."""
        if self._history is None:
            return pd.DataFrame(columns=["unique_id", "ds", "y"])
        return self._history.merge(self.series_attributes, on="unique_id", how="left")

    def horizon(self, requested: int | None) -> int:
        """The requested horizon, or the model's longest one; 4xx ``ApiError`` beyond it."""
        limit = self.info.max_horizon
        if requested is None:
            return limit or DEFAULT_HORIZON
        if limit is not None and requested > limit:
            raise ApiError(
                422,
                "horizon_too_long",
                f"horizon must be at most {limit} for model version {self.info.version}",
                "horizon",
            )
        return requested

    def check_known(self, unique_ids: list[str], exempt: set[str] = frozenset()) -> None:
        """404 ``ApiError`` naming the first unknown series of a request (but those ``exempt``)."""
        unknown = [i for i in unique_ids if i not in self._known and i not in exempt]
        if unknown:
            shown = ", ".join(repr(i) for i in unknown[:5])
            index = unique_ids.index(unknown[0])
            raise ApiError(404, "unknown_series", f"{len(unknown)} unknown series: {shown}", f"unique_ids.{index}")

    def forecast_frame(self, unique_ids: list[str], horizon: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """The forecast frame of known series; 4xx ``ApiError`` on unknown series or known-future
        values that do not fit."""
        self.check_known(unique_ids)
        if future is None:
            return self.baseline.rows(unique_ids, horizon)
        return self.predict(list(dict.fromkeys(unique_ids)), horizon, future, requested=True)

    def close(self) -> None:
        """Answer the scenario requests already queued, then take no more."""
        self.scenarios.stop()

    def all_series_forecast(self, horizon: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecast of every series with its static attributes (``family`` etc.); the baseline
        scenario for known-future values unless ``future`` gives them for every series (of a
        hierarchy: for any of its bottom series, the others taking their baseline). A model of a
        hierarchy adds its aggregates, and a ``level`` column says which level each row is of
        (``unique_id`` for the series themselves): ``planning.plan_rows`` picks what a plan covers."""
        if future is None:
            frame = self.baseline.rows(self.forecast_ids, horizon)
        else:
            frame = self.predict(self.forecast_ids, horizon, future, requested=False)
        frame = frame.merge(self.series_attributes, on="unique_id", how="left")
        return frame.assign(level=frame["unique_id"].map(self.levels)) if self.levels else frame

    def predict(
        self,
        ids: list[str],
        horizon: int,
        future: pd.DataFrame | None,
        requested: bool,
        history: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """The model's forecast of series ``ids`` (known ones, or new ones with actuals in ``history``);
        422 ``ApiError`` for known-future values or actuals that do not fit (``requested``: ``ids``
        are the request's own, not every series)."""
        if future is None:
            request = pd.DataFrame({"unique_id": ids, "horizon": horizon})
        elif self.levels:
            request = self._hierarchy_future(future).assign(horizon=horizon)
            request = pd.concat([request, pd.DataFrame({"unique_id": ids, "horizon": horizon})], ignore_index=True)
        else:
            request = checked_future(future, self.info, ids, requested=requested).assign(horizon=horizon)
        if history is not None:
            request = pd.concat([request, history.assign(horizon=horizon)], ignore_index=True)
        return self._call(request, refusable=future is not None or history is not None)

    def _hierarchy_future(self, future: pd.DataFrame) -> pd.DataFrame:
        """Known-future rows for a model of a hierarchy: of its bottom series (any of them; the others
        take their baseline values), never of an aggregate, whose values are its children's."""
        if "unique_id" in future.columns:
            for row, series in enumerate(future["unique_id"].astype(str)):
                if self.levels.get(series, "unique_id") != "unique_id":
                    raise ApiError(
                        422,
                        "invalid_future",
                        f"series {series!r} is an aggregate of the hierarchy: send the values of its bottom series",
                        f"future.{row}.unique_id",
                    )
        return checked_future(future, self.info, self.series_ids, requested=False, every_series=False)

    def history_forecast(
        self, ids: list[str], horizon: int, future: pd.DataFrame | None, history: pd.DataFrame
    ) -> dict[str, SeriesJson]:
        """The JSON of each series' forecast after its actuals in ``history``: a model call of its own
        (never the precomputed baseline); series the model does not know answer by its cold-start method."""
        frame = self.predict(ids, horizon, future, requested=True, history=history)
        return series_json(frame, self.cold_start_ids | {i for i in ids if i not in self._known})

    def _call(self, request: pd.DataFrame, refusable: bool) -> pd.DataFrame:
        with self._predict_lock:
            try:
                return self.pyfunc.predict(request.astype({"horizon": "int64"}))
            except MlflowException as error:
                if not refusable or (refused := self._refused_future(error)) is None:
                    raise  # not the caller's doing: the service logs it and answers 500
                raise refused from None

    def _refused_future(self, error: MlflowException) -> ApiError | None:
        """The 422 for an MLflow error that the request's known-future values caused; None for any other.

        The version's own check (its pyfunc, from a FutureValuesError) says "<column>: <reason>";
        versions logged before the pyfunc set its error code report it as INTERNAL_ERROR, so the
        column decides. Other bad input (MLflow's schema enforcement) is INVALID_PARAMETER_VALUE,
        with its reason after the last "Error: ". The pyfunc refusing unique_id or horizon means the
        service's own checks of them disagree with the model's: a fault here, not the caller's.
        """
        column, _, reason = error.message.partition(": ")
        if column.startswith("history"):
            return ApiError(422, "invalid_history", reason, column)
        if column in ("ds", *self.info.exogenous):
            # Some FutureValuesError messages name the column again: "price: price: values must be numbers".
            return ApiError(422, "invalid_future", reason.removeprefix(f"{column}: "), f"future.{column}")
        if error.error_code != "INVALID_PARAMETER_VALUE" or column in _REQUEST_COLUMNS:
            return None
        reason = error.message.rpartition("Error: ")[2].strip().split("\n")[0]
        return ApiError(
            422, "invalid_future", reason or "the known-future values do not fit the model's input", "future"
        )


def champion_level_error(tracking_uri: str, name: str, alias: str) -> tuple[float, str]:
    """The family level error the ``name@alias`` version measured in training (from its MLflow
    run, without loading the model), and where the figure comes from; 0 without a model."""
    try:
        version = ServedModel.lookup(tracking_uri, name, alias)
        metrics = MlflowClient(tracking_uri).get_run(version.run_id).data.metrics
    except (ModelNotFound, RegistryUnreachable, MlflowException):
        return 0.0, "no trained model found: series treated as independent"
    if "family_level_error" not in metrics:
        return 0.0, f"model version {version.version} did not measure it"
    return float(metrics["family_level_error"]), f"measured by model version {version.version}"


def _hierarchy_info(forecaster) -> dict:
    """``ModelInfo``'s hierarchy fields: its levels and method, and what plans cover. A model with a
    ``family`` level plans each family's own reconciled forecast, whose calibrated band already holds
    the movement its series share: the plan adds no family level error to it."""
    if not hasattr(forecaster, "level_of_"):
        return {}
    hierarchy = [list(level) for level in forecaster.hierarchy]
    families = ["family"] in hierarchy
    return {
        "hierarchy": hierarchy,
        "reconcile": forecaster.method,
        "plans_from": "family" if families else "series",
        **({"family_level_error": 0.0} if families else {}),
    }


def _takes_history(pyfunc: mlflow.pyfunc.PyFuncModel) -> bool:
    """Whether the version's request schema has ``y``: the actuals of newer history rows."""
    schema = pyfunc.metadata.get_input_schema()
    return schema is not None and "y" in schema.input_names()


def _forecaster(pyfunc: mlflow.pyfunc.PyFuncModel):
    """The fitted forecaster inside the version's pyfunc (its own ``models`` code), for what it
    knows about its data: series, frequency, horizon, exogenous columns."""
    return pyfunc.unwrap_python_model().forecaster


def _blank_fills(forecaster) -> dict:
    """The version's blank policies (``features.blanks``); none for versions trained before them."""
    return dict(getattr(forecaster, "blank_fills_", None) or {})


def _forget_version_code() -> None:
    """Drop the code packages a loaded version brought (``models``, ``features`` from its ``code``
    folder) from the module cache: MLflow only puts a version's folder first on the path, so the
    next version would otherwise run the code already imported. The loaded version keeps its
    modules through its own objects. A working tree's packages (tests, the CLI) stay."""
    for package in _VERSION_PACKAGES:
        module = sys.modules.get(package)
        if module is None or Path(module.__file__ or "").parent.parent.name != "code":
            continue
        for name in [n for n in sys.modules if n == package or n.startswith(f"{package}.")]:
            del sys.modules[name]


def _reason(error: MlflowException) -> str:
    """The operating system's reason (``Connection refused``) inside MLflow's long message, or its first line."""
    message = str(error.message)
    found = re.search(r"\[Errno -?\d+\] ([^\"')]+)", message)
    return found.group(1).strip() if found else message.splitlines()[0][:200]
