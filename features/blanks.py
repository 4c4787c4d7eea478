"""What a blank exogenous value means: the blank policy, one per column, the same in training and forecasting.

A dataset says it per column in ``dataset.yaml`` (``features.schema``), e.g.
``sell_price: {role: known_future, blank: previous}``:

- ``refuse`` (the default): a blank is an error. Validation names its file, row
  and column; a forecast's future values (``predict``, ``capcast forecast
  --future``, the API) are refused naming the series, period and column.
- ``previous``: the series' last known value, carried forward. A series' leading
  blanks (a price before the item was listed) take its first known value: the
  price it was listed at is the best guess of what it would have cost. A
  forecast's blanks continue from the last value known at fit (kept with the
  model), then from the forecast's own earlier values. A series without any
  known value stays blank: the model reads it as missing, in both.
- ``missing``: kept as unknown; the model reads it as missing (LightGBM's NaN)
  in training and forecasts alike, and forecasts accept blanks.
- a number (``blank: 0``): the value a blank stands for, in both.

The policy travels inside the fitted model (``features.pipeline.FeatureSpec.blanks``),
so a forecast reads blanks exactly as its training did.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum

import pandas as pd

__all__ = ["Blank", "BlankFill", "fill_blanks", "parse_blank"]


class Blank(StrEnum):
    REFUSE = "refuse"
    PREVIOUS = "previous"
    MISSING = "missing"

    def __repr__(self) -> str:
        # As written in dataset.yaml: a spec's repr (and the run's feature_blanks param) reads ('price', 'previous').
        return repr(self.value)


# A policy word, or the number a blank stands for.
BlankFill = Blank | float


def parse_blank(value: object) -> BlankFill:
    """A written policy (``"previous"``, ``0``) as a ``BlankFill``.

    Raises:
        ValueError: for anything but a policy word or a finite number.
    """
    if isinstance(value, str) and value in {b.value for b in Blank}:
        return Blank(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise ValueError(f"blank must be {', '.join(repr(b.value) for b in Blank)} or a number, got {value!r}")


def fill_blanks(
    frame: pd.DataFrame, fills: Mapping[str, BlankFill], last_known: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``frame`` (sorted by ``unique_id, ds``) with the blanks of each column of ``fills`` filled as it says;
    ``refuse`` and ``missing`` columns are left as they are (refusing is the caller's: it knows the row).

    Args:
        frame: rows of a panel (training) or of a forecast's future values.
        fills: each column's policy; columns it does not name are left as they are.
        last_known: for a forecast, per series (index ``unique_id``) the last value known at fit of each
            ``previous`` column, as ``<column>_last``: a forecast's leading blanks continue from it. None in
            training, where leading blanks take the series' first known value.
    """
    filled = frame
    for column, fill in fills.items():
        if column not in filled.columns or fill is Blank.REFUSE or fill is Blank.MISSING:
            continue
        if not filled[column].isna().any():
            continue
        filled = filled.copy() if filled is frame else filled
        if fill is Blank.PREVIOUS:
            by_series = filled.groupby("unique_id", sort=False, observed=True)[column]
            carried = by_series.ffill()
            if last_known is None:
                carried = carried.fillna(by_series.bfill())
            else:
                carried = carried.fillna(filled["unique_id"].map(last_known[f"{column}_last"]).astype(float))
            filled[column] = carried
        elif not isinstance(fill, Blank):
            filled[column] = filled[column].fillna(float(fill))
    return filled
