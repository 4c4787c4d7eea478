"""The forecast every caller shares, computed once when a version loads: every series' baseline
scenario (its usual known-future values) for the model's longest horizon. A baseline request is
rows of it, not a model call: the recursive forecast of the first ``h`` periods is the same
whether ``h`` or more periods are asked for."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from serving.responses import SeriesJson, series_json

__all__ = ["BaselineForecast"]


class BaselineForecast:
    """Rows of a forecast frame (sorted by ``unique_id, ds``; ``horizon`` periods per series)."""

    def __init__(self, frame: pd.DataFrame, horizon: int, cold_start_ids: frozenset[str] = frozenset()):
        frame = frame.sort_values(["unique_id", "ds"], ignore_index=True)
        counts = frame.groupby("unique_id", sort=False).size()
        if (counts != horizon).any():
            short = counts[counts != horizon].index[0]
            raise ValueError(f"the baseline forecast of {short!r} has {counts[short]} periods, not {horizon}")
        self.frame, self.horizon = frame, horizon
        self._first = dict(zip(counts.index.astype(str), np.arange(len(counts)) * horizon))
        self._json: dict[str, SeriesJson] = series_json(frame, cold_start_ids)

    def rows(self, ids: Sequence[str], horizon: int) -> pd.DataFrame:
        """The first ``horizon`` periods of each series of ``ids``, sorted by series and period
        (as a model call answers)."""
        if horizon > self.horizon:
            raise ValueError(f"horizon {horizon} is longer than the baseline's {self.horizon}")
        firsts = np.array([self._first[i] for i in sorted(set(ids))], dtype=np.int64)
        positions = (firsts[:, None] + np.arange(horizon)[None, :]).ravel()
        return self.frame.iloc[positions].reset_index(drop=True)

    def series_json(self, ids: Sequence[str], horizon: int) -> list[bytes]:
        """The API's JSON of the first ``horizon`` periods of each series of ``ids``, sorted by series."""
        if horizon > self.horizon:
            raise ValueError(f"horizon {horizon} is longer than the baseline's {self.horizon}")
        return [self._json[i].first(horizon) for i in sorted(set(ids))]
