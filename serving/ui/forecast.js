// "Forecast vs capacity": per family or in total, the forecast with its bands, recent actuals, the quantity
// the plan covers, planned production and capacity; days with unmet demand stand out with what limited them.

import { $, addDays, day, fillTable, h, units } from "./dom.js";

export const TOTAL = "__total__";
const COLOURS = {
  band95: "rgba(31, 119, 180, 0.14)",
  band80: "rgba(31, 119, 180, 0.30)",
  mean: "#1f4e99",
  actual: "#4d4d4d",
  covered: "#b35900",
  production: "rgba(44, 160, 44, 0.55)",
  capacity: "#6a3d9a",
  unmet: "#d62728",
  short: "rgba(214, 39, 40, 0.08)",
};
const HISTORY_DAYS_SHOWN = [7, 28]; // at least, at most: as many days of actuals as the plan has, in these bounds

export function familiesOf(plan) {
  return [...new Set(plan.families.map((row) => row.family))].sort();
}

/** What limited each day: day → ["labour pool: 36 of 36 people staffed…", …]. */
export function bindingByDay(plan) {
  const byDay = new Map();
  for (const rule of plan.explanation?.binding ?? []) {
    if (!byDay.has(rule.day)) byDay.set(rule.day, []);
    byDay.get(rule.day).push(`${rule.resource}: ${rule.detail}`);
  }
  return byDay;
}

function planDays(plan) {
  return Array.from({ length: plan.days }, (_, d) => addDays(plan.start, d));
}

/** Per day of the plan (and of the context): the figures of one family, or of all of them. */
function seriesOf(plan, family) {
  const pick = (row) => family === TOTAL || row.family === family;
  const days = planDays(plan);
  const flows = new Map(days.map((d) => [d, { demand: 0, production: 0, backlog: 0 }]));
  for (const row of plan.families.filter(pick)) {
    const flow = flows.get(row.day);
    if (!flow) continue;
    flow.demand += row.demand;
    flow.production += row.production;
    flow.backlog += row.backlog;
  }
  const forecast = new Map();
  for (const row of (plan.context?.forecast ?? []).filter(pick)) {
    const point = forecast.get(row.day) ?? { mean: 0, bands: {} };
    point.mean += row.mean;
    for (const [level, [low, high]] of Object.entries(row.bands ?? {})) {
      const band = point.bands[level] ?? [0, 0];
      point.bands[level] = [band[0] + low, band[1] + high];
    }
    forecast.set(row.day, point);
  }
  const history = new Map();
  for (const row of (plan.context?.history ?? []).filter(pick)) {
    history.set(row.day, (history.get(row.day) ?? 0) + row.actual);
  }
  const capacity = new Map();
  if (family === TOTAL) {
    for (const row of plan.explanation?.utilisation ?? [])
      capacity.set(row.day, (capacity.get(row.day) ?? 0) + row.capacity);
  }
  return { days, flows, forecast, history, capacity };
}

function bandTraces(series, family) {
  const days = [...series.forecast.keys()].sort();
  const traces = [];
  const suffix = family === TOTAL ? " (sum of family bands)" : "";
  for (const [level, fill] of [
    ["95", COLOURS.band95],
    ["80", COLOURS.band80],
  ]) {
    if (!days.some((d) => series.forecast.get(d).bands[level])) continue;
    const low = days.map((d) => series.forecast.get(d).bands[level]?.[0] ?? null);
    const high = days.map((d) => series.forecast.get(d).bands[level]?.[1] ?? null);
    const group = `band${level}`;
    traces.push(
      {
        x: days,
        y: low,
        type: "scatter",
        mode: "lines",
        line: { width: 0 },
        legendgroup: group,
        showlegend: false,
        hoverinfo: "skip",
      },
      {
        x: days,
        y: high,
        type: "scatter",
        mode: "lines",
        line: { width: 0 },
        fill: "tonexty",
        fillcolor: fill,
        name: `${level}% band${suffix}`,
        legendgroup: group,
        customdata: low,
        hovertemplate: `${level}%: %{customdata:,.0f}–%{y:,.0f}<extra></extra>`,
      },
    );
  }
  if (days.length) {
    traces.push({
      x: days,
      y: days.map((d) => series.forecast.get(d).mean),
      type: "scatter",
      mode: "lines",
      name: "Forecast mean",
      line: { color: COLOURS.mean, width: 2 },
      hovertemplate: "mean %{y:,.0f}<extra></extra>",
    });
  }
  return traces;
}

function flowTraces(series, binding, basis) {
  const days = series.days;
  const flow = (d) => series.flows.get(d);
  const traces = [];
  const history = [...series.history.keys()].sort();
  if (history.length) {
    traces.push({
      x: history,
      y: history.map((d) => series.history.get(d)),
      type: "scatter",
      mode: "lines+markers",
      name: "Actual demand",
      line: { color: COLOURS.actual, width: 1.5 },
      marker: { size: 3 },
      hovertemplate: "actual %{y:,.0f}<extra></extra>",
    });
  }
  traces.push(
    {
      x: days,
      y: days.map((d) => flow(d).production),
      type: "bar",
      name: "Planned production",
      marker: { color: COLOURS.production },
      hovertemplate: "production %{y:,.0f}<extra></extra>",
    },
    {
      x: days,
      y: days.map((d) => flow(d).demand),
      type: "scatter",
      mode: "lines",
      name: `Covered demand (${basis})`,
      line: { color: COLOURS.covered, width: 2, dash: "dash", shape: "hvh" },
      hovertemplate: "covered %{y:,.0f}<extra></extra>",
    },
  );
  if (series.capacity.size) {
    traces.push({
      x: days,
      y: days.map((d) => series.capacity.get(d) ?? 0),
      type: "scatter",
      mode: "lines",
      name: "Capacity of staffed shifts",
      line: { color: COLOURS.capacity, width: 2, shape: "hvh" },
      hovertemplate: "capacity %{y:,.0f}<extra></extra>",
    });
  }
  const short = days.filter((d) => flow(d).backlog > 0);
  if (short.length) {
    traces.push({
      x: short,
      y: short.map((d) => flow(d).backlog),
      type: "bar",
      name: "Unmet demand (backlog)",
      marker: { color: COLOURS.unmet },
      customdata: short.map((d) => (binding.get(d) ?? ["cost: not explained"]).join("<br>")),
      hovertemplate: "unmet %{y:,.0f} units<br>limited by %{customdata}<extra></extra>",
    });
  }
  return traces;
}

