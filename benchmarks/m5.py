"""The M5 subset in ``../shared/data/m5_subset`` as the benchmarks read it (see that folder's README)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from features.loaders import read_m5_subset

__all__ = ["DATA", "QUICK_SERIES", "add_m5_arguments", "m5_day", "m5_inputs", "m5_panel"]

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# --quick runs score this many series.
QUICK_SERIES = 40


def m5_panel(folder: Path, series: int | None = None) -> pd.DataFrame:
    """The 280-series panel (sales, prices, events), or ``series`` of them: every k-th of the
    sorted ids, a fixed sample that spans the categories."""
    panel = read_m5_subset(folder / "sales_daily_280.csv.gz", folder / "calendar.csv.gz")
    if series is None:
        return panel
    ids = sorted(panel["unique_id"].unique())
    return panel[panel["unique_id"].isin(ids[:: max(len(ids) // series, 1)][:series])]


def m5_day(folder: Path) -> Callable[[int], pd.Timestamp]:
    """The date of M5 day number ``n`` (``d_n`` in the calendar)."""
    dates = pd.read_csv(folder / "calendar.csv.gz", usecols=["d", "date"]).set_index("d")["date"]
    return lambda number: pd.Timestamp(dates[f"d_{number}"])


def add_m5_arguments(parser: argparse.ArgumentParser, quick: str | None = None) -> None:
    """``--data`` (the m5_subset folder) and ``--threads`` (LightGBM threads) of an M5 benchmark,
    and ``--quick`` when ``quick`` says what it runs (on ``QUICK_SERIES`` series)."""
    parser.add_argument("--data", type=Path, default=DATA / "m5_subset", help="the m5_subset folder")
    parser.add_argument("--threads", type=int, default=2, help="LightGBM threads")
    if quick is not None:
        parser.add_argument("--quick", action="store_true", help=f"{quick} on {QUICK_SERIES} series")


def m5_inputs(args: argparse.Namespace) -> tuple[pd.DataFrame, Callable[[int], pd.Timestamp]]:
    """The panel (``QUICK_SERIES`` of it with ``--quick``) and the day-number-to-date function
    that ``add_m5_arguments``' arguments ask for."""
    return m5_panel(args.data, QUICK_SERIES if getattr(args, "quick", False) else None), m5_day(args.data)
