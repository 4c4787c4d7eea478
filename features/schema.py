"""A dataset's description of itself, in ``dataset.yaml`` beside its data: what each column is, and
whose public holidays its calendar follows.

```yaml
holidays: {country: DE, subdivision: BY}   # or "holidays: none"
gaps: missing                              # skipped periods: refuse (default), zero, missing, drop-before
columns:
  store_type: static          # text attribute of the series, constant over time: a categorical
  temperature: ignore         # not read at all
  promo: known_future         # known before the period: given with each forecast
  sell_price: {role: known_future, blank: previous}   # a blank: the series' last known price
  in_stock: {role: observed_only, assume: 1}   # known only afterwards; forecasts assume 1
hierarchy: [[family]]         # levels of coherent totals: each a list of static columns
reconcile: bottom_up          # how they are made to add up: bottom_up, mint_shrink, wls_struct, ols, none
```

A blank value of a known-future or observed-only column is refused (validation names
its file, row and column) unless the column declares what it means with ``blank:``:
``previous`` (the series' last known value), ``missing`` (unknown: the model reads it as
missing) or a number (``blank: 0``); see ``features.blanks``. The model keeps the policies
and applies them to a forecast's future values too.

``hierarchy`` declares the levels the model forecasts above the series, each a list of static
columns (a bare name for one: ``[family, [state_id, store_id]]``), the total always among them;
``reconcile`` says how their forecasts are made to add up (``models.hierarchy``): ``bottom_up`` (the
default: each level the sum of its series' forecasts), ``mint_shrink``, ``wls_struct`` or ``ols``
(MinTrace), or ``none`` (each level forecast directly; they do not add up). Without ``hierarchy`` the
model forecasts the series alone. A hierarchy column must be a static column of the data.

Without the file, or for a column it does not name, the roles are guessed: the
standard attribute names (``STATIC_COLUMNS``) are static, ``in_stock`` is observed
only (assumed 1), every other column is known in advance; the holidays are the
United States'. An observed-only column needs the value a forecast assumes for
it, since nobody knows it in advance; without one it can only be ignored.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.blanks import Blank, BlankFill, parse_blank
from features.calendar import check_calendar
from features.gaps import GapPolicy
from features.pipeline import FeatureSpec, infer_frequency
from features.validation import OBSERVED_ONLY_COLUMNS, REQUIRED_COLUMNS, STATIC_COLUMNS, PanelError, Problem

__all__ = ["SCHEMA_FILE", "DatasetSchema", "HolidayCalendar", "Reconcile", "Role", "load_schema", "schema_path"]

SCHEMA_FILE = "dataset.yaml"


class Role(StrEnum):
    STATIC = "static"
    KNOWN_FUTURE = "known_future"
    OBSERVED_ONLY = "observed_only"
    IGNORE = "ignore"


class Reconcile(StrEnum):
    """How the levels of a hierarchy are made to add up (``models.hierarchy.METHODS``)."""

    BOTTOM_UP = "bottom_up"
    MINT_SHRINK = "mint_shrink"
    WLS_STRUCT = "wls_struct"
    OLS = "ols"
    NONE = "none"


class ColumnRole(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    assume: float | None = Field(default=None, description="observed-only: the value a forecast assumes")
    blank: BlankFill = Field(
        default=Blank.REFUSE,
        description="what a blank value means, in training and forecasts: refuse, previous, missing or a number",
    )

    @field_validator("blank", mode="before")
    @classmethod
    def _blank(cls, value):
        return parse_blank(value)

    @model_validator(mode="after")
    def _assumed_when_observed_only(self) -> ColumnRole:
        if self.role is Role.OBSERVED_ONLY and self.assume is None:
            raise ValueError("an observed-only column needs 'assume': the value a forecast takes for it")
        if self.role is not Role.OBSERVED_ONLY and self.assume is not None:
            raise ValueError("'assume' is for observed-only columns")
        if self.role in (Role.STATIC, Role.IGNORE) and self.blank is not Blank.REFUSE:
            raise ValueError("'blank' is for known-future and observed-only columns")
        return self


class HolidayCalendar(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str
    subdivision: str | None = None

    @model_validator(mode="after")
    def _known(self) -> HolidayCalendar:
        check_calendar(self.country, self.subdivision)
        return self


class DatasetSchema(BaseModel):
    """Column roles and the holiday calendar of one dataset (``dataset.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holidays: HolidayCalendar | None = HolidayCalendar(country="US")
    columns: dict[str, ColumnRole] = {}
    gaps: GapPolicy = GapPolicy.REFUSE
    hierarchy: tuple[tuple[str, ...], ...] = ()
    reconcile: Reconcile = Reconcile.BOTTOM_UP

    @field_validator("hierarchy", mode="before")
    @classmethod
    def _levels(cls, value):
        """A bare name is a level of one column: ``[family]`` is ``[[family]]``."""
        if not isinstance(value, list | tuple):
            return value
        return [[level] if isinstance(level, str) else level for level in value]

    @field_validator("hierarchy")
    @classmethod
    def _distinct_levels(cls, value: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for level in value:
            if not level:
                raise ValueError("a hierarchy level needs at least one column")
            if named := [c for c in level if c in REQUIRED_COLUMNS]:
                raise ValueError(f"{named[0]} cannot group series: a hierarchy level is made of static columns")
        if twice := [level for position, level in enumerate(value) if level in value[:position]]:
            raise ValueError(f"hierarchy level {'/'.join(twice[0])!r} is given twice")
        return value

    def hierarchy_problems(self, columns: list[str], source: str) -> list[Problem]:
        """One problem per hierarchy column that is not a static column of the data (``columns``)."""
        problems = []
        for column in dict.fromkeys(c for level in self.hierarchy for c in level):
            if column not in columns:
                reason = f"hierarchy column {column!r} is not a column of {source}"
            elif self.role(column).role is not Role.STATIC:
                reason = (
                    f"hierarchy column {column!r} is not a static column of {source} (it is "
                    f"{self.role(column).role.value}): declare it 'columns: {{{column}: static}}'"
                )
            else:
                continue
            problems.append(Problem(SCHEMA_FILE, None, "hierarchy", reason))
        return problems

    @field_validator("holidays", mode="before")
    @classmethod
    def _none(cls, value):
        return None if value in ("none", "None") else value

    @field_validator("columns", mode="before")
    @classmethod
    def _short_form(cls, value):
        """``column: static`` is short for ``column: {role: static}``; observed_only alone takes a
        standard column's known assumption (``in_stock``: 1)."""
        if not isinstance(value, dict):
            return value
        written = {}
        for column, role in value.items():
            if isinstance(role, str):
                role = {"role": role}
                if role["role"] == Role.OBSERVED_ONLY and column in OBSERVED_ONLY_COLUMNS:
                    role["assume"] = OBSERVED_ONLY_COLUMNS[column]
            written[column] = role
        return written

    @field_validator("columns")
    @classmethod
    def _not_required(cls, value: dict[str, ColumnRole]) -> dict[str, ColumnRole]:
        if named := [c for c in value if c in REQUIRED_COLUMNS]:
            raise ValueError(f"{', '.join(named)} always mean series, period and demand: they take no role")
        return value

    def role(self, column: str) -> ColumnRole:
        """The declared role of ``column``, or the guess (see the module docstring)."""
        if column in self.columns:
            return self.columns[column]
        if column in STATIC_COLUMNS:
            return ColumnRole(role=Role.STATIC)
        if column in OBSERVED_ONLY_COLUMNS:
            return ColumnRole(role=Role.OBSERVED_ONLY, assume=OBSERVED_ONLY_COLUMNS[column])
        return ColumnRole(role=Role.KNOWN_FUTURE)

    def columns_with(self, role: Role, columns: list[str]) -> list[str]:
        return [c for c in columns if c not in REQUIRED_COLUMNS and self.role(c).role is role]

    def blank_fills(self, columns: list[str]) -> dict[str, BlankFill]:
        """The blank policy (``features.blanks``) of each known-future and observed-only column of ``columns``."""
        numeric = self.columns_with(Role.KNOWN_FUTURE, columns) + self.columns_with(Role.OBSERVED_ONLY, columns)
        return {c: self.role(c).blank for c in numeric}

    def feature_spec(self, panel: pd.DataFrame) -> FeatureSpec:
        """The standard features for the panel's frequency with this dataset's static, observed-only
        and exogenous columns, their blank policies and the holiday calendar."""
        base = FeatureSpec.for_frequency(infer_frequency(panel))
        columns = list(panel.columns)
        static = self.columns_with(Role.STATIC, columns)
        observed = [(c, float(self.role(c).assume)) for c in self.columns_with(Role.OBSERVED_ONLY, columns)]
        exogenous = self.columns_with(Role.KNOWN_FUTURE, columns) + [c for c, _ in observed]
        calendar = {"holiday_features": False}
        if self.holidays is not None:
            calendar = {
                "holiday_features": True,
                "holiday_country": self.holidays.country,
                "holiday_subdivision": self.holidays.subdivision,
            }
        blanks = self.blank_fills(columns)
        return replace(
            base,
            static=tuple(static),
            observed_only=tuple(observed),
            exogenous=tuple(exogenous),
            blanks=tuple((c, blanks[c]) for c in exogenous),
            **calendar,
        )


def schema_path(data: Path) -> Path:
    """``dataset.yaml`` in the data directory, or beside the panel file."""
    return (data if data.is_dir() else data.parent) / SCHEMA_FILE


def load_schema(data: Path) -> DatasetSchema:
    """The schema beside ``data``; the guesses when there is none.

    Raises:
        PanelError: naming the file and the field of each problem.
    """
    path = schema_path(data)
    if not path.exists():
        return DatasetSchema()
    try:
        return DatasetSchema.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except ValidationError as error:
        problems = [
            Problem(str(path), None, ".".join(str(p) for p in e["loc"]) or None, e["msg"].removeprefix("Value error, "))
            for e in error.errors()
        ]
        raise PanelError(problems) from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise PanelError([Problem(str(path), None, None, f"not valid YAML: {str(error).splitlines()[0]}")]) from None
