// The source revisions an execution carries (a commit's short id, its message, its author, its page), shown
// in the monitor and beside each approval so the approver sees what they approve.
import type { ArtifactRevision } from "../backend";

/** A git commit id shortened as git does; any other revision id (an S3 version, a digest) whole. */
export function shortRevision(id: string): string {
  return /^[0-9a-f]{40}$/i.test(id) ? id.slice(0, 7) : id;
}

export function Revisions({ revisions }: { revisions: ArtifactRevision[] }) {
  if (revisions.length === 0) return null;
  return (
    <ul className="revisions plain" aria-label="Source revisions">
      {revisions.map((r) => (
        <li key={r.name} data-revision={r.revisionId}>
          <span className="muted">{r.name}:</span>{" "}
          <code className="selectable" title={r.revisionId}>
            {shortRevision(r.revisionId)}
          </code>{" "}
          <span className="revision-summary">{r.revisionSummary?.split("\n")[0]}</span>
          {r.revisionAuthor && <span className="muted"> by {r.revisionAuthor}</span>}
          {r.revisionUrl && (
            <>
              {" "}
              <code className="selectable muted revision-url">{r.revisionUrl}</code>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}
