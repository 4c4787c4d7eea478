// The planner page: loads the shown plan (or the job making one), draws its views, and wires the actions.
// Readiness for tests and benchmarks: body[data-ready] is "plan" once the plan's charts are drawn
// (body[data-plan-id] names it), "job" while only a plan job is shown, "empty" with neither.

import { ReplanForm, LockEditor, planLocks } from "./act.js";
import { ApiError, api, askToken, storedToken, withToken } from "./api.js";
import { renderComparison, renderDiff, diffSummary } from "./diff.js";
import { $, day, fillTable, h, money, options, percent, shortId, when } from "./dom.js";
import { TOTAL, drawForecast, familiesOf, renderShortages } from "./forecast.js";
import { JobWatcher, isActive } from "./job.js";
import { drawUtilisation, overviewTiles, renderKpis } from "./kpis.js";
import { clickedCell, drawSchedule, renderLegend, scheduleModel, shownLines, windowRange } from "./schedule.js";

const state = {
  stored: null,
  site: null,
  model: null,
  schedule: null,
  locks: new Map(),
  family: TOTAL,
  filter: { family: "", lines: null },
  window: { days: 0, from: 0 },
  plans: [],
};

// ---- Plotly: loaded by its own <script async>; every drawing waits for it ------------------------------

const plotlyReady = new Promise((resolve, reject) => {
  if (window.Plotly) return resolve();
  const script = $("plotly-script");
  script.addEventListener("load", () => resolve());
  script.addEventListener("error", () =>
    reject(new ApiError(0, "plotly_missing", "the charting library (/ui/plotly.min.js) could not be loaded")),
  );
});

// ---- messages ----------------------------------------------------------------------------------------

function showError(error, action) {
  const message = error instanceof ApiError ? error.message : String(error?.message ?? error);
  const field = error instanceof ApiError && error.field ? ` (field: ${error.field})` : "";
  const code = error instanceof ApiError && error.code ? ` [${error.code}]` : "";
  const item = h(
    "div",
    { class: "alert" },
    h("p", {}, h("strong", {}, `Could not ${action}: `), `${message}${field}${code}`),
    h("button", { type: "button", class: "quiet small", onclick: () => item.remove() }, "Dismiss"),
  );
  $("alerts").append(item);
  if (!(error instanceof ApiError)) console.error(error);
}

function notify(text) {
  $("notice").textContent = text;
}

function setReady(kind, planId = null) {
  document.body.dataset.ready = kind;
  if (kind !== "loading") performance.mark(`capcast-ready-${kind}`); // read by benchmarks/page.py
  if (planId) document.body.dataset.planId = planId;
  else delete document.body.dataset.planId;
}

// ---- tabs ------------------------------------------------------------------------------------------

function tabs() {
  return [...document.querySelectorAll('[role="tab"]')];
}

function selectTab(tab, focus = true) {
  for (const other of tabs()) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !selected;
  }
  if (focus) tab.focus();
}

function wireTabs() {
  for (const tab of tabs()) {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (event) => {
      const all = tabs();
      const index = all.indexOf(tab);
      const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: all.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      selectTab(all[(next + all.length) % all.length]);
    });
  }
}

// ---- sizes ------------------------------------------------------------------------------------------

function chartWidth() {
  const main = $("main");
  const style = getComputedStyle(main);
  return Math.max(480, main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight));
}

let resizeTimer = null;
function onResize() {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (!state.stored) return;
    const width = chartWidth();
    for (const id of ["forecast-chart", "gantt-chart", "utilisation-chart"]) {
      if ($(id).data) Plotly.relayout(id, { width });
    }
  }, 200);
}

// ---- the header: what plan, its status, export and approve -------------------------------------------

function statusText(stored) {
  if (stored.status === "approved") return `Approved by ${stored.approved_by ?? "?"}, ${when(stored.approved_at)}`;
  if (stored.status === "superseded") return `Superseded by plan ${shortId(stored.superseded_by)}`;
  return "Draft";
}

function renderHeader(stored) {
  $("plan-heading").textContent =
    `${stored.site} · ${day(stored.start)} – ${day(stored.end)} (${stored.days} days) · ` +
    `plan ${shortId(stored.id)}, made ${when(stored.created_at)}`;
  const badge = $("plan-status");
  badge.textContent = statusText(stored);
  badge.dataset.status = stored.status;
  const csv = $("export-csv");
  csv.href = `/plans/${encodeURIComponent(stored.id)}/shifts.csv`;
  csv.setAttribute("download", `plan-${stored.id}.csv`);
  const json = $("export-json");
  json.href = `/plans/${encodeURIComponent(stored.id)}`;
  json.setAttribute("download", `plan-${stored.id}.json`);
  $("approve-button").disabled = stored.status !== "draft";
  $("approve-button").title = stored.status === "draft" ? "" : "Only a draft can be approved";
  document.title = `capcast · ${stored.site} · ${day(stored.start)} – ${day(stored.end)} (${stored.status})`;
}

