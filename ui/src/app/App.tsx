// The window: a sidebar of views and the view shown. Which view and which pipeline are chosen is
// the only state kept here; each view loads what it shows.
import { useCallback, useEffect, useState } from "react";

import { backend, LOCAL } from "../backend";
import { ApprovalsView } from "../approvals/ApprovalsView";
import { DesignerView } from "../designer/DesignerView";
import { MonitorView } from "../monitor/MonitorView";
import { PipelinesView } from "../pipelines/PipelinesView";
import { SettingsView } from "../settings/SettingsView";
import { useChanges, useCoalesced } from "./changes";
import { useTheme } from "./theme";

export type View = "pipelines" | "designer" | "monitor" | "approvals" | "settings";

/** Shows a view; with a pipeline, that pipeline (in `connection`, the local engine by default). */
export interface Navigate {
  (view: View, pipeline?: string, execution?: string, connection?: string): void;
}

const VIEWS: { view: View; label: string; key: string }[] = [
  { view: "pipelines", label: "Pipelines", key: "1" },
  { view: "designer", label: "Designer", key: "2" },
  { view: "monitor", label: "Monitor", key: "3" },
  { view: "approvals", label: "Approvals", key: "4" },
  { view: "settings", label: "Settings", key: "5" },
];

export function App() {
  const [view, setView] = useState<View>("pipelines");
  const [pipeline, setPipeline] = useState<string | undefined>();
  const [connection, setConnection] = useState<string>(LOCAL);
  const [execution, setExecution] = useState<string | undefined>();
  const [approvals, setApprovals] = useState(0);
  // The designer keeps its pipeline (and unsaved edits) while other views show other pipelines;
  // undefined until it is first opened. An empty name is a new pipeline.
  const [designing, setDesigning] = useState<{ name: string; connection: string } | undefined>();
  const [unsaved, setUnsaved] = useState(false);
  const [theme, toggleTheme] = useTheme();

  const navigate: Navigate = useCallback((next, name, executionId, where) => {
    setView(next);
    if (name !== undefined) {
      setPipeline(name);
      setConnection(where ?? LOCAL);
    }
    if (next === "designer")
      setDesigning((current) =>
        name !== undefined ? { name, connection: where ?? LOCAL } : (current ?? { name: "", connection: LOCAL }),
      );
    setExecution(executionId);
  }, []);

  const countApprovals = useCoalesced(() =>
    backend.pendingApprovals().then((inbox) => setApprovals(inbox.approvals.length), () => {}),
  );
  useEffect(countApprovals, [countApprovals]);
  useChanges(countApprovals);

  // A notification's or the tray's Open brings the window to a view.
  useEffect(() => {
    void backend.watchNavigation((open) => {
      const view = VIEWS.find((v) => v.view === open.view)?.view ?? "pipelines";
      navigate(view, open.pipeline, open.executionId, open.connection);
    });
  }, [navigate]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!event.altKey) return;
      const target = VIEWS.find((v) => v.key === event.key);
      if (target) {
        event.preventDefault();
        navigate(target.view);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  return (
    <div className="app">
      <nav className="sidebar" aria-label="Views">
        <div className="brand">Pipewright</div>
        {VIEWS.map(({ view: v, label, key }) => (
          <button
            key={v}
            className={v === view ? "nav active" : "nav"}
            aria-current={v === view ? "page" : undefined}
            title={`${label} (Alt+${key})`}
            data-view={v}
            onClick={() => navigate(v)}
          >
            {label}
            {v === "designer" && unsaved && (
              <span className="unsaved" title="Unsaved changes" aria-label="unsaved changes">
                •
              </span>
            )}
            {v === "approvals" && approvals > 0 && (
              <span className="badge" aria-label={`${approvals} waiting`}>
                {approvals}
              </span>
            )}
          </button>
        ))}
        <div className="spacer" />
        {pipeline && (
          <div className="current" title="The pipeline the monitor shows">
            {pipeline}
            {connection !== LOCAL && <div className="muted">{connection}</div>}
          </div>
        )}
        <button className="nav theme" onClick={toggleTheme}>
          {theme === "dark" ? "Light theme" : "Dark theme"}
        </button>
      </nav>
      <main className="content">
        {view === "pipelines" && <PipelinesView navigate={navigate} />}
        {designing !== undefined && (
          <DesignerView
            pipeline={designing.name}
            origin={designing.connection}
            active={view === "designer"}
            navigate={navigate}
            onUnsaved={setUnsaved}
          />
        )}
        {view === "monitor" && (
          <MonitorView connection={connection} pipeline={pipeline} execution={execution} navigate={navigate} />
        )}
        {view === "approvals" && <ApprovalsView navigate={navigate} />}
        {view === "settings" && <SettingsView />}
      </main>
    </div>
  );
}
