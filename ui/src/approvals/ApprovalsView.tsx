// Every approval waiting anywhere, with what the approver needs to decide, and one-click
// Approve / Reject with an optional comment.
import { useEffect, useState } from "react";

import {
  asBackendError,
  backend,
  LOCAL,
  type BackendError,
  type ConnectionApproval,
  type UnreachableConnection,
} from "../backend";
import type { Navigate } from "../app/App";
import { useChanges, useCoalesced } from "../app/changes";
import { ErrorBanner } from "../app/ErrorBanner";
import { Revisions } from "../app/Revisions";
import { RanBefore } from "./RanBefore";
import { formatTime, since } from "../status";

/** How often the inbox asks every connection again, changes or not. */
const REFRESH_MS = 10_000;

export function ApprovalsView({ navigate }: { navigate: Navigate }) {
  const [approvals, setApprovals] = useState<ConnectionApproval[]>([]);
  const [unreachable, setUnreachable] = useState<UnreachableConnection[]>([]);
  const [comments, setComments] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<BackendError>();
  const [now, setNow] = useState(Date.now());

  const load = useCoalesced(() =>
    backend.pendingApprovals().then(
      (inbox) => {
        setApprovals(inbox.approvals);
        setUnreachable(inbox.unreachable);
        setNow(Date.now());
      },
      (e) => setError(asBackendError(e)),
    ),
  );
  useEffect(load, [load]);
  useChanges(load);
  // Approvals in AWS connections come with their watchers' changes; asking again now and then
  // also catches one decided or started where no watcher looked (the AWS console, another tool).
  useEffect(() => {
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  const decide = async (waiting: ConnectionApproval, approved: boolean) => {
    const approval = waiting.approval;
    setBusy(approval.token);
    try {
      await backend.putApprovalResult(waiting, approved, comments[approval.token] ?? "");
      load();
    } catch (e) {
      setError(asBackendError(e));
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section className="view" aria-labelledby="approvals-title">
      <header className="view-header">
        <h1 id="approvals-title">Approvals</h1>
        <span className="muted">{approvals.length} waiting</span>
      </header>
      <ErrorBanner error={error} onClose={() => setError(undefined)} />
      {unreachable.map(({ connection, error }) => (
        <div key={connection} className="notice warning" role="status" data-unreachable={connection}>
          {connection} could not be asked, so its approvals are missing here: {error.message}
        </div>
      ))}
      {approvals.length === 0 && <p className="empty">No approval is waiting.</p>}
      <ul className="approvals">
        {approvals.map((waiting) => {
          const a = waiting.approval;
          return (
          <li
            key={a.token}
            className="approval card"
            data-approval={`${a.pipelineName}/${a.stageName}/${a.actionName}`}
            data-connection={waiting.connection}
          >
            <div className="approval-head">
              <button
                className="link strong"
                onClick={() => navigate("monitor", a.pipelineName, a.pipelineExecutionId, waiting.connection)}
              >
                {a.pipelineName}
              </button>
              {waiting.connection !== LOCAL && <span className="muted">{waiting.connection}</span>}
              <span>
                {a.stageName} / {a.actionName}
              </span>
              <span className="muted" title={formatTime(a.waitingSince)}>
                waiting {since(a.waitingSince, now)}
              </span>
              {a.expires && <span className="muted">expires {formatTime(a.expires)}</span>}
            </div>
            <Revisions revisions={a.artifactRevisions} />
            <RanBefore waiting={waiting} />
            {a.customData && <p className="custom-data">{a.customData}</p>}
            {a.externalEntityLink && (
              <p>
                Review: <code className="selectable">{a.externalEntityLink}</code>
              </p>
            )}
            <div className="approval-actions">
              <input
                type="text"
                placeholder="Comment (optional)"
                aria-label={`Comment for ${a.pipelineName} ${a.actionName}`}
                value={comments[a.token] ?? ""}
                onChange={(e) => setComments({ ...comments, [a.token]: e.target.value })}
              />
              <button className="approve" disabled={busy === a.token} onClick={() => decide(waiting, true)}>
                Approve
              </button>
              <button className="reject" disabled={busy === a.token} onClick={() => decide(waiting, false)}>
                Reject
              </button>
            </div>
          </li>
          );
        })}
      </ul>
    </section>
  );
}
