// The artifacts an action took and made: their names, and for a local execution their size and
// an export as the zip CodePipeline keeps in S3; for an AWS execution, where they are in S3.
import { useState } from "react";

import { asBackendError, backend, type ActionExecutionDetail, type ArtifactDetail, type ArtifactSummary } from "../backend";
import { formatBytes } from "../status";

export function Artifacts(props: {
  pipeline: string;
  detail: ActionExecutionDetail;
  /** The execution's artifacts with their sizes (a local execution); undefined for AWS's. */
  stored?: ArtifactSummary[];
}) {
  const [notice, setNotice] = useState<string>();
  const row = (artifact: ArtifactDetail, kind: "input" | "output") => {
    const stored = props.stored?.find((s) => s.name === artifact.name);
    const s3 = artifact.s3location as { bucket?: string; key?: string } | null;
    return (
      <li key={`${kind}-${artifact.name}`} data-artifact-row={artifact.name}>
        <span className="muted">{kind}</span> <strong>{artifact.name}</strong>{" "}
        {stored && (
          <span className="muted">
            {stored.files} {stored.files === 1 ? "file" : "files"}, {formatBytes(stored.bytes)}
          </span>
        )}
        {!props.stored && s3?.bucket && <code className="selectable muted">s3://{s3.bucket}/{s3.key}</code>}
        {stored && (
          <button
            type="button"
            className="link"
            onClick={() =>
              backend.exportArtifact(props.pipeline, props.detail.pipelineExecutionId, artifact.name).then(
                (to) => to && setNotice(`Saved ${artifact.name} to ${to}`),
                (e) => setNotice(asBackendError(e).message),
              )
            }
          >
            Export…
          </button>
        )}
      </li>
    );
  };
  const inputs = props.detail.input.inputArtifacts;
  const outputs = props.detail.output.outputArtifacts;
  if (inputs.length === 0 && outputs.length === 0) return <p className="muted">No artifacts in or out.</p>;
  return (
    <div className="artifacts">
      <ul className="plain">
        {inputs.map((a) => row(a, "input"))}
        {outputs.map((a) => row(a, "output"))}
      </ul>
      {notice && (
        <p className="muted" role="status">
          {notice}
        </p>
      )}
    </div>
  );
}
