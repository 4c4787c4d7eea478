// "Act": locks on line-shifts (from the Gantt or the lock form), the re-plan parameters (service level,
// horizon, unavailable lines, time limit, frozen days) and the request a re-plan sends.

import { $, addDays, day, fillTable, h, options, units } from "./dom.js";
import { lockText } from "./schedule.js";

const LOCK_FIELDS = ["staffed", "family", "speed_level", "maintenance"];

export function lockKey(lock) {
  return `${lock.line}|${lock.day}|${lock.shift}`;
}

/** The locks of the shown plan (its lineage), to be sent again with a re-plan: key → {lock, fresh: false}. */
export function planLocks(stored) {
  return new Map((stored.lineage?.locks ?? []).map((lock) => [lockKey(lock), { lock: cleanLock(lock), fresh: false }]));
}

function cleanLock(lock) {
  const clean = { line: lock.line, day: lock.day, shift: lock.shift };
  for (const field of LOCK_FIELDS) if (lock[field] !== null && lock[field] !== undefined) clean[field] = lock[field];
  return clean;
}

const tri = (value) => (value === "" ? null : value === "true");

/** The lock form: pick a line-shift (or have the Gantt pick it), see what is planned, fix what must not move. */
export class LockEditor {
  constructor({ onChange }) {
    this.onChange = onChange;
    this.model = null;
    this.locks = new Map();
    $("lock-editor").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    $("lock-remove").addEventListener("click", () => this.remove());
    for (const id of ["lock-line", "lock-day", "lock-shift"]) $(id).addEventListener("change", () => this.load());
    $("lock-staffed").addEventListener("change", () => this.syncStaffed());
  }

  /** A new plan is shown: its grid and the locks a re-plan would send. */
  reset(model, locks) {
    this.model = model;
    this.locks = locks;
    options(
      $("lock-line"),
      model.lines.map((l) => [l, l]),
    );
    options(
      $("lock-day"),
      model.days.map((d) => [d, day(d)]),
    );
    options(
      $("lock-shift"),
      model.shifts.map((s) => [s, s]),
    );
    this.load();
  }

  /** Select the cell (line, day, shift) and fill the form with its lock, or with what the plan says. */
  pick(cell) {
    $("lock-line").value = cell.line;
    $("lock-day").value = cell.day;
    $("lock-shift").value = cell.shift;
    this.load();
    $("lock-staffed").focus({ preventScroll: true });
    $("lock-editor").scrollIntoView({ block: "nearest" });
  }

  cell() {
    return { line: $("lock-line").value, day: $("lock-day").value, shift: $("lock-shift").value };
  }

  load() {
    if (!this.model) return;
    const cell = this.cell();
    const key = lockKey(cell);
    const decision = this.model.cells.get(key);
    const siteLine = this.model.siteLines.get(cell.line);
    const families = siteLine?.families ?? this.model.families;
    const speeds = siteLine?.speed_levels.map((v) => v.name) ?? this.model.speeds;
    options($("lock-family"), [["", "Leave to the solver"], ...families.map((f) => [f, f])]);
    options($("lock-speed"), [["", "Leave to the solver"], ...speeds.map((s) => [s, s])]);
    const entry = this.locks.get(key);
    const values = entry ? entry.lock : asPlanned(decision);
    $("lock-staffed").value = values.staffed === undefined || values.staffed === null ? "" : String(values.staffed);
    $("lock-family").value = values.family ?? "";
    $("lock-speed").value = values.speed_level ?? "";
    $("lock-maintenance").value =
      values.maintenance === undefined || values.maintenance === null ? "" : String(values.maintenance);
    this.syncStaffed();
    $("lock-planned").textContent =
      `${cell.line} · ${day(cell.day)} · ${cell.shift}: planned ${plannedText(decision)}. ` +
      (entry ? `Locked: ${lockText(entry.lock)}${entry.fresh ? " (new)" : ""}.` : "Not locked.");
    $("lock-remove").disabled = !entry;
  }

  syncStaffed() {
    const idle = $("lock-staffed").value === "false";
    for (const id of ["lock-family", "lock-speed"]) {
      $(id).disabled = idle;
      if (idle) $(id).value = "";
    }
  }

  save() {
    const lock = { ...this.cell() };
    const staffed = tri($("lock-staffed").value);
    const maintenance = tri($("lock-maintenance").value);
    if (staffed !== null) lock.staffed = staffed;
    if ($("lock-family").value) lock.family = $("lock-family").value;
    if ($("lock-speed").value) lock.speed_level = $("lock-speed").value;
    if (maintenance !== null) lock.maintenance = maintenance;
    if (Object.keys(lock).length === 3) {
      $("lock-planned").textContent = "Choose at least one thing to fix (staffed, family, speed level or maintenance).";
      return;
    }
    this.locks.set(lockKey(lock), { lock, fresh: true });
    this.load();
    this.onChange();
  }

  remove() {
    this.locks.delete(lockKey(this.cell()));
    this.load();
    this.onChange();
  }
}

function asPlanned(decision) {
  if (!decision) return {};
  if (decision.maintenance) return { maintenance: true };
  if (!decision.staffed) return { staffed: false };
  return { staffed: true, family: decision.family, speed_level: decision.speed_level };
}

