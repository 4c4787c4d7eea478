"""From forecast rows to a plan: what the plan covers, with or without product families."""

import pytest

from planning import DemandBasis, SolverSettings, UnknownDemandColumn, demand_for_forecast, plan_rows, recommend
from tests.planning.conftest import make_site

FAST = SolverSettings(time_limit_s=1)


def _rows(with_family: bool) -> list[dict]:
    return [
        {"unique_id": uid, "ds": f"2026-01-0{day}", "mean": 40.0, "q10": 30.0, "q50": 40.0, "q90": 55.0}
        | ({"family": uid} if with_family else {})
        for uid in ("A", "B")
        for day in range(5, 10)
    ]


@pytest.mark.parametrize("with_family", [True, False])
def test_series_without_family_are_planned_as_their_own_product(with_family):
    plan = recommend(_rows(with_family), make_site(), DemandBasis(column="mean"), FAST)
    assert sorted({f.family for f in plan.families}) == ["A", "B"]
    assert all(f.demand == 40 for f in plan.families)


def test_default_covers_a_service_level_above_the_mean():
    mean = demand_for_forecast(_rows(True), DemandBasis(column="mean"))
    covered = demand_for_forecast(_rows(True), DemandBasis(service_level=0.95))
    assert sum(map(sum, covered.units.values())) > sum(map(sum, mean.units.values()))
    shared = demand_for_forecast(_rows(True), DemandBasis(service_level=0.95, level_error=0.2))
    assert sum(map(sum, shared.units.values())) > sum(map(sum, covered.units.values()))


@pytest.mark.parametrize("column", ["unique_id", "family", "ds", "q99", "item_id"])
def test_only_mean_or_quantile_columns_can_be_planned_for(column):
    with pytest.raises(UnknownDemandColumn) as error:
        demand_for_forecast(_rows(True), DemandBasis(column=column))
    assert error.value.choices == ["mean", "q10", "q50", "q90"]


def test_a_forecast_without_rows_is_refused():
    with pytest.raises(ValueError, match="no rows"):
        demand_for_forecast([], DemandBasis(column="mean"))


def test_basis_describes_itself_as_the_response_reports_it():
    assert DemandBasis(0.9, 0.163).describe() == "service level 0.9, level error 0.163"
    assert DemandBasis(column="q90").describe() == "q90"


def test_the_plan_carries_the_family_forecast_with_its_bands_and_recent_history():
    history = [
        {"unique_id": uid, "ds": f"2026-01-0{day}", "y": 30.0 + day, "family": uid} for uid in "AB" for day in (3, 4)
    ]
    plan = recommend(_rows(True), make_site(), DemandBasis(level_error=0.1), FAST, history=history)
    context = plan.context
    assert context.basis == "service level 0.95, level error 0.1"
    first = next(f for f in context.forecast if f.family == "A")
    assert first.mean == 40.0 and set(first.bands) == {"80", "95"}
    (lo80, hi80), (lo95, hi95) = first.bands["80"], first.bands["95"]
    assert lo95 < lo80 < first.mean < hi80 < hi95
    assert [(h.family, str(h.day), h.actual) for h in context.history][:2] == [
        ("A", "2026-01-03", 33.0),
        ("A", "2026-01-04", 34.0),
    ]
    # The service level covers more than the mean, within the 95% band's top on the first day.
    covered = next(f.demand for f in plan.families if f.family == "A")
    assert first.mean < covered <= hi95


def test_a_forecast_without_quantiles_still_carries_its_family_means():
    rows = [{k: v for k, v in row.items() if not k.startswith("q")} for row in _rows(True)]
    plan = recommend(rows, make_site(), DemandBasis(column="mean"), FAST)
    assert {(f.family, f.mean, tuple(f.bands)) for f in plan.context.forecast} == {("A", 40, ()), ("B", 40, ())}


def _hierarchy_rows(levels: tuple[str, ...]) -> list[dict]:
    """Two items of family F (each 40 a day) and the rows of ``levels``: F's own (80 a day, a band of its own)
    and the total."""
    items = [row | {"family": "F", "level": "unique_id"} for row in _rows(False)]
    own = {"family": ("F", 80.0, 60.0, 105.0), "total": ("total", 80.0, 60.0, 105.0)}
    aggregates = [
        {"unique_id": uid, "ds": f"2026-01-0{day}", "mean": mean, "q10": low, "q50": mean, "q90": high}
        | {"family": uid, "level": level}
        for level in levels
        for uid, mean, low, high in [own[level]]
        for day in range(5, 10)
    ]
    return items + aggregates


def test_a_hierarchy_plans_each_familys_own_row_or_else_its_items_never_every_level():
    rows, families_own = plan_rows(_hierarchy_rows(("family", "total")))
    assert families_own and {r["unique_id"] for r in rows} == {"F"} and len(rows) == 5
    # The family's own band already holds what its items miss together: planned with no level error, it
    # covers what the items' independent spreads plus the level error cover when they are summed instead.
    own = demand_for_forecast(rows, DemandBasis(level_error=0.0))
    items, summed = plan_rows(_hierarchy_rows(("total",)))
    assert not summed and {r["unique_id"] for r in items} == {"A", "B"}
    independent = demand_for_forecast(items, DemandBasis(level_error=0.0))
    shared = demand_for_forecast(items, DemandBasis(level_error=0.2))
    assert sum(independent.units["F"]) < sum(own.units["F"]) <= sum(shared.units["F"])
    plain = _rows(True)
    assert plan_rows(plain) == (plain, False)
