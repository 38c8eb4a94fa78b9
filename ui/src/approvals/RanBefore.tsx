// What has run before an approval in its execution, with each action's result, so the approver
// sees what the change went through before it reached them.
import { useEffect, useState } from "react";

import { backend, type ActionExecutionDetail, type ConnectionApproval } from "../backend";
import { StatusBadge } from "../app/StatusBadge";
import { formatDuration } from "../status";
import { latestAttempts } from "../monitor/execution";

export function RanBefore({ waiting }: { waiting: ConnectionApproval }) {
  const a = waiting.approval;
  const [actions, setActions] = useState<ActionExecutionDetail[]>();
  const [problem, setProblem] = useState<string>();
  useEffect(() => {
    let live = true;
    backend.listActionExecutions(waiting.connection, a.pipelineName, a.pipelineExecutionId).then(
      (out) => live && setActions(out.actionExecutionDetails),
      (e) => live && setProblem(String((e as { message?: string }).message ?? e)),
    );
    return () => {
      live = false;
    };
  }, [waiting.connection, a.pipelineName, a.pipelineExecutionId]);
  if (problem) return <p className="muted">What ran before it could not be read: {problem}</p>;
  if (!actions) return null;
  const self = `${a.stageName}/${a.actionName}`;
  const before = [...latestAttempts(actions).values()]
    .filter((d) => `${d.stageName}/${d.actionName}` !== self)
    .sort((x, y) => Date.parse(x.startTime) - Date.parse(y.startTime));
  if (before.length === 0) return <p className="muted ran-before">Nothing ran before it in this execution.</p>;
  return (
    <details className="ran-before" open={before.length <= 6}>
      <summary>Ran before it in this execution ({before.length})</summary>
      <ul className="plain">
        {before.map((d) => (
          <li key={d.actionExecutionId} data-ran={`${d.stageName}/${d.actionName}`}>
            <StatusBadge status={d.status} /> {d.stageName} / {d.actionName}{" "}
            <span className="muted">
              {formatDuration(Date.parse(d.lastUpdateTime) - Date.parse(d.startTime))}
              {d.output.executionResult.externalExecutionSummary ? ` · ${d.output.executionResult.externalExecutionSummary}` : ""}
            </span>
          </li>
        ))}
      </ul>
    </details>
  );
}
