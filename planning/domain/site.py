"""The production site (``site.yaml``): lines, speed levels, shifts, labour, storage, costs, maintenance.

Units: quantities in units of product, time in hours, money in the site's
currency (rates are used to four decimals), days counted from the first
planned day (day 0).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt, PositiveInt, model_validator

__all__ = ["Costs", "Line", "Maintenance", "Shift", "Site", "SpeedLevel", "load_site"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SpeedLevel(_Strict):
    """One discrete speed of a line; ``crew`` people run it (the line's ``crew_per_shift`` when unset)."""

    name: str
    units_per_hour: PositiveInt
    energy_cost_per_hour: NonNegativeFloat
    crew: PositiveInt | None = None


class Maintenance(_Strict):
    """One maintenance stop per plan: ``duration_shifts`` consecutive shifts starting
    on a day in ``[earliest_day, latest_day]``."""

    duration_shifts: PositiveInt
    earliest_day: NonNegativeInt
    latest_day: NonNegativeInt

    @model_validator(mode="after")
    def _window_is_ordered(self) -> Maintenance:
        if self.latest_day < self.earliest_day:
            raise ValueError("latest_day must not be before earliest_day")
        return self


class Line(_Strict):
    """A production line.

    ``changeover_cost`` is paid when the line runs two consecutive shifts on
    different families (an idle shift in between is used to change over for
    free). ``max_shifts_per_day`` caps the shifts it may run in one day.
    """

    id: str
    crew_per_shift: PositiveInt
    families: list[str] = Field(min_length=1)
    speed_levels: list[SpeedLevel] = Field(min_length=1)
    maintenance: Maintenance | None = None
    max_shifts_per_day: PositiveInt | None = None
    changeover_cost: NonNegativeFloat = 0.0

    def crew_at(self, level_index: int) -> int:
        return self.speed_levels[level_index].crew or self.crew_per_shift

    def level_index(self, name: str) -> int:
        """Position of the speed level called ``name``; ValueError when the line has none."""
        return [level.name for level in self.speed_levels].index(name)


class Shift(_Strict):
    """A shift of every day; ``starts_at`` is its start hour (right after the previous shift
    when unset, the first at hour 0). Shifts are listed in the order they run in a day."""

    name: str
    hours: PositiveInt = Field(le=24)
    labour_cost_multiplier: NonNegativeFloat = 1.0
    starts_at: NonNegativeInt | None = Field(None, le=23)


class Costs(_Strict):
    """Cost rates. Crew hours beyond ``Site.regular_crew_hours_per_day`` on a day cost
    ``overtime_multiplier`` times the normal rate; backlog left at the end of the
    horizon is charged ``lost_sale_per_unit`` once."""

    labour_per_crew_hour: NonNegativeFloat
    holding_per_unit_day: NonNegativeFloat
    backlog_per_unit_day: NonNegativeFloat
    lost_sale_per_unit: NonNegativeFloat = 20.0
    overtime_multiplier: float = Field(1.5, ge=1.0)


class Site(_Strict):
    name: str = "site"
    shifts: list[Shift] = Field(min_length=1)
    lines: list[Line] = Field(min_length=1)
    labour_pool_per_day: NonNegativeInt
    max_lines_in_maintenance: PositiveInt = 1
    storage_capacity: NonNegativeInt
    costs: Costs
    initial_inventory: dict[str, NonNegativeInt] = {}
    regular_crew_hours_per_day: NonNegativeInt | None = Field(
        None, description="crew hours per day paid at the normal rate; unlimited when unset"
    )
    weekly_budget: NonNegativeFloat | None = Field(
        None, description="cap on labour, overtime, energy and changeover cost per 7 days from day 0"
    )
    min_rest_hours: NonNegativeInt = Field(
        0,
        le=72,
        description="hours a person rests between two shifts; the pool is one team, "
        "each person works at most one shift a day",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Site:
        for kind, names in (
            ("line id", [line.id for line in self.lines]),
            ("shift name", [s.name for s in self.shifts]),
        ):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind}: {', '.join(duplicates)}")
        if sum(s.hours for s in self.shifts) > 24:
            raise ValueError("shifts add up to more than 24 hours a day")
        self._shifts_do_not_overlap()
        unknown = sorted(set(self.initial_inventory) - set(self.families))
        if unknown:
            raise ValueError(f"initial_inventory names families no line makes: {', '.join(unknown)}")
        return self

    def _shifts_do_not_overlap(self) -> None:
        starts = self.shift_starts
        for before, after, before_start, start in zip(self.shifts, self.shifts[1:], starts, starts[1:]):
            if start < before_start + before.hours:
                raise ValueError(f"shift {after.name} starts at hour {start}, before shift {before.name} ends")
        if starts[-1] + self.shifts[-1].hours > starts[0] + 24:
            raise ValueError(f"shift {self.shifts[-1].name} ends after the next day's first shift starts")

    @property
    def shift_starts(self) -> list[int]:
        """Start of each shift in hours from the start of its day."""
        starts, clock = [], 0
        for shift in self.shifts:
            clock = shift.starts_at if shift.starts_at is not None else clock
            starts.append(clock)
            clock += shift.hours
        return starts

    def with_opening_stock(self, units: dict[str, int]) -> Site:
        """This site starting from ``units`` per family (families no line makes are left out)."""
        made = set(self.families)
        return self.model_copy(update={"initial_inventory": {f: int(n) for f, n in units.items() if f in made}})

    @property
    def families(self) -> list[str]:
        return sorted({family for line in self.lines for family in line.families})


def load_site(path: Path) -> Site:
    """Read a site from YAML or JSON. Raises ``pydantic.ValidationError`` or ``ValueError``."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return Site.model_validate(document)
