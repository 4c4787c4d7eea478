"""The panel contract (ARCHITECTURE.md, "Panel") and its validation.

A panel is long format: ``unique_id`` (non-empty string), ``ds`` (date), ``y``
(float >= 0), one row per series per period at one regular frequency, gaps
explicit. Besides these, a column is either a **static attribute** of the
series (text, one value per series: ``STATIC_COLUMNS`` unless the dataset's
``dataset.yaml`` declares others, ``features.schema``) or an **exogenous**
value (numbers): known in advance, or observed only afterwards. ``price`` >= 0 and ``promo`` in {0, 1} are
checked when present. Forecasts need the exogenous values of the forecast
periods too (``models.base.Forecaster.predict``).

Policies (nothing is filled or dropped silently):

- **Blanks**: an empty exogenous value (a price before the item was listed) is
  refused unless ``dataset.yaml`` says what it means for that column
  (``blank: previous | missing | <number>``, ``features.blanks``); the models
  read it that way in training and in forecasts alike.
- **Gaps**: every period of a series between its first and last row must be
  present; a period without sales is a row with ``y`` = 0. Series may start
  late (new items) but all end on the panel's last period. Loaders of public
  layouts state their own choice (``features.loaders``).
- **Stockout-censored zeros**: a zero recorded while the item was unavailable
  is not zero demand. Mark such periods with ``in_stock`` = 0 (1 otherwise).
  The models learn from it that sales vanish when it is 0, and forecast with
  ``in_stock`` = 1 (the baseline scenario) unless the caller says an item
  will be unavailable. It is **observed only** (``OBSERVED_ONLY_COLUMNS``):
  nobody knows a stockout in advance, so backtests and calibration forecast
  with 1 too and score the stockout periods apart (censored demand).

Validation never drops or fills anything: it returns every problem with the
file row (1-based, header = row 1) and column it was found at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from features.blanks import Blank, BlankFill
from features.frequency import UnsupportedFrequency, describe_step, frequency_of_dates
from features.frequency import on_grid as on_frequency_grid
from features.gaps import GapPolicy, apply_gap_policy, periods_between

__all__ = [
    "OBSERVED_ONLY_COLUMNS",
    "REQUIRED_COLUMNS",
    "STATIC_COLUMNS",
    "PanelError",
    "Problem",
    "exogenous_columns",
    "parse_panel",
    "validate_panel",
]

REQUIRED_COLUMNS = ("unique_id", "ds", "y")
# Text attributes of a series, constant over time; the models use them as categoricals.
STATIC_COLUMNS = ("item_id", "store_id", "family", "dept_id", "cat_id", "state_id")
# ``in_stock`` = 0 marks a period whose sales were censored by a stockout (see the module docstring).
AVAILABILITY_COLUMN = "in_stock"
# Exogenous columns observed only after the period (a stockout is not known in advance), with the value a
# forecast assumes for them: backtests and calibration give the model this value, never the realised one.
OBSERVED_ONLY_COLUMNS = {AVAILABILITY_COLUMN: 1.0}
NUMERIC_COLUMNS = ("y", "price", "promo", AVAILABILITY_COLUMN)
_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})$"
# Header line plus 1-based numbering: data row at index i sits on file line i + 2.
_FIRST_DATA_LINE = 2


@dataclass(frozen=True)
class Problem:
    """One contract violation, located in the source file."""

    source: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.source]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


class PanelError(ValueError):
    """Raised when a panel breaks the contract; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _row(index: int) -> int:
    return int(index) + _FIRST_DATA_LINE


_TYPED_SCHEMA = pa.DataFrameSchema(
    {
        "unique_id": pa.Column(str, pa.Check.str_length(min_value=1, error="empty series id"), nullable=True),
        "ds": pa.Column("datetime64[ns]", nullable=True),
        "y": pa.Column(float, pa.Check.ge(0, error="negative demand"), nullable=True),
        "price": pa.Column(float, pa.Check.ge(0, error="negative price"), nullable=True, required=False),
        "promo": pa.Column(float, pa.Check.isin([0, 1], error="promo must be 0 or 1"), nullable=True, required=False),
        AVAILABILITY_COLUMN: pa.Column(
            float, pa.Check.isin([0, 1], error="in_stock must be 0 or 1"), nullable=True, required=False
        ),
    },
    unique=["unique_id", "ds"],
    report_duplicates="all",
)


def exogenous_columns(panel: pd.DataFrame, static: Sequence[str] = STATIC_COLUMNS) -> list[str]:
    """The exogenous columns of a panel: all but the required and the ``static`` ones."""
    return [c for c in panel.columns if c not in REQUIRED_COLUMNS and c not in static]


def _blank_refused(column: str) -> str:
    return (
        f"missing value: a blank {column} is refused unless dataset.yaml says what it means "
        f"('{column}: {{role: ..., blank: previous}}', or blank: missing, or blank: <number>)"
    )


