"""The shop-floor CSV: one row per line-shift, the same decisions as the plan."""

import csv
import io

from planning import SHIFT_COLUMNS, shift_csv
from planning.solver.solve import SolverSettings, solve


def test_every_line_shift_is_one_row_with_the_plans_decision(site, week_demand):
    plan = solve(site, week_demand, SolverSettings(time_limit_s=2))
    rows = list(csv.DictReader(io.StringIO(shift_csv(plan, "p1"))))
    assert tuple(rows[0]) == SHIFT_COLUMNS and len(rows) == len(plan.shifts)
    by_key = {(r["line"], r["day"], r["shift"]): r for r in rows}
    for d in plan.shifts:
        row = by_key[d.line, d.day.isoformat(), d.shift]
        assert (row["plan_id"], row["site"]) == ("p1", plan.site)
        assert (row["staffed"], row["maintenance"]) == (str(int(d.staffed)), str(int(d.maintenance)))
        assert (row["family"] or None, row["speed_level"] or None, int(row["production"])) == (
            d.family,
            d.speed_level,
            d.production,
        )
    first_day = [r for r in rows if r["day"] == rows[0]["day"]]
    assert [r["shift"] for r in first_day] == ["day", "day", "night", "night"]  # the site's shift order