function plannedText(decision) {
  if (!decision) return "nothing";
  if (decision.maintenance) return "maintenance";
  if (!decision.staffed) return "idle";
  return `${decision.family} at ${decision.speed_level} speed, ${units(decision.production)} units`;
}

/** The re-plan form: parameters, unavailable lines and the locks it sends. */
export class ReplanForm {
  constructor({ onSubmit, onRemoveLock }) {
    this.unavailable = [];
    this.onRemoveLock = onRemoveLock;
    $("replan-form").addEventListener("submit", (event) => {
      event.preventDefault();
      onSubmit(this.request());
    });
    $("unavail-add").addEventListener("click", () => this.addUnavailable());
  }

  /** Fill the form for re-planning `stored` (the shown plan) with the served `model` on `site`. */
  reset(stored, model, site, scheduleModel) {
    this.stored = stored;
    const lineage = stored.lineage ?? {};
    $("replan-service-level").value = lineage.service_level ?? 0.95;
    $("replan-service-level").disabled = Boolean(lineage.demand_column);
    $("replan-horizon").value = lineage.horizon ?? stored.days;
    $("replan-stock").value = (lineage.opening_stock ?? "site").startsWith("ledger") ? "ledger" : "site";
    if (model?.max_horizon) $("replan-horizon").max = model.max_horizon;
    this.unavailable = [];
    options(
      $("unavail-line"),
      scheduleModel.lines.map((l) => [l, l]),
    );
    options(
      $("unavail-first"),
      scheduleModel.days.map((d) => [d, day(d)]),
    );
    this.renderUnavailable();
    const otherSite = site && site.name !== stored.site;
    $("replan-button").disabled = Boolean(otherSite) || !site;
    $("replan-note").textContent = !site
      ? "The service has no site configured: it cannot re-plan."
      : otherSite
        ? `This plan is of site ${stored.site}; the service plans site ${site.name}, so it cannot re-plan this one.`
        : `Re-plans site ${site.name} as a new draft that replaces plan ${stored.id.slice(0, 8)}, ` +
          "keeping the locks below." +
          (lineage.demand_column ? ` It covers the forecast column ${lineage.demand_column}, as this plan did.` : "");
  }

  addUnavailable() {
    const days = Number($("unavail-days").value);
    if (!Number.isInteger(days) || days < 1) {
      $("unavail-days").setCustomValidity("a whole number of days, at least 1");
      $("unavail-days").reportValidity();
      return;
    }
    $("unavail-days").setCustomValidity("");
    this.unavailable.push({ line: $("unavail-line").value, first_day: $("unavail-first").value, days });
    this.renderUnavailable();
  }

  renderUnavailable() {
    const items = this.unavailable.map((rule, i) =>
      h(
        "li",
        {},
        `${rule.line}: ${day(rule.first_day)} – ${day(addDays(rule.first_day, rule.days - 1))} `,
        h(
          "button",
          {
            type: "button",
            class: "quiet small",
            "aria-label": `Remove: ${rule.line} unavailable from ${day(rule.first_day)}`,
            onclick: () => {
              this.unavailable.splice(i, 1);
              this.renderUnavailable();
            },
          },
          "Remove",
        ),
      ),
    );
    $("unavail-list").replaceChildren(
      ...(items.length ? items : [h("li", { class: "note" }, "Every line available.")]),
    );
  }

  /** The locks table: kept from the plan, or new. */
  renderLocks(locks) {
    const rows = [...locks.values()]
      .sort((a, b) => lockKey(a.lock).localeCompare(lockKey(b.lock)))
      .map(({ lock, fresh }) => [
        lock.line,
        day(lock.day),
        lock.shift,
        lockText(lock),
        fresh ? "new" : "kept from this plan",
        h(
          "button",
          {
            type: "button",
            class: "quiet small",
            "aria-label": `Unlock ${lock.line} ${lock.day} ${lock.shift}`,
            onclick: () => this.onRemoveLock(lockKey(lock)),
          },
          "Unlock",
        ),
      ]);
    fillTable(
      $("locks-table"),
      ["Line", "Day", "Shift", "Fixed", "Origin", "Action"],
      rows.length ? rows : [["–", "–", "–", "no lock", "", ""]],
    );
    $("lock-count").textContent = String(locks.size);
    this.locks = locks;
  }

  /** The body of POST /plans for this form. */
  request() {
    const lineage = this.stored.lineage ?? {};
    const body = {
      replaces: this.stored.id,
      locks: [...(this.locks?.values() ?? [])].map((entry) => entry.lock),
      unavailable: this.unavailable,
      frozen_days: Number($("replan-frozen").value || 0),
      change_penalty_per_shift: Number($("replan-penalty").value || 0),
      stock: $("replan-stock").value,
    };
    if (lineage.demand_column) body.demand = lineage.demand_column;
    else body.service_level = Number($("replan-service-level").value);
    if ($("replan-horizon").value) body.horizon = Number($("replan-horizon").value);
    if ($("replan-time-limit").value) body.time_limit_s = Number($("replan-time-limit").value);
    return body;
  }
}
