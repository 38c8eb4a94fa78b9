// What the monitor derives from an execution's action executions: the latest attempt of each
// action, each stage's status, and the bars of the timeline.
import type { ActionExecutionDetail, Stage } from "../backend";

/** The latest attempt of every action, keyed `stage/action` (a retry makes a new attempt). */
export function latestAttempts(details: ActionExecutionDetail[]): Map<string, ActionExecutionDetail> {
  const latest = new Map<string, ActionExecutionDetail>();
  for (const detail of details) {
    const key = `${detail.stageName}/${detail.actionName}`;
    const seen = latest.get(key);
    if (!seen || Date.parse(detail.startTime) >= Date.parse(seen.startTime)) latest.set(key, detail);
  }
  return latest;
}

/**
 * A stage's status in this execution, from its actions' latest attempts: running while any runs,
 * failed when any failed, succeeded when all did; undefined when it has not started.
 */
export function stageStatus(stage: Stage, attempts: Map<string, ActionExecutionDetail>) {
  const statuses = stage.actions
    .map((a) => attempts.get(`${stage.name}/${a.name}`)?.status)
    .filter((s): s is string => s !== undefined);
  if (statuses.length === 0) return undefined;
  for (const status of ["InProgress", "Failed", "Abandoned", "Stopped"]) {
    if (statuses.includes(status)) return status === "Abandoned" ? "Stopped" : status;
  }
  return statuses.length === stage.actions.length && statuses.every((s) => s === "Succeeded")
    ? "Succeeded"
    : "InProgress";
}

export interface TimelineBar {
  id: string;
  key: string;
  status: string;
  /** Where the bar starts and how long it is, as fractions of the whole execution. */
  left: number;
  width: number;
  durationMs: number;
}

/** One bar per action attempt, oldest first, placed on the span from first start to last end. */
export function timeline(details: ActionExecutionDetail[], now: number) {
  const spans = details.map((d) => {
    const start = Date.parse(d.startTime);
    const end = d.status === "InProgress" ? now : Date.parse(d.lastUpdateTime);
    return { detail: d, start, end: Math.max(end, start) };
  });
  const first = Math.min(...spans.map((s) => s.start));
  const last = Math.max(...spans.map((s) => s.end));
  const total = Math.max(last - first, 1);
  const rows: TimelineBar[] = spans
    .sort((a, b) => a.start - b.start)
    .map(({ detail, start, end }) => ({
      id: detail.actionExecutionId,
      key: `${detail.stageName}/${detail.actionName}`,
      status: detail.status,
      left: (start - first) / total,
      width: (end - start) / total,
      durationMs: end - start,
    }));
  return { rows, totalMs: spans.length ? last - first : 0 };
}
