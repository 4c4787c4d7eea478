"""Training the LightGBM forecaster on a Dask cluster, through mlforecast's distributed API.

The single process stays the default; this is the path for many series. Only the engine
changes: ``fit_on_dask`` runs the forecaster's own ``fit`` (cold-start split, learned state)
with the ``_fit`` step done by ``DistributedMLForecast`` and ``DaskLGBMForecast`` (LightGBM's
data-parallel learner, one shard of the series on each worker), from the same training frame,
the same honest calibration frame and the same calibration code. What comes back is a plain
local forecaster: ``mlf_`` is a local ``MLForecast`` (to_local), so predict, the history path,
pickling, MLflow logging and serving do not know which engine fit it, and it holds no client.

The numbers differ from a local fit's about as much as a change of seed does (the tests state the
tolerance): LightGBM's Dask learner is data-parallel (``tree_learner="data"``), each worker bins
the features from its own rows and bags its own rows, and it runs on each worker's threads
(``n_jobs`` is the local predict's only). Static columns reach it as category codes flagged
categorical; the returned model reads them as the training categoricals, like a local fit's.

Workers run the forecaster's feature code (the holiday features are ``features`` objects, pickled
by reference): each worker needs capcast installed, as the ``local`` cluster has.
"""

from __future__ import annotations

import itertools
import math
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.lgbm import _MODEL, LightGBMForecaster, _young_series_expected

if TYPE_CHECKING:
    from distributed import Client
    from mlforecast import MLForecast
    from mlforecast.distributed import DistributedMLForecast

__all__ = ["CONNECT_TIMEOUT_S", "LOCAL", "dask_client", "fit_on_dask"]

#: The address that starts a cluster in this machine instead of joining one.
LOCAL = "local"
#: How long ``dask_client`` waits for a scheduler before saying it cannot reach it.
CONNECT_TIMEOUT_S = 5
# Rows per partition of the training frame: each partition's features are built in one task.
_ROWS_PER_PARTITION = 2_000_000
_INSTALL = "training on Dask needs the dask extra: pip install 'capcast[dask]'"


def _distributed_modules():
    try:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
        from mlforecast.distributed import DistributedMLForecast
        from mlforecast.distributed.models.dask.lgb import DaskLGBMForecast
    except ImportError as error:
        raise ValueError(f"{_INSTALL} ({error})") from None
    return dd, Client, LocalCluster, DistributedMLForecast, DaskLGBMForecast


@contextmanager
def dask_client(address: str) -> Iterator[Client]:
    """A Dask client for ``address``: ``"local"`` starts a cluster of 2 single-threaded worker
    processes here (LightGBM's threads then do not fight over 2 cores); anything else is a
    scheduler address (``tcp://host:8786``), given ``CONNECT_TIMEOUT_S`` to answer.

    Raises:
        ValueError: one line, when dask is not installed or the scheduler cannot be reached.
    """
    _, client_type, local_cluster, _, _ = _distributed_modules()
    if address == LOCAL:
        with (
            local_cluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            client_type(cluster) as client,
        ):
            yield client
        return
    try:
        _check_listening(address)
        client = client_type(address, timeout=f"{CONNECT_TIMEOUT_S}s")
    except Exception as error:  # whatever answers there, if anything, is not a scheduler we can use
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise ValueError(f"cannot reach the Dask scheduler at {address}: {reason}") from None
    with client:
        yield client


def _check_listening(address: str) -> None:
    """Fail fast when nothing accepts a TCP connection at a ``tcp://`` address; a client left
    half-built by a failed connection spends 10 s closing itself when it is collected."""
    from distributed.comm import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme == "tcp":
        with socket.create_connection(parse_host_port(location), timeout=CONNECT_TIMEOUT_S):
            pass


def fit_on_dask(
    forecaster: LightGBMForecaster, panel: pd.DataFrame, client: Client, freq: str | None = None
) -> LightGBMForecaster:
    """``forecaster.fit(panel, freq)`` with the model and its calibration fit on the cluster of
    ``client``; returns the forecaster, fitted as a local fit leaves it (see the module's note
    on what differs in the numbers)."""
    if forecaster.strategy != "recursive":
        raise ValueError("the Dask engine fits the recursive strategy only: mlforecast's distributed API has no direct")
    _distributed_modules()
    return forecaster.fit(panel, freq, engine=partial(_fit, client=client))


def _fit(forecaster: LightGBMForecaster, panel: pd.DataFrame, client: Client) -> None:
    """``LightGBMForecaster._fit`` on the cluster: same frame, windows and calibration."""
    frame, statics = forecaster._prepare(panel)
    windows = forecaster._calibration_windows(frame)
    client.run(_silence_expected_warnings)
    with _quiet():
        # The scattered pieces live as long as their futures (``held``): the Dask frame names only their keys.
        calibration, held = _dask_frame(forecaster._calibration_frame(frame, windows), statics, client)
        errors = _distributed(forecaster, frame, statics, client).cross_validation(
            calibration, n_windows=windows, h=forecaster.horizon, refit=False, static_features=statics
        )
        errors = _local_errors(errors.compute())
        del calibration, held
        training, held = _dask_frame(frame, statics, client)
        model = _distributed(forecaster, frame, statics, client)
        model.fit(training, static_features=statics)
        forecaster.mlf_ = _local_mlforecast(forecaster, model, frame, statics)
        del training, held
    forecaster._calibrate(errors, frame, statics)


