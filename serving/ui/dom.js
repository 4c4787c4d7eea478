// Small DOM and formatting helpers shared by the page's views.

/** Create an element: h("td", {class: "num"}, "12"). Attributes starting with "on" become listeners. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

export function $(id) {
  return document.getElementById(id);
}

/** Replace a table's content: `columns` are header labels (a label ending in "#" is numeric), rows arrays of cells. */
export function fillTable(table, columns, rows, caption = null) {
  const numeric = columns.map((label) => label.endsWith("#"));
  const head = h(
    "thead",
    {},
    h(
      "tr",
      {},
      columns.map((label) => h("th", { scope: "col" }, label.replace(/#$/, ""))),
    ),
  );
  const body = h(
    "tbody",
    {},
    rows.map((row) =>
      h(
        "tr",
        {},
        row.map((cell, i) => h("td", { class: numeric[i] ? "num" : null }, cell)),
      ),
    ),
  );
  table.replaceChildren(...(caption ? [h("caption", {}, caption)] : []), head, body);
}

export function options(select, items, selected = undefined) {
  select.replaceChildren(...items.map(([value, label]) => h("option", { value }, label)));
  if (selected !== undefined) select.value = selected;
}

const numberFormat = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });
const preciseFormat = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 2 });

export function units(value) {
  return value === null || value === undefined ? "–" : numberFormat.format(value);
}

export function money(value) {
  return value === null || value === undefined ? "–" : numberFormat.format(value);
}

export function signed(value, format = money) {
  if (value === null || value === undefined) return "–";
  const text = format(Math.abs(value));
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}

export function number(value) {
  return value === null || value === undefined ? "–" : preciseFormat.format(value);
}

export function percent(value, digits = 1) {
  return value === null || value === undefined ? "–" : `${(100 * value).toFixed(digits)}%`;
}

/** A change of a share in percentage points. */
export function points(value) {
  return signed(value, (v) => `${(100 * v).toFixed(2)} pp`);
}

const dayFormat = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short" });
const timeFormat = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" });

/** "2026-01-05" → Date at local midnight. */
export function dateOf(iso) {
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return new Date(y, m - 1, d);
}

export function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function addDays(iso, days) {
  const date = dateOf(iso);
  date.setDate(date.getDate() + days);
  return isoDay(date);
}

export function day(iso) {
  return iso ? dayFormat.format(dateOf(iso)) : "–";
}

export function when(timestamp) {
  return timestamp ? timeFormat.format(new Date(timestamp)) : "–";
}

export function shortId(id) {
  return id ? id.slice(0, 8) : "–";
}

/** Sum `value(row)` of `rows` per `key(row)`, in a Map. */
export function sumBy(rows, key, value) {
  const totals = new Map();
  for (const row of rows) totals.set(key(row), (totals.get(key(row)) || 0) + value(row));
  return totals;
}