function planLabel(summary) {
  return `${day(summary.start)} – ${day(summary.end)} · ${summary.status} · ${shortId(summary.id)}`;
}

function renderPlanPickers() {
  const plans = [...state.plans];
  if (state.stored && !plans.some((p) => p.id === state.stored.id)) plans.unshift(state.stored);
  const items = plans.map((p) => [p.id, planLabel(p)]);
  options($("plan-picker"), items, state.stored?.id);
  const current = state.stored?.id;
  const other = state.stored?.replaces ?? plans.find((p) => p.id !== current)?.id ?? current;
  options($("compare-a"), items, other);
  options($("compare-b"), items, current);
}

// ---- the views of one plan ------------------------------------------------------------------------------

function renderOverview(stored) {
  $("overview-tiles").replaceChildren(...overviewTiles(stored));
  const families = familiesOf(stored.plan);
  if (state.family !== TOTAL && !families.includes(state.family)) state.family = TOTAL;
  options($("family-picker"), [[TOTAL, "All families (total)"], ...families.map((f) => [f, f])], state.family);
  renderShortages(stored);
}

function renderLineFilter(model) {
  const checks = model.lines.map((line) =>
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", value: line, checked: !state.filter.lines || state.filter.lines.has(line) }),
      line,
    ),
  );
  $("line-checks").replaceChildren(...checks);
  updateLineSummary(model);
}

function updateLineSummary(model) {
  const shown = shownLines(model, state.filter).length;
  $("line-filter-summary").textContent =
    shown === model.lines.length ? `Lines: all ${shown}` : `Lines: ${shown} of ${model.lines.length}`;
}

function renderScheduleControls(model) {
  options($("gantt-family"), [["", "All families"], ...model.families.map((f) => [f, f])], state.filter.family);
  if (state.filter.family && !model.families.includes(state.filter.family)) state.filter.family = "";
  renderLineFilter(model);
  renderLegend($("gantt-legend"), model);
  const windows = [0, 7, 14, 28].filter((n) => n === 0 || n < model.days.length);
  options(
    $("gantt-window"),
    windows.map((n) => [String(n), n === 0 ? `All ${model.days.length}` : `${n / 7} week${n > 7 ? "s" : ""}`]),
  );
  state.window = { days: model.days.length > 28 ? 14 : 0, from: 0 }; // a long plan opens on its first two weeks
  $("gantt-window").value = String(state.window.days);
  updateWindowButtons(model);
}

function updateWindowButtons(model) {
  const { days, from } = state.window;
  $("gantt-earlier").disabled = !days || from === 0;
  $("gantt-later").disabled = !days || from + days >= model.days.length;
}

function redrawSchedule() {
  const model = state.schedule;
  const range = windowRange(model, state.window.days, state.window.from);
  return drawSchedule(model, state.filter, state.locks, chartWidth(), range);
}

function redrawForecast() {
  return drawForecast(state.stored, state.family, chartWidth());
}

function locksChanged() {
  replanForm.renderLocks(state.locks);
  redrawSchedule().catch((error) => showError(error, "draw the schedule"));
}

async function drawCharts() {
  await plotlyReady;
  const width = chartWidth();
  const measure = $("utilisation-measure").value;
  await Promise.all([redrawForecast(), redrawSchedule(), drawUtilisation(state.stored.plan, width, measure)]);
  wireGanttClicks();
}

let ganttWired = false;
function wireGanttClicks() {
  if (ganttWired) return;
  ganttWired = true;
  $("gantt-chart").on("plotly_click", (event) => {
    const cell = clickedCell(state.schedule, event, shownLines(state.schedule, state.filter));
    if (cell) lockEditor.pick(cell);
  });
}

function solverSetting(name, value) {
  if (name === "time_limit_s") return `time limit ${value} s`;
  const text = typeof value === "boolean" ? (value ? "yes" : "no") : value;
  return `${name.replaceAll("_", " ")}: ${text}`;
}