def _parse_problems(
    raw: pd.DataFrame, source: str, static: Sequence[str], refused: Sequence[str] = ()
) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse text columns to their types, reporting values that do not parse and blanks in ``refused``."""
    problems: list[Problem] = []
    typed = raw.copy()
    typed["unique_id"] = raw["unique_id"].astype(str).str.strip()
    text_ds = raw["ds"].astype(str).str.strip()
    # Offsets would mix instants and local dates; the panel is in local time.
    offset = text_ds.str.contains(_OFFSET, regex=True)
    typed["ds"] = pd.to_datetime(text_ds.where(~offset, ""), errors="coerce", format="ISO8601")
    problems += [
        Problem(source, _row(i), "ds", f"time-zone offsets are not supported, use local time: {text_ds[i]!r}")
        for i in raw.index[offset]
    ]
    bad = typed["ds"].isna() & ~offset
    problems += [
        Problem(source, _row(i), "ds", "missing date" if text_ds[i] == "" else f"not a date: {text_ds[i]!r}")
        for i in raw.index[bad]
    ]
    for column in dict.fromkeys([*(c for c in NUMERIC_COLUMNS if c not in static), *exogenous_columns(raw, static)]):
        if column not in raw:
            continue
        text = raw[column].astype(str).str.strip()
        typed[column] = pd.to_numeric(text, errors="coerce").astype(float)
        missing = text.eq("")
        if column == "y":
            problems += [Problem(source, _row(i), column, "missing value") for i in raw.index[missing]]
        elif column in refused:
            problems += [Problem(source, _row(i), column, _blank_refused(column)) for i in raw.index[missing]]
        infinite = np.isinf(typed[column])
        problems += [Problem(source, _row(i), column, f"not a finite number: {text[i]!r}") for i in raw.index[infinite]]
        typed.loc[infinite, column] = np.nan
        not_numeric = typed[column].isna() & ~missing & ~infinite
        hint = (
            ""
            if column in NUMERIC_COLUMNS
            else " (exogenous columns are numeric; a text attribute of the series is static: "
            "declare it in dataset.yaml, e.g. 'columns: {" + column + ": static}')"
        )
        problems += [
            Problem(source, _row(i), column, f"not a number: {text[i]!r}{hint}") for i in raw.index[not_numeric]
        ]
    for column in (c for c in static if c in raw):
        typed[column] = raw[column].astype(str).str.strip()
        values = typed.groupby("unique_id", sort=False)[column].transform("first")
        varying = typed[column].ne(values)
        problems += [
            Problem(
                source,
                _row(i),
                column,
                f"static attribute changes within series {typed.at[i, 'unique_id']!r}: "
                f"{typed.at[i, column]!r} after {values[i]!r}",
            )
            for i in raw.index[varying]
        ]
    return typed, problems


def _contract_problems(typed: pd.DataFrame, source: str) -> list[Problem]:
    try:
        _TYPED_SCHEMA.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as errors:
        problems = []
        for case in errors.failure_cases.itertuples(index=False):
            if case.check == "multiple_fields_uniqueness":
                message, column = "duplicate (unique_id, ds) row", "ds"
            else:
                message, column = f"{case.check} (got {case.failure_case!r})", case.column
            row = None if pd.isna(case.index) else _row(case.index)
            problems.append(Problem(source, row, column, message))
        return problems
    return []


def _frequency_problems(
    typed: pd.DataFrame, source: str, gaps: GapPolicy, refused: Sequence[str] = ()
) -> list[Problem]:
    """The panel's most common step must be an hour, a day, a week or a calendar month
    (``features.frequency``), and every series must advance by exactly one period of it, or by
    whole periods when a gap policy says what the skipped ones are (``features.gaps``). Periods the
    policy inserts have no exogenous values: blanks, refused in ``refused`` columns."""
    frame = typed.dropna(subset=["ds"]).drop_duplicates(["unique_id", "ds"])
    frame = frame.sort_values(["unique_id", "ds"])
    step = frame.groupby("unique_id", sort=False)["ds"].diff()
    if step.notna().sum() == 0:
        return []
    try:
        freq = frequency_of_dates(frame["ds"], step.mode().iloc[0])
    except UnsupportedFrequency as error:
        return [Problem(source, None, "ds", str(error))]
    previous = frame.groupby("unique_id", sort=False)["ds"].shift(1)
    periods = periods_between(previous, frame["ds"], freq, step.mode().iloc[0])
    on_grid = on_frequency_grid(frame["ds"], freq.alias)
    whole_gap = (periods > 1) & (periods % 1 == 0) & on_grid
    irregular = previous.notna() & (periods != 1) & ~(whole_gap & (gaps is not GapPolicy.REFUSE))
    inserted = whole_gap & (gaps in (GapPolicy.ZERO, GapPolicy.MISSING))
    problems = [
        Problem(
            source,
            _row(i),
            column,
            f"the {freq.units(int(periods[i]) - 1)} that '{gaps}' gaps insert before this row have no {column}: "
            + _blank_refused(column).removeprefix("missing value: "),
        )
        for i in frame.index[inserted]
        for column in refused
        if column in frame.columns
    ]
    for i in frame.index[irregular]:
        series = frame.at[i, "unique_id"]
        if whole_gap[i]:
            message = (
                f"{freq.units(int(periods[i]) - 1)} missing in series {series!r} before this row: add them, or "
                "say what they are with --gaps zero|missing|drop-before (or 'gaps:' in dataset.yaml)"
            )
        else:
            message = (
                f"irregular dates in series {series!r}: {describe_step(step[i])} after the previous row, "
                f"expected one {freq.unit} ({freq.alias})"
            )
        problems.append(Problem(source, _row(i), "ds", message))
    return problems


def _alignment_problems(typed: pd.DataFrame, source: str) -> list[Problem]:
    """Every series runs to the panel's last period, so all forecasts start on the same day."""
    frame = typed.dropna(subset=["ds"])
    if frame.empty:
        return []
    end = frame["ds"].max()
    last_rows = frame.sort_values("ds").groupby("unique_id", sort=False).tail(1)
    stale = last_rows[last_rows["ds"] < end]
    return [
        Problem(
            source,
            _row(i),
            "ds",
            f"series {row.unique_id!r} ends on {row.ds.date()} but the panel runs to {end.date()}: "
            "add its missing periods explicitly (e.g. zero demand) or remove the series",
        )
        for i, row in stale.iterrows()
    ]


