// "KPIs and reasons": cost breakdown, fill rate at the service level, utilisation by line and day, solver
// status, bound and gap, and the planner's explanation in words.

import { $, day, fillTable, h, money, number, percent, units } from "./dom.js";

const COST_KINDS = [
  ["labour", "Labour"],
  ["overtime", "Overtime premium"],
  ["energy", "Energy"],
  ["changeover", "Changeovers"],
  ["holding", "Holding stock"],
  ["backlog", "Backlog"],
  ["lost_sales", "Lost sales"],
];

export function tile(label, value, note = null, tone = null) {
  return h(
    "div",
    { class: `tile${tone ? ` ${tone}` : ""}` },
    h("span", { class: "tile-label" }, label),
    h("span", { class: "tile-value" }, value),
    note ? h("span", { class: "tile-note" }, note) : null,
  );
}

export function serviceLevelOf(stored) {
  const lineage = stored.lineage ?? {};
  if (lineage.demand_column) return `column ${lineage.demand_column}`;
  return lineage.service_level !== undefined ? percent(lineage.service_level, 1) : "–";
}

export function unmetUnits(plan) {
  return plan.families.reduce((total, row) => total + (row.backlog > 0 ? row.backlog : 0), 0);
}

function solverTone(status) {
  return status === "OPTIMAL" || status === "FEASIBLE" ? null : "warning";
}

/** The few figures a planner looks at first (the overview's and the KPI tab's tiles). */
export function overviewTiles(stored) {
  const plan = stored.plan;
  const k = plan.kpis;
  const shortDays = new Set(plan.families.filter((f) => f.backlog > 0).map((f) => f.day)).size;
  return [
    tile("Plan cost", money(k.cost.total), `labour ${money(k.cost.labour)}`),
    tile("Expected fill rate", percent(k.expected_fill_rate, 1), `service level ${serviceLevelOf(stored)}`),
    tile(
      "Days short",
      String(shortDays),
      shortDays ? `lost sales ${money(k.cost.lost_sales)}` : "demand covered",
      shortDays ? "warning" : null,
    ),
    tile("Line utilisation", percent(k.line_utilisation, 0), `capacity used ${percent(k.capacity_utilisation, 0)}`),
    tile("Changeovers", String(k.changeovers), `cost ${money(k.cost.changeover)}`),
    tile("Solver", plan.solver.status, `gap ${percent(plan.solver.gap, 1)}`, solverTone(plan.solver.status)),
  ];
}

function kpiTiles(stored) {
  const k = stored.plan.kpis;
  return [
    tile("Expected fill rate", percent(k.expected_fill_rate, 2), `at service level ${serviceLevelOf(stored)}`),
    tile("Total cost", money(k.cost.total)),
    tile("Overtime premium", money(k.cost.overtime)),
    tile("Changeovers", String(k.changeovers), `cost ${money(k.cost.changeover)}`),
    tile("Line utilisation", percent(k.line_utilisation, 1), "staffed share of available line-shifts"),
    tile("Capacity utilisation", percent(k.capacity_utilisation, 1), "units made over staffed capacity"),
  ];
}

function renderCost(plan) {
  const cost = plan.kpis.cost;
  const rows = COST_KINDS.map(([kind, label]) => [
    label,
    money(cost[kind]),
    percent(cost.total ? cost[kind] / cost.total : 0, 1),
  ]);
  rows.push([h("strong", {}, "Total"), h("strong", {}, money(cost.total)), "100%"]);
  fillTable($("cost-table"), ["Kind", "Cost#", "Share#"], rows, "Plan cost by kind (site currency)");
}

function renderSolver(plan) {
  const s = plan.solver;
  const rows = [
    ["Status", s.status],
    ["Cost of the plan (objective)", money(s.objective)],
    ["Proven lower bound", money(s.best_bound)],
    ["Proven gap", percent(s.gap, 2)],
    ["Time used / limit", `${number(s.wall_time_s)} s / ${number(s.time_limit_s)} s`],
    ["Seed, workers", `${s.seed}, ${s.workers}`],
  ];
  fillTable($("solver-table"), ["Figure", "Value"], rows, "What the solver reported");
}

function renderBinding(plan) {
  const binding = [...(plan.explanation?.binding ?? [])].sort((a, b) => a.day.localeCompare(b.day));
  if (!binding.length) {
    fillTable($("binding-table"), ["Day", "Resource", "Detail"], [["–", "nothing", "no resource limited any day"]]);
    return;
  }
  fillTable(
    $("binding-table"),
    ["Day", "Resource", "Detail"],
    binding.map((b) => [day(b.day), b.resource, b.detail]),
    "The binding resource of each day",
  );
}

