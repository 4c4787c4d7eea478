// What one plan changes against another: shifts changed, cost and fill-rate deltas, and two plans side by side.

import { day, fillTable, h, money, percent, points, shortId, signed, units } from "./dom.js";

const COST_KINDS = ["labour", "overtime", "energy", "changeover", "holding", "backlog", "lost_sales", "total"];
const CHANGES_SHOWN = 200;

function stateText(state) {
  if (state.maintenance) return "maintenance";
  if (!state.staffed) return "idle";
  return `${state.family ?? "?"} · ${state.speed_level ?? "?"}`;
}

/** One line saying what changed: used in the banner after a re-plan and above the tables. */
export function diffSummary(diff) {
  return [
    `${diff.changed.length} line-shift(s) changed`,
    `cost ${signed(diff.cost.total)}`,
    `expected fill rate ${points(diff.expected_fill_rate)}`,
    `changeovers ${signed(diff.changeovers, String)}`,
    `line utilisation ${points(diff.line_utilisation)}.`,
  ].join("; ");
}

function changesTable(diff, label) {
  const table = h("table", { class: "data" });
  const rows = diff.changed
    .slice(0, CHANGES_SHOWN)
    .map((c) => [c.line, day(c.day), c.shift, stateText(c.before), stateText(c.after)]);
  const more = diff.changed.length > CHANGES_SHOWN ? ` (first ${CHANGES_SHOWN} of ${diff.changed.length})` : "";
  fillTable(table, ["Line", "Day", "Shift", "Before", "After"], rows, `Line-shifts changed${more}`);
  return h("div", { class: "table-wrap scroll", tabindex: "0", role: "region", "aria-label": label }, table);
}

function costTable(diff) {
  const table = h("table", { class: "data" });
  fillTable(
    table,
    ["Cost kind", "Change#"],
    COST_KINDS.map((kind) => [kind.replace("_", " "), signed(diff.cost[kind])]),
    "Cost change (after − before)",
  );
  return h("div", { class: "table-wrap" }, table);
}

function periodNote(diff) {
  const notes = [];
  if (diff.days_only_before.length) notes.push(`${diff.days_only_before.length} day(s) only in the earlier plan`);
  if (diff.days_only_after.length) notes.push(`${diff.days_only_after.length} day(s) only in the later plan`);
  return notes.length ? h("p", { class: "note" }, `Periods differ: ${notes.join("; ")}.`) : null;
}

/** The diff of `after` against `before` (stored plans): summary, cost deltas and changed shifts. */
export function renderDiff(container, diff) {
  const parts = [
    h("p", { class: "diff-summary", "data-changed": String(diff.changed.length) }, diffSummary(diff)),
    periodNote(diff),
    h(
      "div",
      { class: "two-columns" },
      costTable(diff),
      changesTable(diff, "Line-shifts changed against the replaced plan"),
    ),
  ];
  container.replaceChildren(...parts.filter(Boolean));
}

function sideBySideTable(a, b, diff) {
  const row = (label, get, format, delta) => [label, format(get(a)), format(get(b)), delta];
  const rows = [
    ["Status", a.status, b.status, ""],
    ["Period", `${day(a.start)} – ${day(a.end)}`, `${day(b.start)} – ${day(b.end)}`, ""],
    ["Service level", percent(a.lineage?.service_level), percent(b.lineage?.service_level), ""],
    row(
      "Expected fill rate",
      (p) => p.plan.kpis.expected_fill_rate,
      (v) => percent(v, 2),
      points(diff.expected_fill_rate),
    ),
    ...COST_KINDS.map((kind) =>
      row(`Cost: ${kind.replace("_", " ")}`, (p) => p.plan.kpis.cost[kind], money, signed(diff.cost[kind])),
    ),
    row("Changeovers", (p) => p.plan.kpis.changeovers, units, signed(diff.changeovers, String)),
    row(
      "Line utilisation",
      (p) => p.plan.kpis.line_utilisation,
      (v) => percent(v, 1),
      points(diff.line_utilisation),
    ),
    row("Solver status", (p) => p.plan.solver.status, String, ""),
    row(
      "Proven gap",
      (p) => p.plan.solver.gap,
      (v) => percent(v, 2),
      "",
    ),
    ["Locks", String(a.lineage?.locks?.length ?? 0), String(b.lineage?.locks?.length ?? 0), ""],
  ];
  const table = h("table", { class: "data side-by-side" });
  fillTable(table, ["Figure", `A ${shortId(a.id)}`, `B ${shortId(b.id)}`, "B − A"], rows, "Two plans side by side");
  return h("div", { class: "table-wrap" }, table);
}

/** Plans A and B side by side, then what B changes against A. */
export function renderComparison(container, a, b, diff) {
  const parts = [
    sideBySideTable(a, b, diff),
    h("p", { class: "diff-summary", "data-changed": String(diff.changed.length) }, `B against A: ${diffSummary(diff)}`),
    periodNote(diff),
    changesTable(diff, "Line-shifts plan B changes against plan A"),
  ];
  container.replaceChildren(...parts.filter(Boolean));
}
