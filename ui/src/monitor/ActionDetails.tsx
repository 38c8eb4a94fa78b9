// The selected action: its streamed log, and what it ran with and produced.
import { useEffect, useRef, useState } from "react";

import { backend, type ActionExecutionDetail, type ActionReport, type ArtifactSummary, type LogLine } from "../backend";
import { StatusBadge } from "../app/StatusBadge";
import { Artifacts } from "./Artifacts";
import { Reports } from "./Reports";

/**
 * `logs`: whether the connection keeps action logs (the local engine; AWS's are in CloudWatch).
 * `onReplay`: for an action of an AWS execution, runs it again on this machine.
 */
export function ActionDetails({
  pipeline,
  detail,
  logs,
  reports = [],
  artifacts,
  onReplay,
}: {
  pipeline: string;
  detail: ActionExecutionDetail;
  /** The execution's artifacts with their sizes (a local execution). */
  artifacts?: ArtifactSummary[];
  logs: boolean;
  /** The test and coverage reports the action made. */
  reports?: ActionReport[];
  onReplay?: () => void;
}) {
  const [lines, setLines] = useState<LogLine[]>([]);
  /** The batch build whose log is shown (a batch build's builds each have their own). */
  const [part, setPart] = useState<string>();
  const end = useRef<HTMLDivElement>(null);
  const logId = part ?? detail.actionExecutionId;

  useEffect(() => {
    let live = true;
    setLines([]);
    if (!logs) return;
    const stop = backend.followLog(logId, (batch) => {
      if (live && batch.length > 0) setLines((current) => [...current, ...batch]);
    });
    return () => {
      live = false;
      void stop.then((unfollow) => unfollow(), () => {});
    };
  }, [logId, logs]);
  useEffect(() => end.current?.scrollIntoView({ block: "nearest" }), [lines]);

  const result = detail.output.executionResult;
  const variables = Object.entries(detail.output.outputVariables);
  const config = Object.entries(detail.input.resolvedConfiguration);
  return (
    <div className="action-details card" data-details={`${detail.stageName}/${detail.actionName}`}>
      <div className="details-head">
        <strong>
          {detail.stageName} / {detail.actionName}
        </strong>
        <StatusBadge status={detail.status} />
        {onReplay && (
          <button
            className={detail.status === "Failed" ? "primary" : ""}
            title="Run this action again on this machine, with its inputs and configuration from this execution"
            onClick={onReplay}
          >
            Replay locally
          </button>
        )}
      </div>
      {detail.simulated && (
        <p className="muted" data-simulated>
          Simulated: nothing ran; the local settings say so, and give its output variables.
        </p>
      )}
      {detail.ranOn && (
        <p className="muted" data-ran-on={detail.ranOn}>
          Ran on {detail.ranOn}
        </p>
      )}
      {result.externalExecutionSummary && <p className="summary">{result.externalExecutionSummary}</p>}
      {result.errorDetails && (
        <p className="error-text">
          {result.errorDetails.code}: {result.errorDetails.message}
        </p>
      )}
      {detail.batchBuilds && detail.batchBuilds.length > 0 && (
        <div className="batch-builds" role="group" aria-label="Batch builds">
          <button className={part === undefined ? "active" : ""} onClick={() => setPart(undefined)}>
            Batch
          </button>
          {detail.batchBuilds.map((build) => (
            <button
              key={build.id}
              className={part === build.id ? "active" : ""}
              data-batch-build={build.identifier}
              data-status={build.status}
              title={build.summary ?? undefined}
              onClick={() => setPart(build.id)}
            >
              {build.identifier} <StatusBadge status={build.status} />
            </button>
          ))}
        </div>
      )}
      {logs && <div className="log" role="log" aria-label="Action log">
        {lines.map((line) => (
          <div key={line.seq} className={`log-line stream-${line.stream}`}>
            {line.line}
          </div>
        ))}
        {lines.length === 0 && <div className="muted">No output.</div>}
        <div ref={end} />
      </div>}
      {reports.length > 0 && <Reports reports={reports} />}
      {(variables.length > 0 || config.length > 0) && (
        <dl className="pairs">
          {config.map(([k, v]) => (
            <div key={`c-${k}`}>
              <dt>{k}</dt>
              <dd className="selectable">{v}</dd>
            </div>
          ))}
          {variables.map(([k, v]) => (
            <div key={`v-${k}`}>
              <dt>#{k}</dt>
              <dd className="selectable">{v}</dd>
            </div>
          ))}
        </dl>
      )}
      <Artifacts pipeline={pipeline} detail={detail} stored={artifacts} />
    </div>
  );
}