function layoutOf(plan, series, width) {
  const first = series.history.size ? [...series.history.keys()].sort()[0] : plan.start;
  const [least, most] = HISTORY_DAYS_SHOWN;
  const earliest = addDays(plan.start, -Math.min(most, Math.max(least, plan.days)));
  const shownFrom = first < earliest ? earliest : first;
  const end = addDays(plan.start, plan.days - 1);
  const shapes = series.days
    .filter((d) => series.flows.get(d).backlog > 0)
    .map((d) => ({
      type: "rect",
      xref: "x",
      yref: "paper",
      x0: `${addDays(d, -1)} 12:00`,
      x1: `${d} 12:00`,
      y0: 0,
      y1: 1,
      fillcolor: COLOURS.short,
      line: { width: 0 },
      layer: "below",
    }));
  const cutoff = `${addDays(plan.start, -1)} 12:00`;
  shapes.push({
    type: "line",
    xref: "x",
    yref: "paper",
    x0: cutoff,
    x1: cutoff,
    y0: 0,
    y1: 1,
    line: { color: "#555", width: 1, dash: "dot" },
  });
  return {
    width,
    height: 420,
    margin: { l: 60, r: 20, t: 10, b: 40 },
    barmode: "stack", // unmet demand on top of production: the stack reaches what the day needed
    bargap: 0.3,
    hovermode: "x unified",
    legend: { orientation: "h", y: -0.12, font: { size: 12 }, traceorder: "normal" },
    xaxis: { type: "date", range: [`${addDays(shownFrom, -1)} 12:00`, `${end} 12:00`], tickformat: "%a %d %b" },
    yaxis: { title: { text: "units per day" }, rangemode: "tozero", gridcolor: "#e3e3e3" },
    shapes,
    annotations: [
      {
        x: cutoff,
        y: 1,
        xref: "x",
        yref: "paper",
        text: "forecast →",
        showarrow: false,
        xanchor: "left",
        yanchor: "top",
        font: { size: 11, color: "#333" },
      },
    ],
    paper_bgcolor: "#fff",
    plot_bgcolor: "#fff",
  };
}

/** Draw the chart of `family` (or TOTAL); resolves when Plotly has drawn it. */
export function drawForecast(stored, family, width) {
  const plan = stored.plan;
  const series = seriesOf(plan, family);
  const basis = plan.context?.basis ?? `service level ${stored.lineage?.service_level ?? "?"}`;
  const traces = [...bandTraces(series, family), ...flowTraces(series, bindingByDay(plan), basis)];
  const layout = layoutOf(plan, series, width);
  const label = family === TOTAL ? "all families" : `family ${family}`;
  $("forecast-figure").setAttribute(
    "aria-label",
    `Forecast with 80% and 95% bands, covered demand, production and capacity per day, ${label}`,
  );
  $("forecast-note").textContent = plan.context
    ? `Covered demand: ${plan.context.basis}.`
    : "This plan carries no forecast: only the demand it covers is shown.";
  return Plotly.react("forecast-chart", traces, layout, {
    displaylogo: false,
    responsive: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d"],
  });
}

/** The table of unmet demand per family and day, with the rule that limited that day. */
export function renderShortages(stored) {
  const plan = stored.plan;
  const binding = bindingByDay(plan);
  const short = plan.families
    .filter((row) => row.backlog > 0)
    .sort((a, b) => a.day.localeCompare(b.day) || a.family.localeCompare(b.family));
  const lostSales = plan.kpis.cost.lost_sales;
  if (!short.length) {
    $("shortage-summary").textContent = "Capacity covers the planned demand of every family on every day.";
    $("shortage-table").replaceChildren();
    return;
  }
  const days = new Set(short.map((row) => row.day));
  const worst = Math.max(...short.map((row) => row.backlog));
  $("shortage-summary").replaceChildren(
    h("strong", { class: "warning-text" }, `Unmet demand on ${days.size} day(s)`),
    `: at most ${units(worst)} units of one family; ` +
      `backlog cost ${units(plan.kpis.cost.backlog)}, lost sales ${units(lostSales)}.`,
  );
  fillTable(
    $("shortage-table"),
    ["Day", "Family", "Unmet units#", "Demand covered#", "Made#", "What limited the day"],
    short.map((row) => [
      day(row.day),
      row.family,
      units(row.backlog),
      units(row.demand),
      units(row.production),
      (binding.get(row.day) ?? ["not explained"]).join("; "),
    ]),
    "Unmet demand (backlog at the end of the day) per family and day",
  );
}
