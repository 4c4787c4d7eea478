"""Decisions a planner fixes by hand: a lock on one line-shift, and where it sits in the plan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, PositiveInt

from planning.domain.site import Site

__all__ = ["Lock", "LockError", "Unavailability", "locate_lock", "unavailability_locks"]


class LockError(ValueError):
    """A lock names a line, shift, day, family or speed level the plan does not have."""


class Lock(BaseModel):
    """A decision the planner fixed for one line-shift; unset fields are left to the solver."""

    model_config = ConfigDict(extra="forbid")

    line: str
    day: date
    shift: str
    staffed: bool | None = None
    family: str | None = None
    speed_level: str | None = None
    maintenance: bool | None = None

    def describe(self) -> str:
        fixed = {k: v for k, v in self.model_dump(exclude={"line", "day", "shift"}).items() if v is not None}
        return f"line {self.line} on {self.day}, shift {self.shift}: " + ", ".join(f"{k}={v}" for k, v in fixed.items())


def _problem(site: Site, days: Sequence[date], lock: Lock) -> str | None:
    line = next((line for line in site.lines if line.id == lock.line), None)
    if line is None:
        return f"unknown line {lock.line!r}"
    if lock.shift not in [shift.name for shift in site.shifts]:
        return f"unknown shift {lock.shift!r}"
    if lock.day not in days:
        return f"{lock.day} is outside the planned days"
    if lock.family is not None and lock.family not in line.families:
        return f"line {lock.line} cannot make {lock.family}"
    if lock.speed_level is not None and lock.speed_level not in [level.name for level in line.speed_levels]:
        return f"line {lock.line} has no speed level {lock.speed_level!r}"
    return None


def locate_lock(site: Site, days: Sequence[date], lock: Lock) -> tuple[int, int, int]:
    """The (line index, day index, shift index) a lock fixes.

    Raises:
        LockError: naming what the site or the planned ``days`` do not have.
    """
    if problem := _problem(site, days, lock):
        raise LockError(f"lock {lock.describe()}: {problem}")
    line_index = next(li for li, line in enumerate(site.lines) if line.id == lock.line)
    shift_index = next(s for s, shift in enumerate(site.shifts) if shift.name == lock.shift)
    return line_index, list(days).index(lock.day), shift_index


class Unavailability(BaseModel):
    """A line that cannot run for ``days`` days from ``first_day`` (a breakdown, a holiday)."""

    model_config = ConfigDict(extra="forbid")

    line: str
    first_day: date
    days: PositiveInt = 1


def unavailability_locks(site: Site, days: Sequence[date], unavailable: Sequence[Unavailability]) -> list[Lock]:
    """A lock ``staffed=False`` on every shift of each unavailable line on each of its planned ``days``.

    Raises:
        LockError: for a line the site does not have.
    """
    lines = {line.id for line in site.lines}
    planned = set(days)
    locks = []
    for rule in unavailable:
        if rule.line not in lines:
            raise LockError(f"line {rule.line!r} is unavailable, but the site has no such line")
        for offset in range(rule.days):
            day = rule.first_day + timedelta(days=offset)
            if day in planned:
                locks += [Lock(line=rule.line, day=day, shift=shift.name, staffed=False) for shift in site.shifts]
    return locks
