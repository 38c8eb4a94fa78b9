// The execution's action attempts on one time axis, with its critical path (the chain of actions
// that set how long it took) marked, and what it costs on a V2 pipeline.
import type { ActionExecutionDetail } from "../backend";
import { formatDuration, toneOf } from "../status";
import { billedMinutes, criticalPath, executionsPerMonth, timeline, V2_PRICE_PER_ACTION_MINUTE } from "./execution";

export function Timeline(props: {
  actions: ActionExecutionDetail[];
  now: number;
  onSelect: (key: string) => void;
}) {
  const bars = timeline(props.actions, props.now);
  const critical = criticalPath(props.actions, props.now);
  const chain = bars.rows.filter((bar) => critical.has(bar.id));
  return (
    <div className="timeline card" aria-label="Timeline">
      {bars.rows.map((bar) => (
        <div className="timeline-row" key={bar.id} data-critical={critical.has(bar.id) || undefined}>
          <button className="link timeline-label" onClick={() => props.onSelect(bar.key)}>
            {bar.key}
          </button>
          <div className="timeline-track">
            <div
              className={`timeline-bar tone-${toneOf(bar.status)} ${critical.has(bar.id) ? "critical" : ""}`}
              style={{ left: `${bar.left * 100}%`, width: `${Math.max(bar.width * 100, 0.5)}%` }}
              title={`${bar.status} · ${formatDuration(bar.durationMs)}${critical.has(bar.id) ? " · on the critical path" : ""}`}
            />
          </div>
        </div>
      ))}
      <div className="muted timeline-total">
        {formatDuration(bars.totalMs)}
        {chain.length > 1 && (
          <span className="critical-path" title="The chain of actions that set how long the execution took">
            {" "}
            · critical path: {chain.map((bar) => bar.key).join(" → ")}
          </span>
        )}
      </div>
    </div>
  );
}

/**
 * What the execution costs where CodePipeline runs it, and what the pipeline costs a month at its
 * recent rate. V2 is priced per action execution minute; V1 per active pipeline a month.
 */
export function Cost(props: {
  pipelineType: string;
  actions: ActionExecutionDetail[];
  /** Start times of the pipeline's listed executions, ms. */
  starts: number[];
  now: number;
}) {
  if (props.pipelineType !== "V2") {
    return (
      <p className="muted cost" data-cost="V1">
        V1 pipeline: $1.00 a month while it is active (a change ran through it that month), whatever it runs. (AWS
        CodePipeline pricing)
      </p>
    );
  }
  const minutes = billedMinutes(props.actions, props.now);
  const dollars = minutes * V2_PRICE_PER_ACTION_MINUTE;
  const rate = executionsPerMonth(props.starts, props.now);
  const monthly = rate.perMonth * dollars;
  return (
    <p className="muted cost" data-cost="V2" data-minutes={minutes}>
      On AWS this execution would cost {money(dollars)} ({minutes} action {minutes === 1 ? "minute" : "minutes"})
      {rate.count > 0 && (
        <>
          ; about {money(monthly)} a month at its recent rate ({rate.count} {rate.count === 1 ? "execution" : "executions"}{" "}
          in {Math.round(rate.days)} {Math.round(rate.days) === 1 ? "day" : "days"}, each costing this one&apos;s)
        </>
      )}
      . V2 rate: ${V2_PRICE_PER_ACTION_MINUTE} per action execution minute, each action rounded up to a minute; manual
      approvals and custom actions free; the account&apos;s 100 free minutes a month not subtracted. (AWS CodePipeline
      pricing)
    </p>
  );
}

function money(dollars: number): string {
  return dollars < 0.01 && dollars > 0 ? `$${dollars.toFixed(3)}` : `$${dollars.toFixed(2)}`;
}
