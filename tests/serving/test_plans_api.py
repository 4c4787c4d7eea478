"""The plan endpoints the planner page uses: plan jobs with progress and cancel, stored plans with
lineage, re-plans with locks and their diff, approval with the planner token, CSV export."""

import csv
import io
import time

import pytest

from planning import Plan
from serving.schemas import PlanJobRequest
from tests.serving.conftest import AS_PLANNER

_DEFAULT_REQUEST = PlanJobRequest().model_dump(mode="json")


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def _finished(client, job_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/plan-jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"plan job {job_id} still {job['status']} after {timeout_s} s")


def _plan(client, body: dict) -> dict:
    """Start a plan job and return the stored plan it made."""
    response = client.post("/plans", json=body, headers=AS_PLANNER)
    assert response.status_code == 202, response.text
    job = _finished(client, response.json()["id"])
    assert job["status"] == "succeeded", job
    return client.get(f"/plans/{job['plan_id']}").json()


@pytest.fixture(scope="module")
def first_plan(service_client):
    """The plan the service started by itself for its site, there being none stored (another
    service process on the same store may have started one too and been stopped: it is not this)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = service_client.get("/plan-jobs").json()
        if done := [j for j in jobs if j["status"] == "succeeded" and j["request"] == _DEFAULT_REQUEST]:
            return service_client.get(f"/plans/{done[-1]['plan_id']}").json()
        assert any(j["status"] in ("queued", "running") for j in jobs), jobs
        time.sleep(0.2)
    raise AssertionError("the service made no first plan")


def test_the_service_makes_a_first_plan_with_its_lineage_and_context(service_client, first_plan):
    assert first_plan["status"] == "draft" and first_plan["site"] == "sample-site"
    lineage = first_plan["lineage"]
    model = service_client.get("/model").json()
    assert lineage["model"] == {
        "name": "demand",
        "version": "1",
        "run_id": model["run_id"],
        "data_fingerprint": model["data_fingerprint"],
    }
    assert len(lineage["site_sha256"]) == 64 and lineage["forecast"] == "baseline"
    assert lineage["service_level"] == 0.95 and lineage["solver"]["time_limit_s"] == 2
    context = Plan.model_validate(first_plan["plan"]).context
    assert {f.family for f in context.forecast} == {f.family for f in context.history}
    assert max(h.day for h in context.history) < min(f.day for f in context.forecast)
    assert [s["id"] for s in service_client.get("/plans").json()][-1] == first_plan["id"]


def test_writes_need_the_planner_token(service_client, first_plan):
    for path, body in (("/plans", {}), (f"/plans/{first_plan['id']}/approve", {"by": "Ann"})):
        assert _error(service_client.post(path, json=body), 401)["code"] == "unauthorized"
        wrong = {"Authorization": "Bearer nope"}
        assert _error(service_client.post(path, json=body, headers=wrong), 401)["code"] == "unauthorized"


def test_a_locked_re_plan_keeps_the_lock_and_shows_what_changed(service_client, first_plan):
    idle = next(s for s in first_plan["plan"]["shifts"] if not s["staffed"] and not s["maintenance"])
    lock = {"line": idle["line"], "day": idle["day"], "shift": idle["shift"], "staffed": True}
    replan = _plan(service_client, {"locks": [lock], "replaces": first_plan["id"], "frozen_days": 2})
    assert replan["replaces"] == first_plan["id"] and replan["lineage"]["locks"][0]["staffed"] is True
    kept = next(s for s in replan["plan"]["shifts"] if (s["line"], s["day"], s["shift"]) == tuple(lock.values())[:3])
    assert kept["staffed"] is True
    diff = service_client.get(f"/plans/{first_plan['id']}/diff/{replan['id']}").json()
    assert any((c["line"], c["day"], c["shift"]) == (idle["line"], idle["day"], idle["shift"]) for c in diff["changed"])
    assert diff["cost"]["total"] == pytest.approx(
        replan["plan"]["kpis"]["cost"]["total"] - first_plan["plan"]["kpis"]["cost"]["total"], abs=0.01
    )


def test_an_unavailable_line_runs_no_shift_on_its_days(service_client, first_plan):
    day = first_plan["plan"]["shifts"][0]["day"]
    plan = _plan(service_client, {"unavailable": [{"line": "L1", "first_day": day, "days": 2}]})
    staffed = [s for s in plan["plan"]["shifts"] if s["line"] == "L1" and s["staffed"]]
    assert staffed and all(s["day"] > day for s in staffed)
    job = service_client.post("/plans", json={"unavailable": [{"line": "L9", "first_day": day}]}, headers=AS_PLANNER)
    failed = _finished(service_client, job.json()["id"])
    assert failed["status"] == "failed" and failed["error"]["field"] == "unavailable", failed


def test_a_running_plan_job_reports_progress_and_can_be_cancelled(service_client):
    job = service_client.post("/plans", json={"time_limit_s": 120}, headers=AS_PLANNER).json()
    deadline = time.monotonic() + 60
    while (seen := service_client.get(f"/plan-jobs/{job['id']}").json())["progress"] is None:
        assert time.monotonic() < deadline, seen
        time.sleep(0.2)
    assert seen["status"] == "running" and seen["progress"]["elapsed_s"] >= 0
    cancelled = service_client.post(f"/plan-jobs/{job['id']}/cancel", headers=AS_PLANNER)
    assert cancelled.status_code == 200, cancelled.text
    finished = _finished(service_client, job["id"], timeout_s=20)
    assert finished["status"] == "cancelled" and finished["plan_id"] is None


def test_approval_is_recorded_and_supersedes_the_approved_plan_of_the_same_days(service_client):
    first, second = _plan(service_client, {}), _plan(service_client, {})
    approved = service_client.post(f"/plans/{first['id']}/approve", json={"by": "Ann"}, headers=AS_PLANNER).json()
    assert (approved["status"], approved["approved_by"]) == ("approved", "Ann")
    again = service_client.post(f"/plans/{first['id']}/approve", json={"by": "Ann"}, headers=AS_PLANNER)
    assert _error(again, 409)["code"] == "not_a_draft"
    service_client.post(f"/plans/{second['id']}/approve", json={"by": "Bob"}, headers=AS_PLANNER)
    superseded = service_client.get(f"/plans/{first['id']}").json()
    assert (superseded["status"], superseded["superseded_by"]) == ("superseded", second["id"])
    assert superseded["plan"] == first["plan"]  # never modified
    assert next(p["id"] for p in service_client.get("/plans", params={"status": "approved"}).json()) == second["id"]


def test_the_csv_export_has_one_row_per_line_shift_of_the_stored_plan(service_client, first_plan):
    response = service_client.get(f"/plans/{first_plan['id']}/shifts.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(first_plan["plan"]["shifts"])
    made = sum(int(r["production"]) for r in rows)
    assert made == sum(s["production"] for s in first_plan["plan"]["shifts"])


@pytest.mark.parametrize(
    "method, path, status, code, field",
    [
        ("get", "/plans/nope", 404, "unknown_plan", "plan_id"),
        ("get", "/plan-jobs/nope", 404, "unknown_job", "job_id"),
        ("get", "/plans?status=lost", 422, "invalid_request", "query.status"),
        ("post", "/plans/nope/approve", 404, "unknown_plan", "plan_id"),
    ],
)
def test_plan_endpoint_errors_name_the_field(service_client, method, path, status, code, field):
    kwargs = {"json": {"by": "Ann"}, "headers": AS_PLANNER} if method == "post" else {}
    error = _error(getattr(service_client, method)(path, **kwargs), status)
    assert (error["code"], error["field"]) == (code, field)


def test_a_re_plan_of_an_unknown_plan_is_refused_before_any_job_starts(service_client):
    response = service_client.post("/plans", json={"replaces": "nope"}, headers=AS_PLANNER)
    assert _error(response, 404)["field"] == "replaces"


def test_a_job_whose_process_stopped_is_marked_interrupted_not_left_running(service_client, trained_home):
    """A record left running by a process that died (no heartbeat since) reads as interrupted."""
    from datetime import timedelta

    import bentoml

    from capcast.database import engine
    from planning.store import JobStore

    store = JobStore(engine(f"sqlite:///{trained_home / 'capcast.db'}"))
    orphan = store.create("sample-site", {})
    store.start(orphan.id, owner="gone:1")
    desk = bentoml.get_current_service().desk
    assert service_client.get(f"/plan-jobs/{orphan.id}").json()["status"] == "running"  # its heartbeat is fresh
    original, desk.stale_after = desk.stale_after, timedelta(0)
    try:
        job = service_client.get(f"/plan-jobs/{orphan.id}").json()
    finally:
        desk.stale_after = original
    assert job["status"] == "interrupted" and job["error"]["code"] == "interrupted", job
