// One execution live (the latest, or any from the history): stages left to right with their
// run-order groups, each action's status and elapsed time, a timeline, the selected action's
// streamed log and details, and the controls: run, stop, retry, rollback, transitions.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import {
  asBackendError,
  backend,
  LOCAL,
  type ActionExecutionDetail,
  type ActionReport,
  type ArtifactSummary,
  type BackendError,
  type GetPipelineStateOutput,
  type PipelineDeclaration,
  type PipelineExecution,
  type PipelineExecutionSummary,
} from "../backend";
import type { Navigate } from "../app/App";
import { useChanges, useCoalesced } from "../app/changes";
import { ErrorBanner } from "../app/ErrorBanner";
import { StatusBadge } from "../app/StatusBadge";
import { runOrderGroups } from "../designer/model";
import { formatDuration, formatTime, toneOf } from "../status";
import { ActionDetails } from "./ActionDetails";
import { latestAttempts, shownStatus } from "./execution";
import { Cost, Timeline } from "./Timeline";
import { Revisions } from "../app/Revisions";
import { History } from "./History";
import { RunForm } from "./RunForm";
import { useLocalRun } from "../local/useLocalRun";

interface Props {
  /** Where the pipeline lives: `local`, or an AWS connection's name. */
  connection: string;
  pipeline?: string;
  execution?: string;
  navigate: Navigate;
}

interface Loaded {
  declaration: PipelineDeclaration;
  state: GetPipelineStateOutput;
  executions: PipelineExecutionSummary[];
  execution?: PipelineExecution;
  actions: ActionExecutionDetail[];
  /** The test and coverage reports of the execution's builds (local executions). */
  reports: ActionReport[];
  /** The execution's artifacts with their sizes (local executions). */
  artifacts?: ArtifactSummary[];
  /** The status of each stage the execution reached, as the engine recorded it. */
  stages: Map<string, string>;
}

