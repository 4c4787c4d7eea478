// "Schedule": a Gantt of line × (day, shift) as one Plotly heatmap (one cell per line-shift, categorical
// colours: family hue, speed level shade), markers for changeovers and locks, and demand vs capacity per
// day under it on the same time axis. Filters by family and line; windows of days to scroll through.

import { addDays, day, h, units } from "./dom.js";

const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
  "#7f7f7f",
  "#d62728",
];
const IDLE = "#eeeeee";
const MAINTENANCE = "#3b3b3b";
const OTHER = "#cfcfcf";
const DEMAND_HEIGHT = 150; // pixels of the demand chart under the Gantt
const GAP = 36; // pixels between the two
const MARGIN = { l: 56, r: 16, t: 30, b: 50 }; // t: room for the dates above the Gantt

/** Mix a "#rrggbb" colour with white (amount > 0) or black (amount < 0). */
function shade(hex, amount) {
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const target = amount > 0 ? 255 : 0;
  const mixed = channels.map((c) => Math.round(c + (target - c) * Math.abs(amount)));
  return `#${mixed.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

function shadesFor(count) {
  if (count === 1) return [0];
  // Lightest for the slowest level, the family's full colour for the fastest.
  return Array.from({ length: count }, (_, k) => 0.6 * (1 - k / (count - 1)));
}

function firstSeen(values) {
  return [...new Set(values)];
}

/** Speed levels slowest first: the site's order when the plan is of that site, else by output per shift. */
function speedOrder(plan, site) {
  const names = firstSeen(plan.shifts.filter((s) => s.speed_level).map((s) => s.speed_level));
  const fromSite =
    site && site.name === plan.site ? firstSeen(site.lines.flatMap((l) => l.speed_levels.map((v) => v.name))) : [];
  if (fromSite.length && names.every((n) => fromSite.includes(n))) return fromSite;
  const output = new Map(names.map((n) => [n, [0, 0]]));
  for (const s of plan.shifts) {
    if (!s.staffed || !s.speed_level) continue;
    const o = output.get(s.speed_level);
    o[0] += s.production;
    o[1] += 1;
  }
  const mean = (n) => output.get(n)[0] / Math.max(1, output.get(n)[1]);
  return names.sort((a, b) => mean(a) - mean(b));
}

/** The plan as a grid: lines, days, shifts, the decision of each cell and the changeovers. */
export function scheduleModel(stored, site) {
  const plan = stored.plan;
  const lines = firstSeen(plan.shifts.map((s) => s.line));
  const shifts = firstSeen(plan.shifts.map((s) => s.shift));
  const days = Array.from({ length: plan.days }, (_, d) => addDays(plan.start, d));
  const families = [
    ...new Set(plan.families.map((f) => f.family).concat(plan.shifts.filter((s) => s.family).map((s) => s.family))),
  ].sort();
  const cells = new Map(plan.shifts.map((s) => [`${s.line}|${s.day}|${s.shift}`, s]));
  const columns = days.flatMap((d) => shifts.map((shift, s) => ({ day: d, shift, x: cellTime(d, s, shifts.length) })));
  const changeovers = new Set();
  for (const line of lines) {
    let before = null;
    for (const column of columns) {
      const now = cells.get(`${line}|${column.day}|${column.shift}`);
      if (before?.staffed && now?.staffed && before.family !== now.family) {
        changeovers.add(`${line}|${column.day}|${column.shift}`);
      }
      before = now;
    }
  }
  const siteLines = site && site.name === plan.site ? new Map(site.lines.map((l) => [l.id, l])) : new Map();
  return {
    plan,
    lines,
    shifts,
    days,
    families,
    cells,
    columns,
    changeovers,
    siteLines,
    speeds: speedOrder(plan, site),
  };
}

function clock(hours) {
  const h = Math.floor(hours);
  const m = Math.round((hours - h) * 60);
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}

/** The middle of shift `s` of `count` on day `iso`, as a Plotly date string. */
function cellTime(iso, s, count) {
  return `${iso} ${clock(((s + 0.5) * 24) / count)}`;
}

/** Categories of the heatmap and their colours: idle, maintenance, other family, then family × speed level. */
function categories(model) {
  const list = [
    { name: "idle", colour: IDLE },
    { name: "maintenance", colour: MAINTENANCE },
    { name: "other family", colour: OTHER },
  ];
  const index = new Map();
  const shades = shadesFor(model.speeds.length || 1);
  model.families.forEach((family, f) => {
    const base = PALETTE[f % PALETTE.length];
    (model.speeds.length ? model.speeds : [null]).forEach((speed, k) => {
      index.set(`${family}|${speed}`, list.length);
      list.push({ name: `${family} ${speed ?? ""}`.trim(), colour: shade(base, shades[k]) });
    });
  });
  return { list, index };
}

function category(decision, cats, familyFilter) {
  if (!decision) return 0;
  if (decision.maintenance) return 1;
  if (!decision.staffed) return 0;
  if (familyFilter && decision.family !== familyFilter) return 2;
  return cats.index.get(`${decision.family}|${decision.speed_level}`) ?? 2;
}

function describe(decision, line, column, changeover, lock) {
  const head = `<b>${line}</b> · ${day(column.day)} · ${column.shift}`;
  let body;
  if (!decision) body = "not planned";
  else if (decision.maintenance) body = "maintenance";
  else if (!decision.staffed) body = "idle";
  else body = `${decision.family} at ${decision.speed_level} speed<br>${units(decision.production)} units`;
  const notes = [changeover ? "changeover" : null, lock ? `locked (${lockText(lock)})` : null].filter(Boolean);
  return [head, body, ...notes].join("<br>");
}

export function lockText(lock) {
  const parts = [];
  if (lock.staffed !== null && lock.staffed !== undefined) parts.push(lock.staffed ? "staffed" : "idle");
  if (lock.family) parts.push(lock.family);
  if (lock.speed_level) parts.push(`${lock.speed_level} speed`);
  if (lock.maintenance !== null && lock.maintenance !== undefined) {
    parts.push(lock.maintenance ? "maintenance" : "no maintenance");
  }
  return parts.join(", ") || "nothing fixed";
}

/** Lines shown: those picked, and with a family filter only the lines that make or may make it. */
export function shownLines(model, filter) {
  return model.lines.filter((line) => {
    if (filter.lines && !filter.lines.has(line)) return false;
    if (!filter.family) return true;
    const siteLine = model.siteLines.get(line);
    if (siteLine) return siteLine.families.includes(filter.family);
    return model.plan.shifts.some((s) => s.line === line && s.family === filter.family);
  });
}

function heatmapTrace(model, lines, cats, filter, locks) {
  const z = [];
  const text = [];
  for (const line of lines) {
    const zRow = [];
    const textRow = [];
    for (const column of model.columns) {
      const key = `${line}|${column.day}|${column.shift}`;
      const decision = model.cells.get(key);
      zRow.push(category(decision, cats, filter.family));
      textRow.push(describe(decision, line, column, model.changeovers.has(key), locks.get(key)));
    }
    z.push(zRow);
    text.push(textRow);
  }
  const n = cats.list.length;
  const colorscale = cats.list.flatMap((c, i) => [
    [i / n, c.colour],
    [(i + 1) / n, c.colour],
  ]);
  return {
    type: "heatmap",
    x: model.columns.map((c) => c.x),
    y: lines,
    z,
    text,
    zmin: -0.5,
    zmax: n - 0.5,
    colorscale,
    showscale: false,
    xgap: 1,
    ygap: 2,
    hovertemplate: "%{text}<extra></extra>",
    hoverongaps: false,
  };
}

function markerTrace(name, keys, model, shown, marker) {
  const points = [...keys].map((key) => key.split("|")).filter(([line]) => shown.has(line));
  const x = points.map(([, d, shift]) => cellTime(d, model.shifts.indexOf(shift), model.shifts.length));
  return {
    type: "scatter",
    mode: "markers",
    name,
    x,
    y: points.map(([line]) => line),
    customdata: points,
    marker,
    hovertemplate: `${name}: %{customdata[0]} · %{customdata[1]} · %{customdata[2]}<extra></extra>`,
    showlegend: false,
  };
}

function demandTraces(model, filter) {
  const plan = model.plan;
  const pick = (row) => !filter.family || row.family === filter.family;
  const sum = (rows, field) => {
    const totals = new Map(model.days.map((d) => [d, 0]));
    for (const row of rows) if (totals.has(row.day)) totals.set(row.day, totals.get(row.day) + row[field]);
    return model.days.map((d) => totals.get(d));
  };
  const flows = plan.families.filter(pick);
  const x = model.days.map((d) => `${d} 12:00`);
  const common = { xaxis: "x", yaxis: "y2", showlegend: false };
  const traces = [
    {
      ...common,
      type: "bar",
      name: "covered demand",
      x,
      y: sum(flows, "demand"),
      marker: { color: "rgba(179, 89, 0, 0.45)" },
      width: 36e5 * 10,
      offset: -36e5 * 10,
      hovertemplate: "covered demand %{y:,.0f}<extra></extra>",
    },
    {
      ...common,
      type: "bar",
      name: "production",
      x,
      y: sum(flows, "production"),
      marker: { color: "rgba(44, 160, 44, 0.75)" },
      width: 36e5 * 10,
      offset: 0,
      hovertemplate: "production %{y:,.0f}<extra></extra>",
    },
  ];
  if (!filter.family && plan.explanation?.utilisation?.length) {
    traces.push({
      ...common,
      type: "scatter",
      mode: "lines",
      name: "capacity",
      x,
      y: sum(plan.explanation?.utilisation ?? [], "capacity"),
      line: { color: "#6a3d9a", width: 2, shape: "hvh" },
      hovertemplate: "capacity of staffed shifts %{y:,.0f}<extra></extra>",
    });
  }
  const backlog = sum(flows, "backlog");
  const short = model.days.map((d, i) => (backlog[i] > 0 ? i : -1)).filter((i) => i >= 0);
  if (short.length) {
    traces.push({
      ...common,
      type: "scatter",
      mode: "markers",
      name: "unmet",
      x: short.map((i) => x[i]),
      y: short.map((i) => backlog[i]),
      marker: { color: "#d62728", symbol: "x", size: 9 },
      hovertemplate: "unmet %{y:,.0f}<extra></extra>",
    });
  }
  return traces;
}

function dayLines(model, top) {
  return model.days.slice(1).map((d) => ({
    type: "line",
    xref: "x",
    yref: "paper",
    x0: `${d} 00:00`,
    x1: `${d} 00:00`,
    y0: top,
    y1: 1,
    line: { color: "#ffffff", width: 2 },
    layer: "above",
  }));
}

/** The x range of a window of `days` days from day index `from` (everything when days is 0). */
export function windowRange(model, days, from) {
  if (!days) return [`${model.days[0]} 00:00`, `${addDays(model.days.at(-1), 1)} 00:00`];
  return [`${model.days[from]} 00:00`, `${addDays(model.days[from], days)} 00:00`];
}

/** Draw the Gantt for `filter` ({family, lines: Set|null}) with `locks` (Map key → {lock, fresh}); resolves when drawn. */
export function drawSchedule(model, filter, locks, width, range) {
  const lines = shownLines(model, filter);
  const cats = categories(model);
  const lockOf = new Map([...locks].map(([key, entry]) => [key, entry.lock]));
  const shown = new Set(lines);
  const rowHeight = lines.length > 16 ? 18 : lines.length > 8 ? 26 : 34;
  const plotHeight = Math.max(2, lines.length) * rowHeight + GAP + DEMAND_HEIGHT;
  const split = DEMAND_HEIGHT / plotHeight; // the demand chart's share of the plot area, at the bottom
  const top = (DEMAND_HEIGHT + GAP) / plotHeight; // where the Gantt starts
  const kept = [...locks].filter(([, e]) => !e.fresh).map(([k]) => k);
  const fresh = [...locks].filter(([, e]) => e.fresh).map(([k]) => k);
  const traces = [
    heatmapTrace(model, lines, cats, filter, lockOf),
    markerTrace("changeover", model.changeovers, model, shown, { symbol: "triangle-right", size: 7, color: "#000000" }),
    markerTrace("locked", kept, model, shown, {
      symbol: "square-open",
      size: 12,
      color: "#000000",
      line: { width: 2 },
    }),
    markerTrace("new lock", fresh, model, shown, {
      symbol: "square-open",
      size: 12,
      color: "#c2008f",
      line: { width: 3 },
    }),
    ...demandTraces(model, filter),
    // An invisible point on the axis above the Gantt: Plotly draws an axis only when a trace uses it.
    {
      type: "scatter",
      mode: "markers",
      x: [model.columns[0].x],
      y: lines.slice(0, 1),
      xaxis: "x2",
      yaxis: "y",
      marker: { opacity: 0 },
      hoverinfo: "skip",
      showlegend: false,
    },
  ];
  const layout = {
    width,
    height: plotHeight + MARGIN.t + MARGIN.b,
    margin: MARGIN,
    showlegend: false,
    dragmode: "zoom",
    barmode: "overlay",
    hoverlabel: { align: "left" },
    xaxis: { type: "date", anchor: "y2", range, tickformat: "%a %d %b", ticklabelmode: "period", showgrid: false },
    // The same days above the Gantt, so that a tall schedule shows its dates without scrolling.
    xaxis2: {
      type: "date",
      overlaying: "x",
      matches: "x",
      tickmode: "auto",
      anchor: "y",
      side: "top",
      tickformat: "%a %d %b",
      ticklabelmode: "period",
      showgrid: false,
    },
    yaxis: {
      domain: [top, 1],
      autorange: "reversed",
      type: "category",
      tickfont: { size: 11 },
      fixedrange: lines.length <= 16,
    },
    yaxis2: {
      domain: [0, split],
      rangemode: "tozero",
      title: { text: "units", font: { size: 11 } },
      gridcolor: "#e3e3e3",
      fixedrange: true,
    },
    shapes: dayLines(model, top),
    paper_bgcolor: "#fff",
    plot_bgcolor: "#fff",
  };
  const config = {
    displaylogo: false,
    responsive: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
  };
  return Plotly.react("gantt-chart", traces, layout, config);
}

/** The HTML legend of the Gantt: families (hue), speed levels (shade), states and markers. */
export function renderLegend(container, model) {
  const swatch = (colour, label) =>
    h("span", { class: "legend-item" }, h("span", { class: "swatch", style: `background:${colour}` }), label);
  const families = model.families.map((family, f) => swatch(PALETTE[f % PALETTE.length], family));
  const speeds = model.speeds.map((speed, k) => swatch(shade("#555555", shadesFor(model.speeds.length)[k]), speed));
  container.replaceChildren(
    h(
      "span",
      { class: "legend-group" },
      h("span", { class: "legend-title" }, "Cells of a day:"),
      model.shifts.join(" · "),
    ),
    h("span", { class: "legend-group" }, h("span", { class: "legend-title" }, "Family:"), families),
    h("span", { class: "legend-group" }, h("span", { class: "legend-title" }, "Speed (lighter is slower):"), speeds),
    h(
      "span",
      { class: "legend-group" },
      swatch(IDLE, "idle"),
      swatch(MAINTENANCE, "maintenance"),
      swatch(OTHER, "another family (filtered out)"),
      h("span", { class: "legend-item" }, h("span", { class: "marker", "aria-hidden": "true" }, "▶"), "changeover"),
      h("span", { class: "legend-item" }, h("span", { class: "marker lock", "aria-hidden": "true" }), "locked"),
      h("span", { class: "legend-item" }, h("span", { class: "marker lock fresh", "aria-hidden": "true" }), "new lock"),
    ),
    h(
      "span",
      { class: "legend-group" },
      h("span", { class: "legend-title" }, "Per day, below:"),
      swatch("rgba(179, 89, 0, 0.45)", "covered demand"),
      swatch("rgba(44, 160, 44, 0.75)", "production"),
      h(
        "span",
        { class: "legend-item" },
        h("span", { class: "rule", "aria-hidden": "true" }),
        "capacity of staffed shifts",
      ),
      h("span", { class: "legend-item" }, h("span", { class: "marker unmet", "aria-hidden": "true" }, "✖"), "unmet"),
    ),
  );
}

/** The (line, day, shift) of a click on the Gantt, or null for a click elsewhere. */
export function clickedCell(model, event, linesShown) {
  const point = event.points?.[0];
  if (!point) return null;
  if (point.data.type === "heatmap") {
    const [row, col] = Array.isArray(point.pointNumber) ? point.pointNumber : [linesShown.indexOf(point.y), -1];
    const column = model.columns[col] ?? nearestColumn(model, point.x);
    const line = linesShown[row] ?? point.y;
    return column ? { line, day: column.day, shift: column.shift } : null;
  }
  if (Array.isArray(point.customdata) && point.customdata.length === 3) {
    const [line, d, shift] = point.customdata;
    return { line, day: d, shift };
  }
  return null;
}

function nearestColumn(model, x) {
  const t = new Date(String(x).replace(" ", "T")).getTime();
  let best = null;
  let distance = Infinity;
  for (const column of model.columns) {
    const gap = Math.abs(new Date(column.x.replace(" ", "T")).getTime() - t);
    if (gap < distance) [best, distance] = [column, gap];
  }
  return best;
}