function renderMaintenance(plan) {
  const reasons = plan.explanation?.maintenance ?? [];
  const items = reasons.map((m) =>
    h(
      "li",
      {},
      h("strong", {}, `${m.line}: ${m.shift} shift on ${day(m.day)}`),
      ` (window ${day(m.window[0])} – ${day(m.window[1])}; demand those days ${units(m.demand_on_days)}, ` +
        `window average ${units(m.window_average_demand)}): ${m.reason}.`,
    ),
  );
  $("maintenance-list").replaceChildren(...(items.length ? items : [h("li", {}, "No maintenance stop in this plan.")]));
}

function renderRest(plan) {
  const rest = (plan.explanation?.binding ?? []).filter((b) => b.resource === "minimum rest");
  const items = rest.map((b) => h("li", {}, h("strong", {}, day(b.day)), `: ${b.detail}`));
  $("rest-list").replaceChildren(
    ...(items.length ? items : [h("li", {}, "The minimum rest between shifts limited no day.")]),
  );
}

function renderReplan(plan) {
  const r = plan.replan;
  $("replan-report").textContent = r
    ? `Re-planned from the plan starting ${day(r.previous_start)}: ${r.frozen_days} frozen day(s), ` +
      `${r.changed_shifts} line-shift(s) changed in them, charged ${money(r.change_penalty_per_shift)} each ` +
      `(${money(r.change_penalty)} in the solver's objective, not in the plan's cost).`
    : "This plan was not re-planned from another.";
  $("replan-report").className = "note";
}

export const UTILISATION_MEASURES = {
  staffed: {
    label: "staffed share of available shifts",
    value: (r) => (r.available_shifts ? r.staffed_shifts / r.available_shifts : null),
  },
  output: { label: "units made over staffed capacity", value: (r) => (r.staffed_shifts ? r.utilisation : null) },
};

function utilisationTrace(plan, measure) {
  const rows = plan.explanation?.utilisation ?? [];
  const lines = [...new Set(rows.map((r) => r.line))];
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const at = new Map(rows.map((r) => [`${r.line}|${r.day}`, r]));
  const value = UTILISATION_MEASURES[measure].value;
  const z = lines.map((line) => days.map((d) => (at.has(`${line}|${d}`) ? value(at.get(`${line}|${d}`)) : null)));
  const text = lines.map((line) =>
    days.map((d) => {
      const r = at.get(`${line}|${d}`);
      return r
        ? `<b>${line}</b> · ${day(d)}<br>${r.staffed_shifts} of ${r.available_shifts} available shifts staffed<br>` +
            `${units(r.production)} of ${units(r.capacity)} units (${percent(r.utilisation, 0)})`
        : "";
    }),
  );
  const colorscale = [
    [0, "#f3f7fc"],
    [0.5, "#6fa3d6"],
    [1, "#0b3c78"],
  ];
  return {
    lines,
    trace: {
      type: "heatmap",
      x: days,
      y: lines,
      z,
      text,
      zmin: 0,
      zmax: 1,
      colorscale,
      hovertemplate: "%{text}<extra></extra>",
      xgap: 1,
      ygap: 1,
      hoverongaps: false,
      colorbar: { tickformat: ".0%", thickness: 12, len: 1 },
    },
  };
}

/** Draw the utilisation heatmap coloured by `measure` (a key of UTILISATION_MEASURES); resolves when drawn. */
export function drawUtilisation(plan, width, measure = "staffed") {
  const explained = Boolean(plan.explanation?.utilisation?.length);
  $("utilisation-figure").hidden = !explained;
  $("utilisation-missing").hidden = explained;
  if (!explained) return Promise.resolve();
  const { lines, trace } = utilisationTrace(plan, measure);
  const height = Math.max(170, lines.length * (lines.length > 16 ? 16 : 26) + 60);
  const layout = {
    width,
    height,
    margin: { l: 56, r: 16, t: 10, b: 40 },
    xaxis: { type: "date", tickformat: "%a %d %b" },
    yaxis: { autorange: "reversed", type: "category", tickfont: { size: 11 } },
    paper_bgcolor: "#fff",
    plot_bgcolor: "#fff",
  };
  $("utilisation-figure").setAttribute(
    "aria-label",
    `Utilisation of each line on each day: ${UTILISATION_MEASURES[measure].label}`,
  );
  return Plotly.react("utilisation-chart", [trace], layout, {
    displaylogo: false,
    responsive: false,
    displayModeBar: false,
  });
}

/** Fill the KPI tab (all but the chart). */
export function renderKpis(stored) {
  const plan = stored.plan;
  $("kpi-tiles").replaceChildren(...kpiTiles(stored));
  renderCost(plan);
  renderSolver(plan);
  renderBinding(plan);
  renderMaintenance(plan);
  renderRest(plan);
  renderReplan(plan);
}