def _check(
    raw: pd.DataFrame,
    source: str,
    static: Sequence[str],
    gaps: GapPolicy = GapPolicy.REFUSE,
    blanks: Mapping[str, BlankFill] | None = None,
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """The typed panel (None when the columns are missing) and every problem, sorted by row."""
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        return None, [Problem(source, 1, c, "missing required column") for c in missing]
    if raw.empty:
        return None, [Problem(source, None, None, "no data rows")]
    refused = [c for c, fill in (blanks or {}).items() if fill is Blank.REFUSE and c in raw.columns]
    typed, problems = _parse_problems(raw, source, static, refused)
    problems += _contract_problems(typed, source)
    problems += _frequency_problems(typed, source, gaps, refused)
    problems += _alignment_problems(typed, source)
    unique = {(p.row, p.column, p.message): p for p in problems}
    return typed, sorted(unique.values(), key=lambda p: (p.row or 0, p.column or "", p.message))


def validate_panel(
    raw: pd.DataFrame,
    source: str = "<panel>",
    static: Sequence[str] = STATIC_COLUMNS,
    gaps: GapPolicy = GapPolicy.REFUSE,
    blanks: Mapping[str, BlankFill] | None = None,
) -> list[Problem]:
    """All contract problems of a panel read as text (``dtype=str``).

    Args:
        raw: the file's rows as strings, in file order, with a default RangeIndex.
        source: name used in every problem (usually the file path).
        static: the columns that are static attributes (text); every other one but the
            required ones is numeric (``features.schema`` declares them per dataset).
        gaps: what skipped periods are (``features.gaps``); refused by default.
        blanks: the blank policy of each exogenous column (``features.blanks``, from ``dataset.yaml``):
            a blank in a ``refuse`` column is a problem (so are the periods a gap policy inserts). None
            checks no blanks: a panel built in code leaves them to its ``FeatureSpec``.

    Returns:
        Problems sorted by row; empty when the panel meets the contract.
    """
    return _check(raw, source, static, gaps, blanks)[1]


def parse_panel(
    raw: pd.DataFrame,
    source: str = "<panel>",
    static: Sequence[str] = STATIC_COLUMNS,
    gaps: GapPolicy = GapPolicy.REFUSE,
    blanks: Mapping[str, BlankFill] | None = None,
) -> pd.DataFrame:
    """Validate and return the typed panel sorted by ``unique_id, ds`` (``static``, ``gaps`` and ``blanks``
    as in ``validate_panel``), its gaps handled as ``gaps`` says. Blanks stay blank: the models fill
    them as their ``FeatureSpec`` says, in training and forecasts alike.

    Raises:
        PanelError: with every problem, when the panel breaks the contract.
    """
    typed, problems = _check(raw, source, static, gaps, blanks)
    if problems:
        raise PanelError(problems)
    typed = typed.sort_values(["unique_id", "ds"], ignore_index=True)
    steps = typed.groupby("unique_id", sort=False)["ds"].diff().mode()
    if gaps is GapPolicy.REFUSE or steps.empty:
        return typed
    freq = frequency_of_dates(typed["ds"], steps.iloc[0])
    return apply_gap_policy(typed, freq, gaps, [c for c in static if c in typed.columns])
