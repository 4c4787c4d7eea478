"""The planner page in a real browser against a real service (issue 11, "Tests and evidence"): a plan
with its forecast bands and Gantt, a lock from the Gantt kept by a re-plan with its diff, a plan job's
progress and cancel, approval surviving a restart, exports, readable errors, unmet demand on an
under-capacity site, and no serious or critical accessibility violation."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

from tests.serving.ui.conftest import PLANNER_TOKEN, TOKEN_KEY

READY_PLAN = "document.body.dataset.ready === 'plan'"
TABS = ["overview", "schedule", "kpis", "act", "lineage"]


# ---- helpers ---------------------------------------------------------------------------------------


def open_plan(page, service, plan_id: str | None = None) -> str:
    """Open the page (on ``plan_id``, else the newest plan) and wait until its charts are drawn."""
    page.goto(f"{service.url}/ui/" + (f"?plan={plan_id}" if plan_id else ""))
    page.wait_for_function(READY_PLAN)
    assert page.inner_text("#alerts").strip() == ""
    return page.evaluate("document.body.dataset.planId")


def traces(page, chart: str) -> list[dict]:
    """The Plotly traces drawn in the element ``chart``."""
    script = "id => document.getElementById(id).data.map(t => ({name: t.name, type: t.type, x: t.x, y: t.y, z: t.z}))"
    return page.evaluate(script, chart)


def named(found: list[dict], prefix: str) -> dict:
    return next(t for t in found if (t["name"] or "").startswith(prefix))


def keep_token(page) -> None:
    page.evaluate("([key, token]) => sessionStorage.setItem(key, token)", [TOKEN_KEY, PLANNER_TOKEN])


def answer_token_dialog(page, token: str = PLANNER_TOKEN) -> None:
    page.wait_for_selector("#token-dialog[open]")
    page.fill("#token-input", token)
    page.click("#token-form button[value=save]")


def wait_for_new_plan(page, old_id: str) -> str:
    page.wait_for_function(f"{READY_PLAN} && document.body.dataset.planId !== '{old_id}'")
    return page.evaluate("document.body.dataset.planId")


def day_label(page, iso: str) -> str:
    """A day as the page writes it."""
    script = """d => new Intl.DateTimeFormat('en-GB', {weekday: 'short', day: 'numeric', month: 'short'})
        .format(new Date(d + 'T00:00:00'))"""
    return page.evaluate(script, iso)


def click_gantt_cell(page, line: str, column: int) -> None:
    """Click the Gantt's cell of ``line`` in ``column`` (day index x shifts a day + shift index) where the
    planner would: at its centre on screen."""
    page.locator("#gantt-chart").scroll_into_view_if_needed()
    centre = page.evaluate(
        """([line, column]) => {
            const gd = document.getElementById('gantt-chart');
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
            return [box.left + xa._offset + xa.d2p(gd.data[0].x[column]), box.top + ya._offset + ya.d2p(line)];
        }""",
        [line, column],
    )
    page.mouse.click(*centre)


def table_rows(page, selector: str) -> list[list[str]]:
    script = "s => [...document.querySelectorAll(s + ' tbody tr')].map(r => [...r.cells].map(c => c.textContent))"
    return page.evaluate(script, selector)


# ---- tests -------------------------------------------------------------------------------------------


def test_the_page_shows_the_newest_plan_with_forecast_bands_and_the_gantt(page, service):
    shown = open_plan(page, service)  # the service made the first plan by itself: a job, then the plan
    site = service.get("/site")
    assert shown == service.get("/plans", site=site["name"])[0]["id"]
    stored = service.get(f"/plans/{shown}")

    forecast = traces(page, "forecast-chart")
    mean = named(forecast, "Forecast mean")
    for level in ("95", "80"):
        band = [t for t in forecast if (t["name"] or "").startswith(f"{level}% band")]
        assert band and len(band[0]["y"]) == len(mean["y"]) == stored["days"]
    high95, high80 = named(forecast, "95% band")["y"], named(forecast, "80% band")["y"]
    assert all(h95 >= h80 >= m for h95, h80, m in zip(high95, high80, mean["y"]))
    assert named(forecast, "Actual demand")["x"][-1] < stored["start"]
    covered = named(forecast, "Covered demand")
    daily = {}
    for flow in stored["plan"]["families"]:
        daily[flow["day"]] = daily.get(flow["day"], 0) + flow["demand"]
    assert covered["y"] == [daily[d] for d in covered["x"]]
    assert {"Planned production", "Capacity of staffed shifts"} <= {t["name"] for t in forecast}
    assert f"{100 * stored['expected_fill_rate']:.1f}%" in page.inner_text("#overview-tiles")

    page.click("#tab-schedule")
    assert page.is_visible("#gantt-chart") and not page.is_visible("#forecast-chart")
    gantt = traces(page, "gantt-chart")[0]
    shifts_per_day = len(site["shifts"])
    assert gantt["type"] == "heatmap" and gantt["y"] == [line["id"] for line in site["lines"]]
    assert all(len(row) == stored["days"] * shifts_per_day for row in gantt["z"])
    assert page.locator("#gantt-chart .hm image").count() == 1  # the cells are drawn


def test_a_lock_set_on_the_gantt_is_kept_by_the_re_plan_which_shows_its_diff(page, service):
    first = open_plan(page, service)
    stored = service.get(f"/plans/{first}")
    idle = next(s for s in stored["plan"]["shifts"] if not s["staffed"] and not s["maintenance"])
    shifts = [shift["name"] for shift in service.get("/site")["shifts"]]
    day_index = (date.fromisoformat(idle["day"]) - date.fromisoformat(stored["start"])).days
    page.click("#tab-schedule")
    click_gantt_cell(page, idle["line"], day_index * len(shifts) + shifts.index(idle["shift"]))
    picked = [page.input_value(f"#lock-{field}") for field in ("line", "day", "shift")]
    assert picked == [idle["line"], idle["day"], idle["shift"]]
    page.select_option("#lock-staffed", "true")
    page.click("#lock-save")
    assert "Locked: staffed (new)" in page.inner_text("#lock-planned")

    page.click("#lock-goto-replan")
    assert page.is_visible("#replan-form")
    page.fill("#replan-frozen", "2")
    page.click("#replan-button")
    answer_token_dialog(page)  # the first write asks for the planner token
    replan_id = wait_for_new_plan(page, first)

    replan = service.get(f"/plans/{replan_id}")
    assert replan["replaces"] == first and replan["lineage"]["frozen_days"] == 2
    key = (idle["line"], idle["day"], idle["shift"])
    assert [lock for lock in replan["lineage"]["locks"] if (lock["line"], lock["day"], lock["shift"]) == key]
    assert next(s for s in replan["plan"]["shifts"] if (s["line"], s["day"], s["shift"]) == key)["staffed"]
    assert idle["line"] in named(traces(page, "gantt-chart"), "locked")["y"]

    page.wait_for_selector("#replan-diff .diff-summary")
    diff = service.get(f"/plans/{first}/diff/{replan_id}")
    assert page.get_attribute("#replan-diff .diff-summary", "data-changed") == str(len(diff["changed"]))
    changed = table_rows(page, "#replan-diff .table-wrap.scroll")
    assert [idle["line"], day_label(page, idle["day"]), idle["shift"], "idle"] in [row[:4] for row in changed]
    banner = page.inner_text("#diff-banner")
    assert f"{len(diff['changed'])} line-shift(s) changed" in banner and "expected fill rate" in banner


def test_a_plan_job_shows_its_progress_and_can_be_cancelled(page, service):
    open_plan(page, service)
    keep_token(page)
    page.click("#tab-act")
    page.fill("#replan-time-limit", "120")
    page.click("#replan-button")
    page.wait_for_function("document.getElementById('job-text').textContent.includes(' s elapsed')")
    progress = page.inner_text("#job-text")
    assert re.search(r"Running: [\d.]+ s elapsed · best plan cost [\d,–]+ · proven bound [\d,–]+ · gap", progress)
    job = next(j for j in service.get("/plan-jobs") if j["status"] == "running")
    page.click("#job-cancel")
    page.wait_for_function("document.getElementById('job-panel').dataset.status === 'cancelled'")
    assert "Cancelled" in page.inner_text("#job-text")
    finished = service.get(f"/plan-jobs/{job['id']}")
    assert finished["status"] == "cancelled" and finished["plan_id"] is None


def test_a_failed_plan_job_names_the_conflicting_rules_and_the_cheapest_relaxation(page, service):
    shown = open_plan(page, service)
    keep_token(page)
    site, stored = service.get("/site"), service.get(f"/plans/{shown}")
    line = site["lines"][0]
    in_window = (date.fromisoformat(stored["start"]) + timedelta(days=line["maintenance"]["earliest_day"])).isoformat()
    page.click("#tab-schedule")
    page.select_option("#lock-line", line["id"])  # the lock form: the Gantt's keyboard path
    page.select_option("#lock-day", in_window)
    page.select_option("#lock-shift", site["shifts"][0]["name"])
    page.select_option("#lock-staffed", "true")
    page.select_option("#lock-maintenance", "true")  # staffed and in maintenance at once: no plan can
    page.click("#lock-save")
    page.click("#lock-goto-replan")
    page.click("#replan-button")
    page.wait_for_selector("#alerts .alert")
    alert = page.inner_text("#alerts")
    assert "Could not make the plan" in alert and "no plan satisfies all of" in alert
    assert "Cheapest relaxation" in alert and line["id"] in alert
    assert page.get_attribute("#job-panel", "data-status") == "failed"
    assert "Cheapest relaxation" in page.inner_text("#job-text")
    assert page.evaluate("document.body.dataset.planId") == shown  # the shown plan stays


def test_request_errors_appear_as_messages(page, service):
    page.goto(f"{service.url}/ui/?plan=no-such-plan")
    page.wait_for_function("document.body.dataset.ready === 'empty'")
    assert "Could not open plan no-such-plan: no plan 'no-such-plan' (field: plan_id)" in page.inner_text("#alerts")
    assert page.is_visible("#empty-state")

    open_plan(page, service)
    page.evaluate("([key]) => sessionStorage.setItem(key, 'a wrong token')", [TOKEN_KEY])
    page.click("#tab-act")
    page.click("#replan-button")
    page.wait_for_selector("#token-dialog[open]")
    assert "The planner token was refused" in page.inner_text("#token-reason")
    page.click("#token-cancel")
    page.wait_for_selector("#alerts .alert")
    assert "the planner token was refused" in page.inner_text("#alerts")
    assert page.evaluate("([key]) => sessionStorage.getItem(key)", [TOKEN_KEY]) is None


def test_the_exports_parse_and_match_the_stored_plan(page, service):
    shown = open_plan(page, service)
    stored = service.get(f"/plans/{shown}")
    with page.expect_download() as download:
        page.click("#export-csv")
    assert download.value.suggested_filename == f"plan-{shown}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    planned = {(s["line"], s["day"], s["shift"]): s for s in stored["plan"]["shifts"]}
    assert len(rows) == len(planned)
    for row in rows:
        decision = planned[row["line"], row["day"], row["shift"]]
        assert (int(row["staffed"]), row["family"] or None, int(row["production"])) == (
            int(decision["staffed"]),
            decision["family"],
            decision["production"],
        )
        assert (row["plan_id"], int(row["maintenance"])) == (shown, int(decision["maintenance"]))

    with page.expect_download() as download:
        page.click("#export-json")
    assert download.value.suggested_filename == f"plan-{shown}.json"
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert exported == stored


def test_an_approved_plan_is_listed_as_approved_and_unchanged_after_a_restart(page, service):
    shown = open_plan(page, service)
    page.click("#approve-button")
    page.fill("#approve-name", "Ann Planner")
    page.click("#approve-form button[value=approve]")
    answer_token_dialog(page)
    page.wait_for_function("document.getElementById('plan-status').dataset.status === 'approved'")
    assert page.inner_text("#plan-status").startswith("Approved by Ann Planner")
    assert page.is_disabled("#approve-button")
    before = service.get(f"/plans/{shown}")

    service.restart()
    assert service.get(f"/plans/{shown}") == before
    assert shown in [p["id"] for p in service.get("/plans", status="approved")]
    open_plan(page, service, shown)
    assert page.inner_text("#plan-status").startswith("Approved by Ann Planner")
    page.click("#tab-lineage")
    page.wait_for_function(
        "id => [...document.querySelectorAll('#history-table a')].some(a => a.href.endsWith(id))", arg=shown
    )
    listed = next(row for row in table_rows(page, "#history-table") if row[0] == shown[:8])
    assert listed[2] == "approved" and listed[4].startswith("Ann Planner")
    assert before["lineage"]["model"]["data_fingerprint"] in page.inner_text("#lineage-list")


def test_unmet_demand_is_shown_on_an_under_capacity_site(page, tight_service):
    shown = open_plan(page, tight_service)
    stored = tight_service.get(f"/plans/{shown}")
    assert stored["site"] == "tight-site"
    short = [f for f in stored["plan"]["families"] if f["backlog"] > 0]
    assert short, "the tight site should leave demand unmet"
    days = {f["day"] for f in short}
    assert f"Unmet demand on {len(days)} day(s)" in page.inner_text("#shortage-summary")
    rows = table_rows(page, "#shortage-table")
    assert len(rows) == len(short) and all(row[-1].strip() for row in rows)  # each with what limited it
    unmet = named(traces(page, "forecast-chart"), "Unmet demand")
    per_day = {}
    for f in short:
        per_day[f["day"]] = per_day.get(f["day"], 0) + f["backlog"]
    assert dict(zip(unmet["x"], unmet["y"])) == per_day
    assert "Days short" in page.inner_text("#overview-tiles .tile.warning")
    page.click("#tab-schedule")
    assert page.locator("#gantt-chart .hm image").count() == 1


def test_every_view_is_keyboard_reachable_without_serious_accessibility_violations(page, service):
    open_plan(page, service)
    page.focus("#tab-overview")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-schedule"
    assert page.get_attribute("#tab-schedule", "aria-selected") == "true" and page.is_visible("#panel-schedule")
    page.keyboard.press("End")
    assert page.is_visible("#panel-lineage") and not page.is_visible("#panel-schedule")

    axe, found = Axe(), []

    def check(where: str) -> None:
        found.extend((where, v["id"], v["impact"], v["help"]) for v in axe.run(page).response["violations"])

    for tab in TABS:
        page.click(f"#tab-{tab}")
        if tab == "act":  # with two plans side by side
            page.click("#compare-form button[type=submit]")
            page.wait_for_selector("#compare-result table")
        check(tab)
    page.click("#token-button")
    page.wait_for_selector("#token-dialog[open]")
    check("token dialog")
    page.keyboard.press("Escape")
    page.evaluate("document.getElementById('approve-dialog').showModal()")  # the shown plan may be approved already
    check("approve dialog")
    page.keyboard.press("Escape")
    serious = [v for v in found if v[2] in ("serious", "critical")]
    assert not serious, serious
