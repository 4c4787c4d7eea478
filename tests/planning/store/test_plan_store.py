"""The plan store's contract, on SQLite and PostgreSQL: plans are immutable, approvals supersede."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from planning.store import PlanNotDraft, PlanNotFound, PlanStatus, PlanStore
from planning.store.tables import plan_events
from tests.planning.store.conftest import PLAN_START

SITE = "test-site"
T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
LINEAGE = {"model": {"name": "demand", "version": "3", "run_id": "abc"}, "service_level": 0.95, "seed": 0}


@pytest.fixture
def store(engine) -> PlanStore:
    return PlanStore(engine)


@pytest.fixture
def add(store, week_plan):
    """Store the week plan as a draft, moved to start ``offset`` days later (and to another site if asked)."""

    def add(offset: int = 0, *, site: str = SITE, **options):
        plan = week_plan.model_copy(update={"start": PLAN_START + timedelta(days=offset), "site": site})
        return store.add(plan, LINEAGE, **options)

    return add


def _plan_rows(engine) -> list[tuple]:
    """Every column of every plan row as the database holds it, JSON as its stored text."""
    with engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT id, site, start, days, created_at, created_by, replaces,"
            " CAST(lineage AS TEXT), CAST(plan AS TEXT) FROM plans ORDER BY id"
        ).all()


def test_a_stored_plan_reads_back_exactly_as_a_draft(store, week_plan):
    stored = store.add(week_plan, LINEAGE, by="ana", at=T0)
    read = store.get(stored.id)
    assert read == stored
    assert read.plan.model_dump() == week_plan.model_dump()
    assert len(read.id) == 32 and read.lineage == LINEAGE
    assert (read.status, read.site, read.start, read.days) == (PlanStatus.DRAFT, SITE, PLAN_START, 7)
    assert read.end == PLAN_START + timedelta(days=6)
    assert (read.created_at, read.created_by) == (T0, "ana")
    assert (read.approved_at, read.approved_by, read.superseded_by, read.replaces) == (None, None, None, None)
    assert read.cost == week_plan.kpis.cost.total
    assert read.expected_fill_rate == week_plan.kpis.expected_fill_rate
    assert read.solver_status == week_plan.solver.status
    assert [(e.kind, e.at, e.by) for e in read.events] == [("created", T0, "ana")]


def test_timestamps_are_utc_in_and_out(store, week_plan):
    paris = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    stored = store.add(week_plan, LINEAGE, at=paris)
    assert stored.created_at == T0 and stored.created_at.tzinfo == UTC
    with pytest.raises(ValueError, match="time zone"):
        store.add(week_plan, LINEAGE, at=datetime(2026, 1, 1, 8, 0))


def test_a_replan_names_the_plan_it_replaces(store, add):
    first = add()
    assert add(replaces=first.id).replaces == first.id
    with pytest.raises(PlanNotFound, match="nope"):
        add(replaces="nope")


def test_an_unknown_plan_is_not_found(store):
    for call in (lambda: store.get("f" * 32), lambda: store.approve("f" * 32, by="ana")):
        with pytest.raises(PlanNotFound, match="f" * 32):
            call()


def test_lists_are_newest_first_and_filter_on_site_and_status(store, add):
    old, middle, new = (add(offset, at=T0 + timedelta(hours=offset)) for offset in (0, 7, 14))
    elsewhere = add(site="other", at=T0 + timedelta(hours=30))
    store.approve(middle.id, by="ana")

    assert [p.id for p in store.list()] == [elsewhere.id, new.id, middle.id, old.id]
    assert [p.id for p in store.list(site=SITE)] == [new.id, middle.id, old.id]
    assert [p.id for p in store.list(status=PlanStatus.APPROVED)] == [middle.id]
    assert [p.id for p in store.list(site=SITE, status=PlanStatus.DRAFT)] == [new.id, old.id]
    assert [p.id for p in store.list(limit=2, offset=1)] == [new.id, middle.id]
    summary = store.list(status=PlanStatus.APPROVED)[0]
    assert (summary.status, summary.approved_by, summary.cost) == (PlanStatus.APPROVED, "ana", middle.cost)


def test_approving_records_who_and_when(store, add):
    draft = add()
    approved = store.approve(draft.id, by="ana", at=T0)
    assert (approved.status, approved.approved_by, approved.approved_at) == (PlanStatus.APPROVED, "ana", T0)
    assert [e.kind for e in approved.events] == ["created", "approved"]
    assert store.approved(SITE, PLAN_START + timedelta(days=6)) == approved
    assert store.approved(SITE, PLAN_START + timedelta(days=7)) is None
    assert store.approved("other", PLAN_START) is None


def test_an_overlapping_approval_supersedes_the_approved_plan_and_leaves_its_row_as_it_was(store, add, engine):
    first = store.approve(add().id, by="ana")
    second = add(3)
    rows_before = _plan_rows(engine)

    store.approve(second.id, by="ben", at=T0)

    assert _plan_rows(engine) == rows_before  # the plans table only ever grows; no row is rewritten
    superseded = store.get(first.id)
    assert (superseded.status, superseded.superseded_by) == (PlanStatus.SUPERSEDED, second.id)
    assert superseded.plan == first.plan and superseded.approved_by == "ana"
    assert [(e.kind, e.by, e.superseded_by) for e in superseded.events][-1] == ("superseded", "ben", second.id)
    assert store.get(second.id).status == PlanStatus.APPROVED
    assert store.approved(SITE, PLAN_START + timedelta(days=4)).id == second.id
    assert store.approved(SITE, PLAN_START) is None  # the superseded plan no longer counts, not even for its own days


def test_an_approval_leaves_other_periods_other_sites_and_drafts_alone(store, add):
    week = store.approve(add().id, by="ana")
    next_week = store.approve(add(7).id, by="ana")  # starts the day after `week` ends: no overlap
    other_site = store.approve(add(site="other").id, by="ana")
    draft = add(1)

    store.approve(add(-3).id, by="ben")  # overlaps `week` only

    assert store.get(week.id).status == PlanStatus.SUPERSEDED
    assert store.get(next_week.id) == next_week
    assert store.get(other_site.id) == other_site
    assert store.get(draft.id).status == PlanStatus.DRAFT


def test_only_a_draft_can_be_approved(store, add):
    first = store.approve(add().id, by="ana")
    with pytest.raises(PlanNotDraft, match="is approved"):
        store.approve(first.id, by="ana")
    store.approve(add(2).id, by="ben")
    with pytest.raises(PlanNotDraft, match="is superseded"):
        store.approve(first.id, by="ana")


def _approve_at_once(store: PlanStore, plan_ids: list[str]) -> list[Exception]:
    """Approve each plan in its own thread, all released together; the exceptions they raised."""
    ready, errors = threading.Barrier(len(plan_ids)), []

    def approve(plan_id: str) -> None:
        ready.wait()
        try:
            store.approve(plan_id, by="ana")
        except Exception as error:  # returned: an exception in a thread would pass unseen
            errors.append(error)

    threads = [threading.Thread(target=approve, args=(plan_id,)) for plan_id in plan_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_approvals_of_overlapping_plans_leave_one_approved(store, add):
    for offset in range(3):  # a few rounds: a race the per-site lock did not close would show in one of them
        drafts = {add(offset).id, add(offset + 1).id}
        assert _approve_at_once(store, list(drafts)) == []
        approved = store.list(site=SITE, status=PlanStatus.APPROVED)
        assert len(approved) == 1 and approved[0].id in drafts
        (loser,) = drafts - {approved[0].id}
        assert store.get(loser).superseded_by == approved[0].id


def test_the_database_refuses_an_unknown_event_kind(engine, add):
    plan = add()
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(plan_events.insert().values(plan_id=plan.id, kind="edited", at=T0))