export function MonitorView({ connection, pipeline, execution, navigate }: Props) {
  const [names, setNames] = useState<{ connection: string; name: string }[]>([]);
  const [loaded, setLoaded] = useState<Loaded>();
  const [selectedAction, setSelectedAction] = useState<string>();
  const [error, setError] = useState<BackendError>();
  const [now, setNow] = useState(Date.now());
  const [showRun, setShowRun] = useState(false);
  const [stopReason, setStopReason] = useState("");

  useEffect(() => {
    backend.listPipelines().then(
      (all) => setNames(all.flatMap((c) => c.pipelines.map((p) => ({ connection: c.connection, name: p.name })))),
      () => {},
    );
  }, []);

  // Which load is current: one for a pipeline or execution no longer shown must not land.
  const loading = useRef({ live: true });
  const load = useCallback(async () => {
    if (!pipeline) return;
    const current = loading.current;
    try {
      const [state, history] = await Promise.all([
        backend.getPipelineState(connection, pipeline),
        backend.listExecutions(connection, pipeline),
      ]);
      const executions = history.pipelineExecutionSummaries;
      const id = execution ?? executions[0]?.pipelineExecutionId;
      const chosen = id ? (await backend.getExecution(connection, pipeline, id)).pipelineExecution : undefined;
      const [declaration, actions, stages, reports, artifacts] = await Promise.all([
        backend.getPipeline(connection, pipeline, chosen?.pipelineVersion).then((out) => out.pipeline),
        id ? backend.listActionExecutions(connection, pipeline, id).then((out) => out.actionExecutionDetails) : [],
        // AWS says how each stage fares in the pipeline's state (for its latest execution).
        id && connection === LOCAL
          ? backend.stageStatuses(id)
          : state.stageStates.flatMap((st) =>
              st.latestExecution && st.latestExecution.pipelineExecutionId === id
                ? [{ stageName: st.stageName, status: st.latestExecution.status }]
                : [],
            ),
        id && connection === LOCAL ? backend.listReports(pipeline, id).then((out) => out.reports) : [],
        id && connection === LOCAL ? backend.executionArtifacts(pipeline, id) : undefined,
      ]);
      if (!current.live) return;
      setLoaded({
        declaration,
        state,
        executions,
        execution: chosen,
        actions,
        reports,
        artifacts,
        stages: new Map(stages.map((s) => [s.stageName, s.status])),
      });
      setNow(Date.now());
    } catch (e) {
      setError(asBackendError(e));
    }
  }, [connection, pipeline, execution]);
  const refresh = useCoalesced(load);
  useEffect(() => {
    loading.current.live = false;
    loading.current = { live: true };
    setLoaded(undefined);
    setSelectedAction(undefined);
    refresh();
  }, [load, refresh]);
  useChanges((changes) => {
    if (changes.some((c) => c.pipeline === pipeline && c.connection === connection)) refresh();
  });
  const running = loaded?.execution?.status === "InProgress";
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [running]);

  const runs = useLocalRun(navigate, setError);
  const attempts = useMemo(() => latestAttempts(loaded?.actions ?? []), [loaded]);
  const act = (work: Promise<unknown>) => work.then(refresh, (e) => setError(asBackendError(e)));

  if (!pipeline) {
    return (
      <section className="view">
        <header className="view-header">
          <h1>Monitor</h1>
        </header>
        <p>Choose a pipeline to watch:</p>
        <ul className="plain">
          {names.map((p) => (
            <li key={`${p.connection}/${p.name}`}>
              <button className="link" onClick={() => navigate("monitor", p.name, undefined, p.connection)}>
                {p.name}
              </button>
              {p.connection !== LOCAL && <span className="muted"> {p.connection}</span>}
            </li>
          ))}
        </ul>
      </section>
    );
  }

  const exec = loaded?.execution;
  const started = loaded?.executions.find((e) => e.pipelineExecutionId === exec?.pipelineExecutionId);
  const elapsed = started
    ? formatDuration((running ? now : Date.parse(started.lastUpdateTime)) - Date.parse(started.startTime))
    : "";
  const selected = selectedAction ? attempts.get(selectedAction) : undefined;
  const viewingLatest = exec?.pipelineExecutionId === loaded?.executions[0]?.pipelineExecutionId;

  return (
    <section className="view monitor" aria-labelledby="monitor-title">
      <header className="view-header">
        <h1 id="monitor-title">{pipeline}</h1>
        {exec && <StatusBadge status={exec.status} />}
        {exec && (
          <span className="muted selectable" title="Execution id">
            {exec.pipelineExecutionId} · {formatTime(started?.startTime)} · {elapsed}
          </span>
        )}
        <div className="spacer" />
        <button className="primary" onClick={() => setShowRun(!showRun)} aria-expanded={showRun}>
          Run pipeline
        </button>
        {running && exec && (
          <>
            <input
              type="text"
              placeholder="Reason to stop"
              aria-label="Reason to stop"
              value={stopReason}
              onChange={(e) => setStopReason(e.target.value)}
            />
            <button
              onClick={() => act(backend.stopExecution(connection, pipeline, exec.pipelineExecutionId, false, stopReason || null))}
            >
              Stop
            </button>
            <button
              className="reject"
              onClick={() => act(backend.stopExecution(connection, pipeline, exec.pipelineExecutionId, true, stopReason || null))}
            >
              Stop and abandon
            </button>
          </>
        )}
        <button onClick={() => navigate("designer", pipeline, undefined, connection)}>Edit</button>
        {connection === LOCAL ? (
          <button onClick={() => runs.editSettings(pipeline)}>Local settings</button>
        ) : (
          <button onClick={() => void runs.runLocally(connection, pipeline)}>Run locally</button>
        )}
      </header>
      <ErrorBanner error={error} onClose={() => setError(undefined)} />
      {runs.dialog}
      {showRun && loaded && (
        <RunForm
          declaration={loaded.declaration}
          onRun={(variables) => {
            setShowRun(false);
            void runs.start(connection, pipeline, variables);
          }}
        />
      )}
      {exec && <Revisions revisions={exec.artifactRevisions} />}
      {exec?.statusSummary && <p className="summary">{exec.statusSummary}</p>}
      {loaded && (
        <div className="stages" role="list" aria-label="Stages">
          {loaded.declaration.stages.map((stage, s) => {
            const state = loaded.state.stageStates.find((st) => st.stageName === stage.name);
            const status = loaded.stages.get(stage.name);
            const transition = state?.inboundTransitionState;
            return (
              <div className="stage-column" key={stage.name} role="listitem">
                {s > 0 && transition && (
                  <TransitionToggle
                    enabled={transition.enabled}
                    reason={transition.disabledReason}
                    onChange={(enabled, reason) =>
                      act(backend.setTransition(connection, pipeline, stage.name, enabled, reason))
                    }
                  />
                )}
                <div className={`stage card tone-${toneOf(status)}`} data-stage={stage.name}>
                  <div className="stage-head">
                    <strong>{stage.name}</strong>
                    <StatusBadge status={status ?? "NotStarted"} />
                  </div>
                  {runOrderGroups(stage).map((group) => (
                    <div className="group" key={group.runOrder}>
                      {group.actions.map((index) => {
                        const action = stage.actions[index]!;
                        const key = `${stage.name}/${action.name}`;
                        const attempt = attempts.get(key);
                        const end = attempt?.status === "InProgress" ? now : Date.parse(attempt?.lastUpdateTime ?? "");
                        const shown = shownStatus(action, attempt?.status);
                        return (
                          <button
                            key={action.name}
                            className={`action-chip tone-${toneOf(shown)} ${selectedAction === key ? "selected" : ""}`}
                            data-action={key}
                            data-status={attempt?.status ?? "NotStarted"}
                            onClick={() => setSelectedAction(key)}
                          >
                            <span className="action-name">{action.name}</span>
                            <span className="action-meta">
                              {shown ?? "Not started"}
                              {attempt?.simulated && " · simulated"}
                              {attempt && ` · ${formatDuration(end - Date.parse(attempt.startTime))}`}
                            </span>
                          </button>
                        );
                      })}
                    </div>
                  ))}
                  {exec && (status === "Failed" || status === "Stopped") && (
                    <div className="stage-actions">
                      <button onClick={() => act(backend.retryStage(connection, pipeline, stage.name, exec.pipelineExecutionId, false))}>
                        Retry failed
                      </button>
                      <button onClick={() => act(backend.retryStage(connection, pipeline, stage.name, exec.pipelineExecutionId, true))}>
                        Retry all
                      </button>
                    </div>
                  )}
                  {exec && status === "Succeeded" && s > 0 && (
                    <div className="stage-actions">
                      <button
                        className="link"
                        title={
                          viewingLatest
                            ? "Run this stage again with the artifacts of the newest earlier execution in which it succeeded"
                            : "Run this stage again with the artifacts of this execution"
                        }
                        onClick={() =>
                          act(backend.rollbackStage(connection, pipeline, stage.name, viewingLatest ? null : exec.pipelineExecutionId))
                        }
                      >
                        {viewingLatest ? "Roll back" : "Roll back to this execution"}
                      </button>
                    </div>
                  )}
                </div>
              </div>
            );
          })}
        </div>
      )}
      {loaded && loaded.actions.length > 0 && (
        <Timeline actions={loaded.actions} now={now} onSelect={setSelectedAction} />
      )}
      {loaded && exec && loaded.actions.length > 0 && (
        <Cost
          pipelineType={loaded.declaration.pipelineType ?? "V1"}
          actions={loaded.actions}
          starts={loaded.executions.map((e) => Date.parse(e.startTime))}
          now={now}
        />
      )}
      <div className="monitor-bottom">
        {selected ? (
          <ActionDetails
            key={selected.actionExecutionId}
            pipeline={pipeline}
            detail={selected}
            artifacts={loaded?.artifacts}
            logs={connection === LOCAL}
            reports={loaded?.reports.filter((r) => r.actionExecutionId === selected.actionExecutionId) ?? []}
            onReplay={
              connection === LOCAL
                ? undefined
                : () =>
                    backend
                      .replayAction(connection, pipeline, selected.stageName, selected.actionName, selected.pipelineExecutionId)
                      .then((started) => navigate("monitor", started.pipeline, started.executionId, LOCAL), (e) =>
                        setError(asBackendError(e)),
                      )
            }
          />
        ) : (
          <p className="muted">Select an action to see its log and details.</p>
        )}
        {loaded && (
          <History
            executions={loaded.executions}
            current={exec?.pipelineExecutionId}
            onSelect={(id) => navigate("monitor", pipeline, id, connection)}
          />
        )}
      </div>
      {loaded && exec && exec.variables.length > 0 && (
        <details className="card">
          <summary>Variables of this execution</summary>
          <dl className="pairs">
            {exec.variables.map((v) => (
              <div key={v.name}>
                <dt>{v.name}</dt>
                <dd className="selectable">{v.resolvedValue}</dd>
              </div>
            ))}
          </dl>
        </details>
      )}
    </section>
  );
}

function TransitionToggle(props: {
  enabled: boolean;
  reason?: string | null;
  onChange: (enabled: boolean, reason: string | null) => void;
}) {
  const [reason, setReason] = useState("");
  if (!props.enabled) {
    return (
      <div className="transition disabled" title={props.reason ?? undefined}>
        <span>Transition disabled{props.reason ? `: ${props.reason}` : ""}</span>
        <button onClick={() => props.onChange(true, null)}>Enable</button>
      </div>
    );
  }
  return (
    <div className="transition">
      <input
        type="text"
        placeholder="Reason"
        aria-label="Reason to disable the transition"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
      />
      <button disabled={reason.trim() === ""} onClick={() => props.onChange(false, reason)}>
        Disable
      </button>
    </div>
  );
}

