"""Who can work when: the labour pool as one team of people, with minimum rest between shifts.

A person works at most one shift a day and rests ``Site.min_rest_hours``
between the end of one shift and the start of the next. Stretch each shift
to the time its people are taken: from its start to the later of its end plus
the rest and just past the start of its day's last shift (the one-shift-a-day
rule). Two shifts then share nobody exactly when their stretches overlap, so
the conflicts form an interval graph, and a roster of ``P`` people exists
exactly when, at every moment, the crews of the stretches covering it add up
to at most ``P`` (interval partitioning). The moments that matter are the
stretch starts; each gives one group of slots whose crews must fit in the pool.

People who worked before the first planned day are not known here: the rule
applies from day 0 on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from planning.domain.site import Site

__all__ = ["CrewGroup", "crew_groups"]

Slot = tuple[int, int]  # (day, shift index)


@dataclass(frozen=True)
class CrewGroup:
    """Line-shifts that no person can work two of: their crews together fit in the pool."""

    slots: tuple[Slot, ...]
    description: str


def _stretches(site: Site, n_days: int) -> dict[Slot, tuple[int, int]]:
    starts = site.shift_starts
    last_start = max(starts)
    stretch = {}
    for d in range(n_days):
        for s, shift in enumerate(site.shifts):
            begin = 24 * d + starts[s]
            stretch[d, s] = (begin, max(begin + shift.hours + site.min_rest_hours, 24 * d + last_start + 1))
    return stretch


def _describe(site: Site, slots: Sequence[Slot], days: Sequence[date]) -> str:
    by_day: dict[int, list[str]] = {}
    for d, s in slots:  # in (day, shift) order
        by_day.setdefault(d, []).append(site.shifts[s].name)
    pool = f"{site.labour_pool_per_day} {'person' if site.labour_pool_per_day == 1 else 'people'}"
    if len(by_day) == 1:
        return f"labour pool of {pool} on {days[next(iter(by_day))]}"
    staffed = " and ".join(f"{', '.join(names)} on {days[d]}" for d, names in by_day.items())
    return f"minimum rest of {site.min_rest_hours} h between shifts: one pool of {pool} works {staffed}"


def crew_groups(site: Site, days: Sequence[date]) -> list[CrewGroup]:
    """The maximal groups of line-shifts (per day and shift, over all lines) that need distinct people."""
    stretch = _stretches(site, len(days))
    groups: list[frozenset[Slot]] = []
    for moment in sorted({begin for begin, _ in stretch.values()}):
        covering = frozenset(slot for slot, (begin, end) in stretch.items() if begin <= moment < end)
        groups.append(covering)
    maximal = [g for g in dict.fromkeys(groups) if not any(g < other for other in groups)]
    ordered = [tuple(sorted(g)) for g in maximal]
    return [CrewGroup(slots, _describe(site, slots, days)) for slots in ordered]