function renderLineage(stored) {
  const l = stored.lineage ?? {};
  const model = l.model
    ? `${l.model.name} version ${l.model.version} (run ${l.model.run_id})`
    : "none (forecast from a file)";
  const solver = l.solver
    ? Object.entries(l.solver)
        .map(([k, v]) => solverSetting(k, v))
        .join(" · ")
    : "–";
  const entries = [
    ["Plan", stored.id],
    ["Status", statusText(stored)],
    ["Site", `${l.site ?? stored.site}`],
    ["Site hash (SHA-256 of its rules)", l.site_sha256 ?? "–"],
    ["Model", model],
    ["Data fingerprint", l.model?.data_fingerprint ?? "–"],
    ["Forecast scenario", l.forecast ?? "–"],
    [
      "Covers",
      l.demand_column
        ? `forecast column ${l.demand_column}`
        : `service level ${l.service_level}, level error ${l.level_error}`,
    ],
    ["Horizon", `${l.horizon ?? stored.days} days from ${day(stored.start)}`],
    ["Solver seed", String(l.solver?.seed ?? stored.plan.solver.seed)],
    ["Solver settings", solver],
    ["Locks", `${l.locks?.length ?? 0}`],
    [
      "Replaces",
      l.replaces
        ? `plan ${l.replaces} (${l.frozen_days} frozen days, ${money(l.change_penalty_per_shift)} per changed shift)`
        : "no plan",
    ],
    ["Made by", `${l.made_by ?? "–"}, ${when(stored.created_at)}`],
  ];
  $("lineage-list").replaceChildren(...entries.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
  const events = (stored.events ?? []).map((e) =>
    h(
      "li",
      {},
      h("strong", {}, e.kind),
      ` ${when(e.at)}${e.by ? ` by ${e.by}` : ""}${e.superseded_by ? ` (by plan ${shortId(e.superseded_by)})` : ""}`,
    ),
  );
  $("event-list").replaceChildren(...events);
}

function renderHistory() {
  const rows = state.plans.map((p) => [
    h(
      "a",
      { href: `?plan=${encodeURIComponent(p.id)}`, "aria-current": p.id === state.stored?.id ? "page" : null },
      shortId(p.id),
    ),
    `${day(p.start)} – ${day(p.end)}`,
    p.status,
    when(p.created_at),
    p.approved_by ? `${p.approved_by}, ${when(p.approved_at)}` : "–",
    p.replaces ? shortId(p.replaces) : "–",
    money(p.cost),
    percent(p.expected_fill_rate, 1),
    p.solver_status,
  ]);
  fillTable(
    $("history-table"),
    ["Plan", "Period", "Status", "Made", "Approved", "Replaces", "Cost#", "Fill rate#", "Solver"],
    rows,
    "Stored plans of the site, newest first",
  );
}

function renderJobs(jobs) {
  const rows = jobs.map((j) => [
    shortId(j.id),
    j.status,
    when(j.created_at),
    j.plan_id ? h("a", { href: `?plan=${encodeURIComponent(j.plan_id)}` }, shortId(j.plan_id)) : "–",
    j.error?.message ?? "",
  ]);
  fillTable(
    $("jobs-table"),
    ["Job", "Status", "Submitted", "Plan", "Error"],
    rows.length ? rows : [["–", "no job yet", "", "", ""]],
    "Recent plan jobs of the site",
  );
}

async function refreshLists() {
  const site = state.site ? `&site=${encodeURIComponent(state.site.name)}` : "";
  try {
    const [plans, jobs] = await Promise.all([api(`/plans?limit=100${site}`), api("/plan-jobs?limit=20")]);
    state.plans = plans;
    renderPlanPickers();
    renderHistory();
    renderJobs(jobs);
  } catch (error) {
    showError(error, "list the stored plans");
  }
}

async function showReplacedDiff(stored) {
  const banner = $("diff-banner");
  if (!stored.replaces) {
    $("replan-diff").replaceChildren(h("p", { class: "note" }, "This plan replaces no other plan."));
    banner.hidden = true;
    return;
  }
  try {
    const diff = await api(`/plans/${encodeURIComponent(stored.replaces)}/diff/${encodeURIComponent(stored.id)}`);
    if (state.stored?.id !== stored.id) return;
    renderDiff($("replan-diff"), diff);
    banner.replaceChildren(
      h("p", {}, h("strong", {}, `This plan replaces plan ${shortId(stored.replaces)}: `), diffSummary(diff)),
      h("button", { type: "button", class: "quiet", onclick: () => selectTab($("tab-act")) }, "See what changed"),
    );
    banner.hidden = false;
  } catch (error) {
    showError(error, "compare the plan with the plan it replaces");
  }
}

/** Show stored plan `id`: every view, then data-ready="plan". */
async function openPlan(id, { push = false } = {}) {
  setReady("loading");
  let stored;
  try {
    [stored] = await Promise.all([api(`/plans/${encodeURIComponent(id)}`), siteAndModel]);
  } catch (error) {
    showError(error, `open plan ${id}`);
    if (!state.stored) {
      showEmpty("No plan to show: see the message above. ", "empty");
      $("empty-state").append(h("a", { href: "/ui/" }, "Show the newest plan of the site"));
    } else {
      setReady("plan", state.stored.id);
    }
    return;
  }
  if (push) history.pushState({ plan: id }, "", `?plan=${encodeURIComponent(id)}`);
  state.stored = stored;
  state.locks = planLocks(stored);
  state.schedule = scheduleModel(stored, state.site);
  $("empty-state").hidden = true;
  document.querySelector(".tabs").hidden = false;
  for (const control of PLAN_CONTROLS) $(control).hidden = false;
  selectTab(tabs().find((tab) => tab.getAttribute("aria-selected") === "true") ?? tabs()[0], false);
  renderHeader(stored);
  renderOverview(stored);
  renderScheduleControls(state.schedule);
  renderKpis(stored);
  renderLineage(stored);
  lockEditor.reset(state.schedule, state.locks);
  replanForm.reset(stored, state.model, state.site, state.schedule);
  replanForm.renderLocks(state.locks);
  renderPlanPickers();
  try {
    await drawCharts();
  } catch (error) {
    showError(error, "draw the charts");
  }
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  setReady("plan", stored.id);
  showReplacedDiff(stored);
  refreshLists();
}

const PLAN_CONTROLS = ["plan-picker-field", "plan-status", "export-csv", "export-json", "approve-button"];

/** No plan to show: say why, hide what needs a plan, and offer to make one when no job is under way. */
function showEmpty(text, ready, { offerPlan = false } = {}) {
  const empty = $("empty-state");
  empty.replaceChildren(text);
  if (offerPlan)
    empty.append(
      " ",
      h("button", { type: "button", class: "primary", onclick: () => startJob({}, "Plan") }, "Make a plan"),
    );
  empty.hidden = false;
  document.querySelector(".tabs").hidden = true;
  for (const tab of tabs()) $(tab.getAttribute("aria-controls")).hidden = true;
  for (const control of PLAN_CONTROLS) $(control).hidden = true;
  $("plan-heading").textContent = state.site ? `Site ${state.site.name}` : "No site configured";
  setReady(ready);
}

// ---- actions ------------------------------------------------------------------------------------------

async function startJob(body, what) {
  try {
    const job = await withToken((token) => api("/plans", { method: "POST", body, token }));
    if (!job) return;
    notify(`${what} started: plan job ${shortId(job.id)}.`);
    watcher.watch(job);
  } catch (error) {
    showError(error, `start the ${what.toLowerCase()}`);
  }
}

async function onJobDone(job) {
  if (job.status === "succeeded") {
    notify(`Plan job ${shortId(job.id)} made plan ${shortId(job.plan_id)} in ${job.progress?.elapsed_s ?? "?"} s.`);
    watcher.hide();
    await openPlan(job.plan_id, { push: true });
  } else if (job.status === "failed") {
    const error = job.error ?? {};
    showError(new ApiError(0, error.code, error.message ?? "the plan job failed", error.field), "make the plan");
    if (!state.stored) showEmpty("The plan job failed: see the message above.", "empty", { offerPlan: true });
  } else if (!state.stored) {
    showEmpty(`The plan job was ${job.status}; no plan is stored yet.`, "empty", { offerPlan: true });
  }
  refreshLists();
}

async function approve() {
  const stored = state.stored;
  const dialog = $("approve-dialog");
  $("approve-name").value = "";
  dialog.returnValue = "";
  dialog.showModal();
  const name = await new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "approve" ? $("approve-name").value.trim() : ""),
      { once: true },
    );
  });
  if (!name) return;
  try {
    const approved = await withToken((token) =>
      api(`/plans/${encodeURIComponent(stored.id)}/approve`, { method: "POST", body: { by: name }, token }),
    );
    if (!approved) return;
    notify(`Plan ${shortId(approved.id)} approved by ${approved.approved_by}.`);
    await openPlan(approved.id);
  } catch (error) {
    showError(error, "approve the plan");
  }
}

