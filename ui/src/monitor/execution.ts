// What the monitor derives from an execution's action executions: the latest attempt of each
// action, each stage's status, and the bars of the timeline.
import type { Action, ActionExecutionDetail } from "../backend";

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

/** The status an action shows: a manual approval that runs is waiting for a person. */
export function shownStatus(action: Action, status: string | undefined): string | undefined {
  const t = action.actionTypeId;
  return status === "InProgress" && t.category === "Approval" && t.provider === "Manual" ? "Waiting for approval" : status;
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
