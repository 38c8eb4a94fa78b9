// The designer: the pipeline drawn (Canvas), the selected action's or stage's form, the pipeline's
// own settings, the JSON/YAML text, diagnostics as you edit, undo/redo, the changes against the
// saved version, and Save (a new version).
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";

import {
  asBackendError,
  backend,
  LOCAL,
  type BackendError,
  type Diagnostic,
  type PipelineDeclaration,
} from "../backend";
import type { Navigate } from "../app/App";
import { ErrorBanner } from "../app/ErrorBanner";
import { ActionEditor } from "./ActionEditor";
import { Canvas } from "./Canvas";
import { Deployed } from "./Deployed";
import { changesOnly, diffLines } from "./diff";
import { edit, redo, start, undo, type History } from "./history";
import {
  addAction,
  addressOf,
  addStage,
  artifactsAvailableTo,
  artifactUse,
  moveAction,
  moveStage,
  nudgeAction,
  removeAction,
  type ActionAddress,
  updateAction,
} from "./model";
import { PipelineSettings } from "./PipelineSettings";
import { SourcePanel } from "./SourcePanel";
import { StageEditor } from "./StageEditor";

/** What a new pipeline starts as: one stage that runs on this machine at once, ready to grow. */
function blankPipeline(): PipelineDeclaration {
  return {
    name: "my-pipeline",
    pipelineType: "V2",
    executionMode: "QUEUED",
    stages: [
      {
        name: "Build",
        actions: [
          {
            name: "Hello",
            actionTypeId: { category: "Compute", owner: "AWS", provider: "Commands", version: "1" },
            commands: ["echo Hello from Pipewright"],
          },
        ],
      },
    ],
  };
}

/** How long edits may pause before they are validated. */
const VALIDATE_AFTER_MS = 250;

type Side = "action" | "stage" | "pipeline" | "text" | "changes";

interface Props {
  /** The stored pipeline to edit; empty for a new one. */
  pipeline?: string;
  /** The connection it is read from: the local engine, or an AWS connection (saving keeps it on
   * this machine; Changes compares with and pushes to where it came from). */
  origin: string;
  /** Whether the designer is the view shown (it stays mounted, keeping unsaved edits, when not). */
  active: boolean;
  navigate: Navigate;
  onUnsaved: (unsaved: boolean) => void;
}

/** The selected action: where it is, and its name, by which it is found again after edits. */
type Selection = ActionAddress & { name: string };

