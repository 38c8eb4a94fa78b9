// Every pipeline with its latest status, last run and duration; search by name, filter by status.
import { useEffect, useMemo, useState } from "react";

import {
  asBackendError,
  backend,
  LOCAL,
  type BackendError,
  type ConnectionPipelines,
  type PipelineSummary,
} from "../backend";

/** A pipeline, and the connection it lives in. */
type Row = PipelineSummary & { connection: string };
import type { Navigate } from "../app/App";
import { useChanges, useCoalesced } from "../app/changes";
import { ErrorBanner } from "../app/ErrorBanner";
import { StatusBadge } from "../app/StatusBadge";
import { formatDuration, formatTime, toneOf } from "../status";
import { useLocalRun } from "../local/useLocalRun";

const FILTERS: { key: string; label: string; shows: (p: Row) => boolean }[] = [
  { key: "all", label: "All", shows: () => true },
  { key: "failed", label: "Failed", shows: (p) => toneOf(p.latestExecution?.status) === "bad" },
  { key: "running", label: "Running", shows: (p) => toneOf(p.latestExecution?.status) === "busy" },
  { key: "succeeded", label: "Succeeded", shows: (p) => toneOf(p.latestExecution?.status) === "ok" },
  { key: "never", label: "Never run", shows: (p) => !p.latestExecution },
];

function duration(p: Row, now: number): string {
  const run = p.latestExecution;
  if (!run) return "";
  const end = run.status === "InProgress" ? now : Date.parse(run.lastUpdateTime);
  return formatDuration(end - Date.parse(run.startTime));
}

export function PipelinesView({ navigate }: { navigate: Navigate }) {
  const [pipelines, setPipelines] = useState<Row[]>([]);
  const [unreachable, setUnreachable] = useState<ConnectionPipelines[]>([]);
  const [error, setError] = useState<BackendError>();
  const [search, setSearch] = useState("");
  const [filter, setFilter] = useState("all");
  const [now, setNow] = useState(Date.now());

  const load = useCoalesced(() =>
    backend.listPipelines().then(
      (all) => {
        setPipelines(all.flatMap((c) => c.pipelines.map((p) => ({ ...p, connection: c.connection }))));
        setUnreachable(all.filter((c) => c.error));
        setNow(Date.now());
      },
      (e) => setError(asBackendError(e)),
    ),
  );
  useEffect(load, [load]);
  useChanges(load);

  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return pipelines.filter(
      (p) =>
        (needle === "" || p.name.toLowerCase().includes(needle) || p.connection.toLowerCase().includes(needle)) &&
        (FILTERS.find((f) => f.key === filter)?.shows(p) ?? true),
    );
  }, [pipelines, search, filter]);

  const runs = useLocalRun(navigate, setError);

  return (
    <section className="view" aria-labelledby="pipelines-title">
      <header className="view-header">
        <h1 id="pipelines-title">Pipelines</h1>
        <input
          type="search"
          placeholder="Search pipelines"
          aria-label="Search pipelines"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <div className="segmented" role="radiogroup" aria-label="Filter by status">
          {FILTERS.map((f) => (
            <button
              key={f.key}
              role="radio"
              aria-checked={filter === f.key}
              className={filter === f.key ? "active" : ""}
              onClick={() => setFilter(f.key)}
            >
              {f.label}
            </button>
          ))}
        </div>
        <button className="primary" onClick={() => navigate("designer", "")}>
          New pipeline
        </button>
      </header>
      <ErrorBanner error={error} onClose={() => setError(undefined)} />
      {runs.dialog}
      {unreachable.map((c) => (
        <ErrorBanner key={c.connection} error={c.error ? { ...c.error, message: `${c.connection}: ${c.error.message}` } : undefined} />
      ))}
      <table className="pipelines">
        <thead>
          <tr>
            <th>Pipeline</th>
            <th>Where</th>
            <th>Status</th>
            <th>Last run</th>
            <th>Duration</th>
            <th>Version</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {shown.map((p) => (
            <tr
              key={`${p.connection}/${p.name}`}
              data-pipeline={p.name}
              data-connection={p.connection}
              className={`row tone-${toneOf(p.latestExecution?.status)}`}
            >
              <td>
                <button className="link" onClick={() => navigate("monitor", p.name, undefined, p.connection)}>
                  {p.name}
                </button>
                <div className="muted">
                  {p.pipelineType} · {p.executionMode}
                </div>
              </td>
              <td className="muted">{p.connection}</td>
              <td>
                <StatusBadge status={p.latestExecution?.status} />
              </td>
              <td>{formatTime(p.latestExecution?.startTime)}</td>
              <td>{duration(p, now)}</td>
              <td>{p.version}</td>
              <td className="row-actions">
                <button onClick={() => void runs.start(p.connection, p.name, {})}>Run</button>
                {p.connection !== LOCAL && (
                  <button
                    title="Pull it to this machine (its CodeBuild projects and latest outputs too) and run it here"
                    onClick={() => void runs.runLocally(p.connection, p.name)}
                  >
                    Run locally
                  </button>
                )}
                <button onClick={() => navigate("designer", p.name, undefined, p.connection)}>Edit</button>
                <button onClick={() => navigate("monitor", p.name, undefined, p.connection)}>Monitor</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && (
        <p className="empty">
          {pipelines.length === 0
            ? "No pipelines yet. Create one with New pipeline, or import a file with `pipewright import`."
            : "No pipeline matches."}
        </p>
      )}
    </section>
  );
}
