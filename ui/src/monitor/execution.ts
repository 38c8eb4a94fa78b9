// What the monitor derives from an execution's action executions: the latest attempt of each
// action, each stage's status, the bars of the timeline, the critical path, and what the
// execution costs on a V2 pipeline.
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

/** When an attempt started and ended (a running one ends now), in ms. */
function span(detail: ActionExecutionDetail, now: number) {
  const start = Date.parse(detail.startTime);
  const end = detail.status === "InProgress" ? now : Date.parse(detail.lastUpdateTime);
  return { start, end: Math.max(end, start) };
}

/** How far an end may be recorded after the start it let happen (clocks of different hosts). */
const CLOCK_SLACK_MS = 1000;

/**
 * The critical path: the chain of attempts that set the execution's duration, as their ids. It
 * starts from the attempt that ended last and steps back, each time, to the attempt that ended
 * last before the current one started (what it waited for), so it follows stages, run orders and
 * retries as they happened. An attempt that ended after the current one started ran beside it,
 * not before it; only when none ended before is an end up to a second after the start taken.
 */
export function criticalPath(details: ActionExecutionDetail[], now: number): Set<string> {
  const spans = details.map((d) => ({ id: d.actionExecutionId, ...span(d, now) }));
  const path = new Set<string>();
  if (spans.length === 0) return path;
  const latest = (candidates: typeof spans) => candidates.reduce((a, b) => (b.end > a.end ? b : a));
  let current = latest(spans);
  path.add(current.id);
  for (;;) {
    const earlier = spans.filter((s) => !path.has(s.id) && s.start < current.start);
    const before = earlier.filter((s) => s.end <= current.start);
    const near = before.length > 0 ? before : earlier.filter((s) => s.end <= current.start + CLOCK_SLACK_MS);
    if (near.length === 0) return path;
    current = latest(near);
    path.add(current.id);
  }
}

/** What AWS charges a V2 pipeline per action execution minute (AWS CodePipeline pricing page). */
export const V2_PRICE_PER_ACTION_MINUTE = 0.002;

/** Whether V2 pricing counts an action: every type but manual approvals and custom actions. */
export function isBilled(detail: ActionExecutionDetail): boolean {
  const t = (detail.input?.actionTypeId ?? {}) as { category?: string; owner?: string; provider?: string };
  return !(t.category === "Approval" && t.provider === "Manual") && t.owner !== "Custom";
}

/** V2's billed minutes of an execution: each billed attempt's run, rounded up to a minute. */
export function billedMinutes(details: ActionExecutionDetail[], now: number): number {
  return details
    .filter(isBilled)
    .map((d) => span(d, now))
    .reduce((sum, s) => sum + Math.max(1, Math.ceil((s.end - s.start) / 60_000)), 0);
}

/**
 * How many executions a month the pipeline runs at its recent rate: those that started in the
 * last 30 days (of `starts`, newest first as listed), spread over the days they cover.
 */
export function executionsPerMonth(starts: number[], now: number): { count: number; days: number; perMonth: number } {
  const month = 30 * 86_400_000;
  const recent = starts.filter((t) => now - t <= month);
  if (recent.length === 0) return { count: 0, days: 0, perMonth: 0 };
  // At least a day, so that two runs a minute apart do not read as thousands a month.
  const covered = Math.min(month, Math.max(86_400_000, now - Math.min(...recent)));
  return { count: recent.length, days: covered / 86_400_000, perMonth: (recent.length * month) / covered };
}