export function DesignerView({ pipeline: name, origin, active, navigate, onUnsaved }: Props) {
  const [history, setHistory] = useState<History<PipelineDeclaration>>();
  // What is stored: its version, and the declaration it was loaded or saved as (the edits are
  // unsaved while the present one is another; none for a pipeline not saved yet).
  const [saved, setSaved] = useState<{ version?: number; pipeline?: PipelineDeclaration }>();
  const [diagnostics, setDiagnostics] = useState<Diagnostic[]>([]);
  const [selected, setSelected] = useState<Selection>();
  const [selectedStage, setSelectedStage] = useState<number>();
  const [side, setSide] = useState<Side>("pipeline");
  const [error, setError] = useState<BackendError>();
  const [notice, setNotice] = useState<string>();
  // The pipeline a save just stored under its (new) name, reloaded from there next.
  const justSaved = useRef<string | undefined>(undefined);

  // Load the saved pipeline (or start a new one) whenever the chosen pipeline changes.
  useEffect(() => {
    let live = true;
    const load = name
      ? backend.getPipeline(origin, name).then((out) => ({ pipeline: out.pipeline, version: out.pipeline.version }))
      : Promise.resolve({ pipeline: blankPipeline(), version: undefined });
    load.then(
      async ({ pipeline, version }) => {
        if (!live) return;
        const { version: _stored, ...declaration } = pipeline;
        const loaded = declaration as PipelineDeclaration;
        setHistory(start(loaded));
        setSaved(name ? { version, pipeline: loaded } : {});
        // A notice about the pipeline shown before is not about this one; the notice of the save
        // that brought this pipeline here is.
        if (justSaved.current !== name) setNotice(undefined);
        justSaved.current = undefined;
        setSelected(undefined);
        setSelectedStage(undefined);
      },
      (e) => live && setError(asBackendError(e)),
    );
    return () => {
      live = false;
    };
  }, [name, origin]);

  const current = history?.present;
  const change = useCallback((next: PipelineDeclaration, group?: string) => {
    setHistory((h) => (h ? edit(h, next, group) : h));
    setNotice(undefined);
  }, []);

  // Selecting from the canvas: the same functions across renders, because the canvas's stages and
  // action boxes are redrawn only when their props change (a new function each render redrew every
  // box in view whenever anything here changed). They read the present declaration from a ref.
  const present = useRef(current);
  useLayoutEffect(() => {
    present.current = current;
  });
  const selectAction = useCallback((at: ActionAddress) => {
    setSelected({ ...at, name: present.current?.stages[at.stage]?.actions[at.action]?.name ?? "" });
    setSide("action");
  }, []);
  const selectStage = useCallback((stage: number) => {
    setSelectedStage(stage);
    setSide("stage");
  }, []);

  // Validate as the user edits, a moment after the last change. An answer about a declaration
  // that is no longer the present one is dropped.
  useEffect(() => {
    if (!current) return;
    let live = true;
    const timer = setTimeout(() => {
      backend.validatePipeline(current).then(
        (report) => live && setDiagnostics(report.diagnostics),
        (e) => live && setError(asBackendError(e)),
      );
    }, VALIDATE_AFTER_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [current]);

  // After an edit (a move, an undo, a stage added before it), find the selected action again by
  // its name: first in its stage, then anywhere; a selection whose action is gone is dropped.
  useEffect(() => {
    if (!current || !selected) return;
    if (current.stages[selected.stage]?.actions[selected.action]?.name === selected.name) return;
    const inStage = current.stages[selected.stage]?.actions.findIndex((a) => a.name === selected.name) ?? -1;
    if (inStage >= 0) {
      setSelected({ ...selected, action: inStage });
      return;
    }
    for (const [s, stage] of current.stages.entries()) {
      const a = stage.actions.findIndex((x) => x.name === selected.name);
      if (a >= 0) {
        setSelected({ stage: s, action: a, name: selected.name });
        return;
      }
    }
    setSelected(undefined);
  }, [current, selected]);
  useEffect(() => {
    if (current && selectedStage !== undefined && selectedStage >= current.stages.length) setSelectedStage(undefined);
  }, [current, selectedStage]);

  const unsaved = saved?.pipeline !== current;
  useEffect(() => onUnsaved(unsaved && current !== undefined), [unsaved, current, onUnsaved]);

  const [currentText, setCurrentText] = useState("");
  useEffect(() => {
    if (current && side === "changes") backend.renderPipeline(current, false).then(setCurrentText, () => {});
  }, [current, side]);
  // The saved version as text, for *Changes* only: rendered when that tab is open, once per saved
  // version (not when a pipeline loads: a large one's first drawing does not wait for it).
  const [rendered, setRendered] = useState<{ of: PipelineDeclaration; text: string }>();
  useEffect(() => {
    const pipeline = saved?.pipeline;
    if (side !== "changes" || !pipeline || rendered?.of === pipeline) return;
    let live = true;
    backend.renderPipeline(pipeline, false).then(
      (text) => live && setRendered({ of: pipeline, text }),
      (e) => live && setError(asBackendError(e)),
    );
    return () => {
      live = false;
    };
  }, [side, saved, rendered]);
  const savedText = !saved?.pipeline ? "" : rendered?.of === saved.pipeline ? rendered.text : undefined;
  const diff = useMemo(
    () => (side === "changes" && savedText !== undefined ? changesOnly(diffLines(savedText, currentText)) : []),
    [side, savedText, currentText],
  );

  const errors = diagnostics.filter((d) => d.severity === "error").length;
  // A pipeline opened from AWS can be saved unchanged: that keeps a copy on this machine.
  const canSave = current !== undefined && errors === 0 && (unsaved || origin !== LOCAL);
  const save = async () => {
    if (!current || !canSave) return;
    try {
      // A pipeline opened from AWS is kept on this machine: a new version of the local pipeline
      // of that name when there is one (versions are kept, so nothing stored is lost).
      const storedAs =
        origin === LOCAL
          ? name || null
          : await backend.getPipeline(LOCAL, current.name).then(
              () => current.name,
              (e) => {
                if (asBackendError(e).code === "PipelineNotFoundException") return null;
                throw e;
              },
            );
      const out = await backend.savePipeline(current, storedAs);
      setSaved({ version: out.version, pipeline: current });
      setNotice(`Saved ${out.name} as version ${out.version}${origin === LOCAL ? "" : " on this machine"}.`);
      if (out.name !== name || origin !== LOCAL) {
        justSaved.current = out.name;
        navigate("designer", out.name);
      }
    } catch (e) {
      setError(asBackendError(e));
    }
  };

  const nudge = (direction: "left" | "right" | "up" | "down") => {
    if (!selected || !current) return;
    const moved = nudgeAction(current, selected, direction);
    change(moved.pipeline);
    // In another stage it may have been renamed to stay unique: select it by its name now.
    const name = moved.pipeline.stages[moved.at.stage]?.actions[moved.at.action]?.name ?? selected.name;
    setSelected({ ...moved.at, name });
  };

  // Undo/redo and moving the selected action from the keyboard.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!active) return;
      const inField = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z" && !inField) {
        event.preventDefault();
        setHistory((h) => h && (event.shiftKey ? redo(h) : undo(h)));
      } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "y" && !inField) {
        event.preventDefault();
        setHistory((h) => h && redo(h));
      } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
        event.preventDefault();
        void save();
      } else if (event.altKey && selected && !inField && event.key.startsWith("Arrow")) {
        event.preventDefault();
        const direction = ({ ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down" } as const)[
          event.key as "ArrowLeft"
        ];
        if (direction) nudge(direction);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  if (!current || !history) {
    return (
      <section className="view" hidden={!active}>
        <ErrorBanner error={error} onClose={() => setError(undefined)} />
        <p className="muted">Loading…</p>
      </section>
    );
  }

  const selectedAction = selected ? current.stages[selected.stage]?.actions[selected.action] : undefined;

  return (
    <section className="view designer" aria-labelledby="designer-title" hidden={!active}>
      <header className="view-header">
        <h1 id="designer-title">{current.name || "New pipeline"}</h1>
        {saved?.version !== undefined && (
          <span className="muted" data-origin={origin}>
            {origin === LOCAL ? `saved version ${saved.version}` : `version ${saved.version} in ${origin}`}
          </span>
        )}
        <div className="spacer" />
        <button disabled={history.past.length === 0} onClick={() => setHistory(undo(history))} title="Undo (Ctrl+Z)">
          Undo
        </button>
        <button disabled={history.future.length === 0} onClick={() => setHistory(redo(history))} title="Redo (Ctrl+Shift+Z)">
          Redo
        </button>
        <button className="primary" disabled={!canSave} onClick={save} title="Save as a new version (Ctrl+S)">
          Save
        </button>
        {name && (
          <button onClick={() => navigate("monitor", name, undefined, origin)} title={unsaved ? "Shows the saved version" : undefined}>
            Monitor
          </button>
        )}
      </header>
      <ErrorBanner error={error} onClose={() => setError(undefined)} />
      {notice && (
        <div className="notice" role="status">
          {notice}
        </div>
      )}
      <Canvas
        // Each pipeline gets its own view: it opens at its start and at actual size.
        key={name ?? ""}
        pipeline={current}
        diagnostics={diagnostics}
        selected={selected}
        selectedStage={selectedStage}
        onSelect={selectAction}
        onSelectStage={selectStage}
        onMoveAction={(from, to) => {
          change(moveAction(current, from, to));
          setSelected(undefined);
        }}
        onAddAction={(action, to) => change(addAction(current, action, to))}
        onMoveStage={(from, to) => change(moveStage(current, from, to))}
        onAddStage={(at) => change(addStage(current, at))}
        inspector={
          <>
            <div className="tabs" role="tablist">
              {(["pipeline", "stage", "action", "text", "changes"] as Side[]).map((tab) => (
                <button
                  key={tab}
                  role="tab"
                  aria-selected={side === tab}
                  className={side === tab ? "active" : ""}
                  onClick={() => setSide(tab)}
                >
                  {{ pipeline: "Pipeline", stage: "Stage", action: "Action", text: "JSON / YAML", changes: "Changes" }[tab]}
                </button>
              ))}
              <span className="muted diagnostics-count" data-diagnostics={diagnostics.length}>
                {errors} errors · {diagnostics.length - errors} notes
              </span>
            </div>
            <div className="side">
              {side === "pipeline" && (
                <PipelineSettings pipeline={current} diagnostics={diagnostics} onChange={change} />
              )}
              {side === "stage" &&
                (selectedStage !== undefined && current.stages[selectedStage] ? (
                  <StageEditor
                    pipeline={current}
                    index={selectedStage}
                    diagnostics={diagnostics.filter((d) => {
                      const at = addressOf(d.path);
                      return at.stage === selectedStage && at.action === undefined;
                    })}
                    onChange={change}
                    onRemoved={() => setSelectedStage(undefined)}
                  />
                ) : (
                  <p className="muted">Select a stage by its name.</p>
                ))}
              {side === "action" &&
                (selected && selectedAction ? (
                  <ActionEditor
                    key={`${selected.stage}/${selected.action}`}
                    action={selectedAction}
                    available={artifactsAvailableTo(current, selected)}
              uses={(artifact) => artifactUse(current, artifact)}
                    diagnostics={diagnostics.filter((d) => {
                      const at = addressOf(d.path);
                      return at.stage === selected.stage && at.action === selected.action;
                    })}
                    onChange={(action, field) => {
                      change(updateAction(current, selected, action), `${selected.stage}/${selected.action}/${field}`);
                      if (action.name !== selected.name) setSelected({ ...selected, name: action.name });
                    }}
                    onRemove={() => {
                      change(removeAction(current, selected));
                      setSelected(undefined);
                    }}
                    onMove={nudge}
                  />
                ) : (
                  <p className="muted">Select an action on the canvas, or drag one in from the palette.</p>
                ))}
              {side === "text" && <SourcePanel pipeline={current} onChange={(p) => change(p, "text")} />}
              {side === "changes" && <Deployed pipeline={current} preferred={origin === LOCAL ? undefined : origin} />}
              {side === "changes" && (
                <div className="card diff" aria-label="Changes against the saved version">
                  {!saved?.pipeline && <p className="muted">Not saved yet: everything is new.</p>}
                  {saved?.pipeline && savedText === undefined && <p className="muted">Reading the saved version…</p>}
                  {saved?.pipeline && savedText !== undefined && diff.length === 0 && (
                    <p className="muted">No changes since version {saved.version}.</p>
                  )}
                  {diff.map((line, i) =>
                    line === null ? (
                      <div key={i} className="diff-gap">
                        …
                      </div>
                    ) : (
                      <div key={i} className={`diff-line diff-${line.kind}`}>
                        {line.kind === "added" ? "+ " : line.kind === "removed" ? "- " : "  "}
                        {line.text}
                      </div>
                    ),
                  )}
                </div>
              )}
            </div>
            <DiagnosticsList
              diagnostics={diagnostics}
              pipeline={current}
              onSelect={(at) => {
                setSelected({ ...at, name: current.stages[at.stage]?.actions[at.action]?.name ?? "" });
                setSide("action");
              }}
            />
          </>
        }
      />
    </section>
  );
}

function DiagnosticsList(props: {
  diagnostics: Diagnostic[];
  pipeline: PipelineDeclaration;
  onSelect: (at: ActionAddress) => void;
}) {
  if (props.diagnostics.length === 0) return null;
  return (
    <ul className="diagnostics card" aria-label="Problems">
      {props.diagnostics.map((d, i) => {
        const at = addressOf(d.path);
        const where =
          at.stage !== undefined
            ? [props.pipeline.stages[at.stage]?.name, at.action !== undefined ? props.pipeline.stages[at.stage]?.actions[at.action]?.name : undefined]
                .filter(Boolean)
                .join(" / ")
            : d.path || "pipeline";
        return (
          <li key={i} className={`severity-${d.severity}`} data-code={d.code}>
            <span className="severity">{d.severity}</span>{" "}
            {at.action !== undefined ? (
              <button className="link" onClick={() => props.onSelect({ stage: at.stage!, action: at.action! })}>
                {where}
              </button>
            ) : (
              <span>{where}</span>
            )}
            : {d.message}
            {d.hint && <span className="muted"> — {d.hint}</span>}
          </li>
        );
      })}
    </ul>
  );
}
