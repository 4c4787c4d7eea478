"""Seeded planning instances for the solve-quality benchmark: a Site and its Demand.

The three sizes of issue 5 (2 lines x 14 days, 10 x 28, 30 x 56), each with
3 shifts a day of 8 h (late and night dearer), 3 speed levels per line (slow
needs one person fewer, fast one more), 5 product families with every line
eligible for 2-3 of them, a changeover cost per line, one maintenance stop per
line inside a window, at most ceil(lines / 10) lines down at once, a labour
pool that binds on busy days, a regular crew-hour allowance with an overtime
premium, storage for about 3 days of demand, and holding / backlog / lost-sale
costs priced from the unit production cost so that serving demand pays.

Demand per family per day is a weekly pattern plus noise; in total it is
55-65% of what every line could make running every shift at normal speed.

This module lives in benchmarks/ on purpose: it is a test fixture, not part of
the planner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from planning import Demand, Site

__all__ = ["COST_MIX", "SIZES", "Instance", "make_instance"]

SIZES: dict[str, tuple[int, int]] = {"small": (2, 14), "medium": (10, 28), "large": (30, 56)}
FAMILIES = [f"F{k}" for k in range(1, 6)]
START = date(2026, 1, 5)  # a Monday

SHIFTS = [
    {"name": "early", "hours": 8, "labour_cost_multiplier": 1.0},
    {"name": "late", "hours": 8, "labour_cost_multiplier": 1.1},
    {"name": "night", "hours": 8, "labour_cost_multiplier": 1.3},
]
CREW = 4  # people at normal speed; slow needs CREW - 1, fast CREW + 1
LABOUR_PER_CREW_HOUR = 28.0
OVERTIME_MULTIPLIER = 1.5
# (name, rate factor, crew, energy cost per hour)
LEVELS = [("slow", 0.7, CREW - 1, 18.0), ("normal", 1.0, CREW, 25.0), ("fast", 1.3, CREW + 1, 40.0)]
# People per day = this x the people that mean demand needs at normal speed: busy days
# (weekly peaks of 1.15-1.2x) need more, so the pool binds there unless output is built ahead.
LABOUR_POOL_HEADROOM = 1.10
REGULAR_HOURS_SHARE = 0.55  # of the crew hours of every line-shift at normal speed
STORAGE_DAYS = 3.0
# Mon..Sun multipliers of the weekly demand pattern (busy early week and Friday, quiet weekend).
WEEKLY = [1.15, 1.10, 1.00, 1.00, 1.20, 0.80, 0.75]

COST_MIX = (
    "3 shifts x 8 h (labour x1.0 early, x1.1 late, x1.3 night); labour 28/crew-hour, "
    "overtime x1.5 above 55% of the crew hours of all line-shifts at normal speed; "
    "speed levels slow/normal/fast = 0.7/1.0/1.3 x the line's rate (~100 units/h +-15%), "
    "crew 3/4/5, energy 18/25/40 per hour; changeover 150-300 per switch (per line); "
    "unit cost u = (4 x 28 + 25) / rate ~ 1.37; holding 0.02u per unit-day, backlog 0.5u per unit-day, "
    "lost sale 3u per unit short at the end; labour pool 1.1x the people that mean demand needs at "
    "normal speed (binds on busy days); storage 3 days of mean demand; "
    "initial stock 1 day of each family's mean demand; "
    "demand = weekly pattern (Mon..Sun 1.15/1.10/1.00/1.00/1.20/0.80/0.75) x family level x lognormal "
    "noise (sigma 0.12), scaled to 55-65% of all lines x shifts at normal speed; "
    "maintenance 2-4 shifts per line in a 5-7 day window, at most ceil(lines/10) lines down at once; no weekly budget"
)


@dataclass(frozen=True)
class Instance:
    name: str
    lines: int
    days: int
    seed: int
    site: Site
    demand: Demand
    utilisation: float  # total demand / capacity of all line-shifts at normal speed


def _eligibility(rng: np.random.Generator, n_lines: int) -> list[list[str]]:
    """2-3 families per line, handed out round-robin so every family has lines."""
    counts = [int(rng.integers(2, 4)) for _ in range(n_lines)]
    if sum(counts) < len(FAMILIES):  # 2 lines: the first takes 3, the second the other 2
        counts[0] = 3
    offset, result = int(rng.integers(len(FAMILIES))), []
    for k in counts:
        result.append(sorted(FAMILIES[(offset + j) % len(FAMILIES)] for j in range(k)))
        offset += k
    return result


def make_instance(name: str, seed: int = 0) -> Instance:
    """The generated site and demand of one size (``small``, ``medium`` or ``large``)."""
    n_lines, n_days = SIZES[name]
    rng = np.random.default_rng([seed, n_lines, n_days])
    n_shifts, shift_hours = len(SHIFTS), SHIFTS[0]["hours"]
    rates = [round(100 * rng.uniform(0.85, 1.15)) for _ in range(n_lines)]
    eligible = _eligibility(rng, n_lines)

    # Maintenance windows staggered over the horizon, so that K lines at once always leaves room.
    max_down = math.ceil(n_lines / 10)
    lines = []
    for i in range(n_lines):
        width = int(rng.integers(5, 8))  # window of 5-7 start days
        span = max(0, n_days - width - 1)
        earliest = min(span, max(0, round(i * span / max(1, n_lines - 1) + rng.uniform(-1, 1))))
        lines.append(
            {
                "id": f"L{i + 1:02d}",
                "crew_per_shift": CREW,
                "families": eligible[i],
                "speed_levels": [
                    {
                        "name": lv,
                        "units_per_hour": max(1, round(rates[i] * factor)),
                        "energy_cost_per_hour": energy,
                        "crew": crew,
                    }
                    for lv, factor, crew, energy in LEVELS
                ],
                "maintenance": {
                    "duration_shifts": int(rng.integers(2, 5)),
                    "earliest_day": earliest,
                    "latest_day": min(n_days - 1, earliest + width - 1),
                },
                "changeover_cost": float(round(rng.uniform(150, 300))),
            }
        )

    capacity_per_day = sum(rates) * shift_hours * n_shifts  # every line-shift at normal speed
    utilisation = float(rng.uniform(0.55, 0.65))
    # Family levels follow the capacity eligible for each family, so every family can be served.
    reach = {f: sum(rates[i] / len(eligible[i]) for i in range(n_lines) if f in eligible[i]) for f in FAMILIES}
    level = {f: reach[f] * rng.uniform(0.8, 1.2) for f in FAMILIES}
    raw = {
        f: np.array([level[f] * WEEKLY[(START + timedelta(days=d)).weekday()] for d in range(n_days)])
        * rng.lognormal(0.0, 0.12, n_days)
        for f in FAMILIES
    }
    scale = utilisation * capacity_per_day * n_days / sum(v.sum() for v in raw.values())
    units = {f: tuple(round(x) for x in raw[f] * scale) for f in FAMILIES}
    mean_daily = {f: sum(units[f]) / n_days for f in FAMILIES}

    real = sum(sum(v) for v in units.values()) / (capacity_per_day * n_days)
    unit_cost = (CREW * LABOUR_PER_CREW_HOUR + LEVELS[1][3]) / (sum(rates) / n_lines)
    site = Site.model_validate(
        {
            "name": f"bench-{name}-seed{seed}",
            "shifts": SHIFTS,
            "lines": lines,
            "labour_pool_per_day": round(LABOUR_POOL_HEADROOM * real * n_lines * n_shifts * CREW),
            "max_lines_in_maintenance": max_down,
            "storage_capacity": round(STORAGE_DAYS * sum(mean_daily.values())),
            "regular_crew_hours_per_day": int(REGULAR_HOURS_SHARE * n_lines * n_shifts * CREW * shift_hours),
            "costs": {
                "labour_per_crew_hour": LABOUR_PER_CREW_HOUR,
                "holding_per_unit_day": round(0.02 * unit_cost, 4),
                "backlog_per_unit_day": round(0.5 * unit_cost, 4),
                "lost_sale_per_unit": round(3.0 * unit_cost, 4),
                "overtime_multiplier": OVERTIME_MULTIPLIER,
            },
            "initial_inventory": {f: round(mean_daily[f]) for f in FAMILIES},
        }
    )
    demand = Demand(tuple(START + timedelta(days=d) for d in range(n_days)), units)
    return Instance(name, n_lines, n_days, seed, site, demand, round(real, 4))
