"""What a re-plan changed: line-shifts whose decision differs, and the cost and service deltas."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from planning.domain.plan import Plan, ShiftDecision

__all__ = ["PlanDiff", "ShiftChange", "ShiftState", "plan_diff"]


class ShiftState(BaseModel):
    """A line-shift's decision, as a planner compares it."""

    staffed: bool
    maintenance: bool
    family: str | None = None
    speed_level: str | None = None

    @classmethod
    def of(cls, decision: ShiftDecision) -> ShiftState:
        return cls(
            staffed=decision.staffed,
            maintenance=decision.maintenance,
            family=decision.family,
            speed_level=decision.speed_level,
        )


class ShiftChange(BaseModel):
    line: str
    day: date
    shift: str
    before: ShiftState
    after: ShiftState


class PlanDiff(BaseModel):
    """``after`` against ``before`` on the line-shifts both plan; deltas are after minus before.

    Attributes:
        changed: line-shifts whose staffing, family, speed level or maintenance differ.
        days_only_before, days_only_after: planned days the other plan does not cover.
        cost: change of each cost kind and of the total (site currency).
        expected_fill_rate, changeovers, line_utilisation: changes of those KPIs.
    """

    before: str
    after: str
    changed: list[ShiftChange]
    days_only_before: list[date]
    days_only_after: list[date]
    cost: dict[str, float]
    expected_fill_rate: float
    changeovers: int
    line_utilisation: float


def plan_diff(before: Plan, after: Plan, before_id: str = "before", after_id: str = "after") -> PlanDiff:
    old = {(d.line, d.day, d.shift): d for d in before.shifts}
    new = {(d.line, d.day, d.shift): d for d in after.shifts}
    changed = []
    for key in sorted(old.keys() & new.keys(), key=lambda k: (k[1], k[0], k[2])):  # by day, line, shift
        was, now = ShiftState.of(old[key]), ShiftState.of(new[key])
        if was != now:
            line, day, shift = key
            changed.append(ShiftChange(line=line, day=day, shift=shift, before=was, after=now))
    old_days, new_days = {d.day for d in before.shifts}, {d.day for d in after.shifts}
    old_cost, new_cost = before.kpis.cost.model_dump(), after.kpis.cost.model_dump()
    return PlanDiff(
        before=before_id,
        after=after_id,
        changed=changed,
        days_only_before=sorted(old_days - new_days),
        days_only_after=sorted(new_days - old_days),
        cost={kind: round(new_cost[kind] - old_cost[kind], 2) for kind in new_cost},
        expected_fill_rate=round(after.kpis.expected_fill_rate - before.kpis.expected_fill_rate, 4),
        changeovers=after.kpis.changeovers - before.kpis.changeovers,
        line_utilisation=round(after.kpis.line_utilisation - before.kpis.line_utilisation, 4),
    )