async function compare(event) {
  event.preventDefault();
  const a = $("compare-a").value;
  const b = $("compare-b").value;
  try {
    const [planA, planB, diff] = await Promise.all([
      api(`/plans/${encodeURIComponent(a)}`),
      api(`/plans/${encodeURIComponent(b)}`),
      api(`/plans/${encodeURIComponent(a)}/diff/${encodeURIComponent(b)}`),
    ]);
    renderComparison($("compare-result"), planA, planB, diff);
  } catch (error) {
    showError(error, "compare the plans");
  }
}

function wireControls() {
  $("family-picker").addEventListener("change", (event) => {
    state.family = event.target.value;
    redrawForecast().catch((error) => showError(error, "draw the forecast"));
  });
  $("gantt-family").addEventListener("change", (event) => {
    state.filter.family = event.target.value;
    updateLineSummary(state.schedule);
    redrawSchedule().catch((error) => showError(error, "draw the schedule"));
  });
  $("line-checks").addEventListener("change", () => {
    const picked = [...$("line-checks").querySelectorAll("input:checked")].map((input) => input.value);
    state.filter.lines = picked.length === state.schedule.lines.length ? null : new Set(picked);
    updateLineSummary(state.schedule);
    redrawSchedule().catch((error) => showError(error, "draw the schedule"));
  });
  for (const [id, all] of [
    ["lines-all", true],
    ["lines-none", false],
  ]) {
    $(id).addEventListener("click", () => {
      for (const input of $("line-checks").querySelectorAll("input")) input.checked = all;
      $("line-checks").dispatchEvent(new Event("change"));
    });
  }
  $("gantt-window").addEventListener("change", (event) => {
    state.window = { days: Number(event.target.value), from: 0 };
    updateWindowButtons(state.schedule);
    redrawSchedule();
  });
  for (const [id, step] of [
    ["gantt-earlier", -1],
    ["gantt-later", 1],
  ]) {
    $(id).addEventListener("click", () => {
      const { days } = state.window;
      const last = Math.max(0, state.schedule.days.length - days);
      state.window.from = Math.min(last, Math.max(0, state.window.from + step * days));
      updateWindowButtons(state.schedule);
      redrawSchedule();
    });
  }
  $("utilisation-measure").addEventListener("change", (event) => {
    drawUtilisation(state.stored.plan, chartWidth(), event.target.value).catch((error) =>
      showError(error, "draw the utilisation"),
    );
  });
  $("lock-goto-replan").addEventListener("click", () => selectTab($("tab-act")));
  $("plan-picker").addEventListener("change", (event) => openPlan(event.target.value, { push: true }));
  $("approve-button").addEventListener("click", approve);
  $("approve-cancel").addEventListener("click", () => $("approve-dialog").close());
  $("token-button").addEventListener("click", async () => {
    const token = await askToken(
      storedToken() ? "A planner token is kept for this tab; enter another to replace it." : null,
    );
    notify(token ? "Planner token kept for this browser tab." : storedToken() ? "" : "No planner token kept.");
  });
  $("compare-form").addEventListener("submit", compare);
  window.addEventListener("resize", onResize);
  window.addEventListener("popstate", () => {
    const id = new URLSearchParams(location.search).get("plan");
    if (id) openPlan(id);
  });
}

