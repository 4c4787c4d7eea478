"""Where the training job fits: in this process (the default) or on a Dask cluster through
mlforecast's distributed API (``models.distributed``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd

from models.base import Forecaster

__all__ = ["Fit", "fitting"]

Fit = Callable[[Forecaster, pd.DataFrame], Forecaster]


@contextmanager
def fitting(dask: str | None) -> Iterator[Fit | None]:
    """The training job's ``fit`` for the length of the job: None (fit here) without ``dask``; else a
    fit on the cluster at ``dask`` (a scheduler address, or ``local`` for a local cluster)."""
    if dask is None:
        yield None
        return
    from models.distributed import dask_client, fit_on_dask

    with dask_client(dask) as client:
        yield lambda forecaster, panel: fit_on_dask(forecaster, panel, client)
