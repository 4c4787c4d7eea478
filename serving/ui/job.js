// A plan job followed while CP-SAT runs: elapsed time, incumbent cost, bound and gap; cancel; its outcome.

import { api, withToken } from "./api.js";
import { $, money, number, percent, shortId } from "./dom.js";

const POLL_MS = 1000;
const ACTIVE = new Set(["queued", "running"]);

export function isActive(job) {
  return ACTIVE.has(job.status);
}

function progressText(job) {
  const p = job.progress;
  if (job.status === "queued") return "Queued: it starts when the plan job before it is done.";
  if (!p) return "Running: preparing the forecast and the model…";
  const found = p.solutions ? `${p.solutions} plan(s) found` : "no plan found yet";
  return [
    `Running: ${number(p.elapsed_s)} s elapsed`,
    `best plan cost ${money(p.objective)}`,
    `proven bound ${money(p.best_bound)}`,
    `gap ${percent(p.gap, 1)}`,
    `${found}.`,
  ].join(" · ");
}

function outcomeText(job) {
  const seconds = job.progress ? ` after ${number(job.progress.elapsed_s)} s` : "";
  switch (job.status) {
    case "succeeded":
      return `Done${seconds}: plan ${shortId(job.plan_id)} made (gap ${percent(job.progress?.gap, 1)}).`;
    case "failed":
      return `The plan job failed: ${job.error?.message ?? "no reason given"}`;
    case "cancelled":
      return `Cancelled${seconds}; no plan was stored.`;
    default:
      return `The plan job was ${job.status}: ${job.error?.message ?? ""}`;
  }
}

/** Follows one plan job at a time in the job panel. */
export class JobWatcher {
  /** `onDone(job)` runs once when the job finishes; `onError(error, action)` shows an error. */
  constructor({ onDone, onError }) {
    this.onDone = onDone;
    this.onError = onError;
    this.job = null;
    this.timer = null;
    $("job-cancel").addEventListener("click", () => this.cancel());
    $("job-dismiss").addEventListener("click", () => this.hide());
  }

  /** Show `job` and poll it until it finishes. */
  watch(job) {
    clearTimeout(this.timer);
    this.job = job;
    this.show(job);
    if (isActive(job)) this.timer = setTimeout(() => this.poll(), POLL_MS);
    else this.onDone(job);
  }

  async poll() {
    const id = this.job.id;
    try {
      const job = await api(`/plan-jobs/${encodeURIComponent(id)}`);
      if (this.job?.id !== id) return;
      this.job = job;
      this.show(job);
      if (isActive(job)) this.timer = setTimeout(() => this.poll(), POLL_MS);
      else this.onDone(job);
    } catch (error) {
      this.onError(error, "follow the plan job");
      this.timer = setTimeout(() => this.poll(), 3 * POLL_MS);
    }
  }

  show(job) {
    const panel = $("job-panel");
    panel.hidden = false;
    panel.dataset.status = job.status;
    $("job-title").textContent = `Plan job ${shortId(job.id)}: ${job.status}`;
    $("job-text").textContent = isActive(job) ? progressText(job) : outcomeText(job);
    const limit = job.request?.time_limit_s;
    const bar = $("job-bar");
    bar.hidden = !(isActive(job) && limit && job.progress);
    if (!bar.hidden) bar.value = Math.min(1, job.progress.elapsed_s / limit);
    $("job-cancel").hidden = !isActive(job);
    $("job-cancel").disabled = Boolean(job.cancel_requested);
    $("job-dismiss").hidden = isActive(job);
  }

  async cancel() {
    if (!this.job) return;
    try {
      const job = await withToken((token) =>
        api(`/plan-jobs/${encodeURIComponent(this.job.id)}/cancel`, { method: "POST", token }),
      );
      if (job) this.show(job);
    } catch (error) {
      this.onError(error, "cancel the plan job");
    }
  }

  hide() {
    $("job-panel").hidden = true;
  }
}
