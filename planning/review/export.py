"""A plan for the shop floor: one CSV row per line-shift."""

from __future__ import annotations

import csv
import io

from planning.domain.plan import Plan

__all__ = ["SHIFT_COLUMNS", "shift_csv"]

SHIFT_COLUMNS = (
    "plan_id",
    "site",
    "day",
    "shift",
    "line",
    "staffed",
    "family",
    "speed_level",
    "production",
    "maintenance",
)


def shift_csv(plan: Plan, plan_id: str) -> str:
    """The plan's line-shifts as CSV text (``SHIFT_COLUMNS``; days in order, then shifts as the
    site runs them, then lines), with a header row."""
    shift_order = {name: index for index, name in enumerate(dict.fromkeys(d.shift for d in plan.shifts))}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SHIFT_COLUMNS)
    for d in sorted(plan.shifts, key=lambda d: (d.day, shift_order[d.shift], d.line)):
        writer.writerow(
            [
                plan_id,
                plan.site,
                d.day.isoformat(),
                d.shift,
                d.line,
                int(d.staffed),
                d.family or "",
                d.speed_level or "",
                d.production,
                int(d.maintenance),
            ]
        )
    return out.getvalue()
