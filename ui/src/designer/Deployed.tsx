// The designer's pipeline against where it is deployed: pick an AWS connection, see what pushing
// would change there (stages and actions added, removed, moved or changed), and push it.
import { useEffect, useState } from "react";

import {
  asBackendError,
  backend,
  LOCAL,
  type BackendError,
  type PipelineDeclaration,
  type PipelinePlan,
} from "../backend";
import { ErrorBanner } from "../app/ErrorBanner";

const MARKS: Record<string, string> = { add: "+", remove: "-", move: ">", change: "~" };

/** `preferred`: the connection the pipeline was opened from, chosen to begin with. */
export function Deployed({ pipeline, preferred }: { pipeline: PipelineDeclaration; preferred?: string }) {
  const [connections, setConnections] = useState<string[]>([]);
  const [connection, setConnection] = useState<string | undefined>(preferred);
  const [plan, setPlan] = useState<PipelinePlan>();
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<BackendError>();

  useEffect(() => {
    backend.listConnections().then(
      (all) => {
        const aws = all.map((c) => c.name).filter((name) => name !== LOCAL);
        setConnections(aws);
        // With one AWS connection there is nothing to choose.
        if (aws.length === 1) setConnection((chosen) => chosen ?? aws[0]);
      },
      (e) => setError(asBackendError(e)),
    );
  }, []);
  // Another pipeline opened from another connection: compare with that one.
  useEffect(() => {
    if (preferred) setConnection(preferred);
  }, [preferred]);
  // What was pushed before is not news about another pipeline.
  useEffect(() => setNotice(undefined), [pipeline.name]);
  // A plan is about the pipeline as it was when compared: an edit calls for comparing again.
  useEffect(() => setPlan(undefined), [pipeline, connection]);

  if (connections.length === 0) {
    return <p className="muted">Add an AWS connection under Settings to compare with and push to a deployed pipeline.</p>;
  }
  const compare = (where: string) =>
    backend.planPipeline(where, pipeline).then(setPlan, (e) => setError(asBackendError(e)));
  return (
    <div className="card deployed" aria-label="Against the deployed pipeline">
      <ErrorBanner error={error} onClose={() => setError(undefined)} />
      <div className="editor-head">
        <label>
          Deployed in{" "}
          <select value={connection ?? ""} onChange={(e) => setConnection(e.target.value || undefined)}>
            <option value="">choose a connection</option>
            {connections.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <button disabled={!connection} onClick={() => connection && compare(connection)}>
          Compare
        </button>
        <button
          className="primary"
          disabled={!connection || !plan || (plan.deployedVersion !== undefined && plan.changes.length === 0)}
          onClick={() =>
            connection &&
            backend.pushPipeline(connection, pipeline).then(
              (saved) => {
                setNotice(`Pushed ${saved.name}: version ${saved.version} in ${connection}.`);
                void compare(connection);
              },
              (e) => setError(asBackendError(e)),
            )
          }
        >
          Push
        </button>
      </div>
      {notice && (
        <div className="notice" role="status">
          {notice}
        </div>
      )}
      {plan && plan.deployedVersion === undefined && <p>Not deployed there yet: pushing creates it.</p>}
      {plan && plan.deployedVersion !== undefined && plan.changes.length === 0 && (
        <p>Up to date with version {plan.deployedVersion}.</p>
      )}
      {plan && plan.changes.length > 0 && (
        <ul className="plain plan">
          {plan.changes.map((c, i) => (
            <li key={i} className={`plan-${c.kind}`}>
              {MARKS[c.kind] ?? "~"} {c.subject}
              {c.detail && <span className="muted">: {c.detail}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