def _distributed(
    forecaster: LightGBMForecaster, frame: pd.DataFrame, statics: list[str], client: Client
) -> DistributedMLForecast:
    """The distributed twin of ``forecaster._mlforecast()``: the same features, and LightGBM with
    the parameters of ``_create_model()`` except those the Dask learner sets itself (``n_jobs``:
    each worker uses its own threads). Static columns travel as category codes, flagged
    categorical to LightGBM by position (fugue's schemas have no categorical type)."""
    _, _, _, distributed_mlforecast, dask_lgbm = _distributed_modules()
    params = forecaster._create_model().get_params()
    params.pop("n_jobs")
    features = [column for column in frame.columns if column not in ("unique_id", "ds", "y")]
    if statics:
        params["categorical_feature"] = [features.index(column) for column in statics]
    return distributed_mlforecast(
        models={_MODEL: dask_lgbm(**params)},
        freq=forecaster.freq_,
        engine=client,
        **forecaster.features_.mlforecast_kwargs(forecaster.freq_),
    )


def _dask_frame(frame: pd.DataFrame, statics: list[str], client: Client) -> tuple:
    """``frame`` (sorted by series) as a Dask frame whose partitions hold whole series, about two
    million rows each and at least two per worker, sent to the workers in turn one partition at a
    time (the client never holds a second copy of the frame); statics as their category codes.
    Returns the Dask frame and the futures of its partitions, which the caller keeps while it uses it."""
    dd = _distributed_modules()[0]
    workers = sorted(client.scheduler_info().get("workers", {})) or [None]
    partitions = max(2 * len(workers), math.ceil(len(frame) / _ROWS_PER_PARTITION))
    # Cut only where a series starts: no series straddles two partitions.
    starts = np.flatnonzero(frame["unique_id"].ne(frame["unique_id"].shift()).to_numpy())
    wanted = np.linspace(0, len(frame), partitions + 1)[1:-1]
    cuts = np.unique([0, *starts[np.searchsorted(starts, wanted).clip(max=len(starts) - 1)], len(frame)])
    pieces = []
    for number, (first, last) in enumerate(itertools.pairwise(cuts)):
        piece = frame.iloc[first:last].reset_index(drop=True)
        piece = piece.assign(**{column: piece[column].cat.codes.astype(np.int32) for column in statics})
        worker = workers[number % len(workers)]
        # Keys of their own (hash=False): a piece equal to one of an earlier frame, being released, would share its key.
        pieces.append(client.scatter(piece, workers=None if worker is None else [worker], hash=False))
    return dd.from_delayed(pieces, meta=piece.iloc[:0], verify_meta=False), pieces


def _local_errors(errors: pd.DataFrame) -> pd.DataFrame:
    """The cross-validation frame in a local run's dtypes and order (fugue returns pyarrow
    timestamps, nullable floats and string ids in partition order)."""
    return (
        errors.astype({"unique_id": str, _MODEL: float, "y": float})
        .assign(ds=_timestamps(errors["ds"]), cutoff=_timestamps(errors["cutoff"]))
        .sort_values(["cutoff", "unique_id", "ds"], ignore_index=True)
    )


def _timestamps(values) -> np.ndarray:
    return pd.to_datetime(pd.Series(values).astype("datetime64[ns]")).to_numpy()


def _local_mlforecast(
    forecaster: LightGBMForecaster, model: DistributedMLForecast, frame: pd.DataFrame, statics: list[str]
) -> MLForecast:
    """A local ``MLForecast`` as ``forecaster._mlforecast().fit(...)`` leaves it: the series'
    state gathered from the workers (``to_local``), the statics back as the categoricals of the
    training frame, and the booster told their categories so predict encodes them as in training."""
    gathered = model.to_local()
    ts = gathered.ts
    ts.uids = pd.Index(np.asarray(ts.uids, dtype=object).astype(str), name="unique_id")
    ts.last_dates = pd.DatetimeIndex(_timestamps(ts.last_dates), name="ds")
    categories = {column: frame[column].cat.categories for column in statics}
    static_frame = ts.static_features_.astype({"unique_id": str})
    for column, values in categories.items():
        static_frame[column] = pd.Categorical.from_codes(static_frame[column].astype(int), categories=values)
    ts.static_features_ = static_frame.reset_index(drop=True)
    fitted = gathered.models_[_MODEL]
    fitted.set_params(n_jobs=forecaster.num_threads)
    fitted.booster_.pandas_categorical = [list(values) for values in categories.values()]
    local = forecaster._mlforecast()
    # The distributed API names lag transforms with a function local to its __init__, which pickle
    # cannot store: take the local default (the names are the same for these features).
    ts.lag_transforms_namer = local.ts.lag_transforms_namer
    local.ts = ts
    local.models_ = {_MODEL: fitted}
    # What a local fit without prediction intervals leaves (mlforecast's own conformal scores).
    local._cs_df = local._cs_source_scales_ = None
    return local


# Notes this path makes by design: LightGBM ignoring ``n_jobs`` (workers use their own threads) and
# finding ``categorical_feature`` in its parameters, which the Dask learner has no other way to receive.
_EXPECTED = ("Parameter n_jobs will be ignored", "categorical_feature keyword has been found")
# Young series sit out features and windows, as in a local fit (models.lgbm._young_series_expected).
_YOUNG = ("Found null values", "The following series are too short", "The following series were dropped")


def _silence_expected_warnings() -> None:
    """Run on each worker (``client.run``): the workers build the features and train."""
    for message in (*_EXPECTED, *_YOUNG):
        warnings.filterwarnings("ignore", message=message, category=UserWarning)


@contextmanager
def _quiet() -> Iterator[None]:
    with _young_series_expected(), warnings.catch_warnings():
        for message in _EXPECTED:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        yield