// ---- start ------------------------------------------------------------------------------------------

const watcher = new JobWatcher({ onDone: onJobDone, onError: showError });
const lockEditor = new LockEditor({ onChange: locksChanged });
const replanForm = new ReplanForm({
  onSubmit: (body) => startJob(body, "Re-plan"),
  onRemoveLock: (key) => {
    state.locks.delete(key);
    lockEditor.load();
    locksChanged();
  },
});

async function optional(path) {
  try {
    return await api(path);
  } catch (error) {
    if (error.code !== "no_site") showError(error, `read ${path}`);
    return null;
  }
}

const siteAndModel = Promise.all([optional("/site"), optional("/model")]).then(([site, model]) => {
  state.site = site;
  state.model = model;
});

async function newestPlanOrJob() {
  await siteAndModel;
  const site = state.site ? `&site=${encodeURIComponent(state.site.name)}` : "";
  const [plans, jobs] = await Promise.all([api(`/plans?limit=100${site}`), api("/plan-jobs?limit=20")]);
  state.plans = plans;
  const active = jobs.find(isActive);
  if (active) watcher.watch(active);
  if (plans.length) return openPlan(plans[0].id);
  if (active) return showEmpty("No plan yet: the service is making the first one (see its progress above).", "job");
  showEmpty("No plan is stored for this site and none is being made.", "empty", { offerPlan: true });
}

async function start() {
  wireTabs();
  wireControls();
  const id = new URLSearchParams(location.search).get("plan");
  try {
    if (id) await openPlan(id);
    else await newestPlanOrJob();
  } catch (error) {
    showError(error, "load the page");
    if (!state.stored)
      showEmpty("The page could not load a plan: see the message above.", "empty", { offerPlan: true });
  }
}

window.addEventListener("unhandledrejection", (event) => showError(event.reason, "finish an action"));
start();
