import { useState } from "react";

import type { PipelineExecutionSummary } from "../backend";
import { StatusBadge } from "../app/StatusBadge";
import { formatDuration, formatTime } from "../status";

const STATUSES = ["All", "InProgress", "Succeeded", "Failed", "Stopped", "Superseded"];

/** Past executions, newest first, filtered by status; choosing one shows it in the monitor. */
export function History(props: {
  executions: PipelineExecutionSummary[];
  current?: string;
  onSelect: (id: string) => void;
}) {
  const [status, setStatus] = useState("All");
  const shown = props.executions.filter((e) => status === "All" || e.status === status);
  return (
    <div className="history card" aria-label="Execution history">
      <div className="history-head">
        <strong>History</strong>
        <select aria-label="Filter executions by status" value={status} onChange={(e) => setStatus(e.target.value)}>
          {STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </div>
      <ol className="plain">
        {shown.map((e) => (
          <li key={e.pipelineExecutionId}>
            <button
              className={`history-row ${e.pipelineExecutionId === props.current ? "selected" : ""}`}
              onClick={() => props.onSelect(e.pipelineExecutionId)}
            >
              <StatusBadge status={e.status} />
              <span>{formatTime(e.startTime)}</span>
              <span className="muted">
                {formatDuration(Date.parse(e.lastUpdateTime) - Date.parse(e.startTime))} · {e.trigger.triggerType}
              </span>
            </button>
          </li>
        ))}
      </ol>
    </div>
  );
}
