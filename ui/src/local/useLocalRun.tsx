import { useState, type ReactNode } from "react";

import type { Navigate } from "../app/App";
import { asBackendError, backend, LOCAL, type BackendError } from "../backend";
import { LocalSettingsDialog } from "./LocalSettingsDialog";

/**
 * Starting a pipeline from the window: a local pipeline that cannot run as its settings are
 * opens the local settings form first, and runs once it is saved; an AWS pipeline starts there,
 * or (`runLocally`) is pulled to this machine and run here. The monitor shows the run.
 */
export function useLocalRun(
  navigate: Navigate,
  onError: (error: BackendError) => void,
): {
  start: (connection: string, name: string, variables: Record<string, string>) => Promise<void>;
  runLocally: (connection: string, name: string) => Promise<void>;
  editSettings: (name: string) => void;
  dialog: ReactNode;
} {
  const [open, setOpen] = useState<{ name: string; variables?: Record<string, string> }>();
  const fail = (e: unknown) => onError(asBackendError(e));
  const go = (connection: string, name: string, variables: Record<string, string>) =>
    backend.startExecution(connection, name, variables).then((id) => navigate("monitor", name, id, connection), fail);
  const start = async (connection: string, name: string, variables: Record<string, string>) => {
    if (connection !== LOCAL) return go(connection, name, variables);
    try {
      const form = await backend.localSettingsForm(name);
      if (form.needsPlan) setOpen({ name, variables });
      else await go(LOCAL, name, variables);
    } catch (e) {
      fail(e);
    }
  };
  const runLocally = (connection: string, name: string) =>
    backend.pullPipeline(connection, name).then((local) => start(LOCAL, local, {}), fail);
  const dialog = open && (
    <LocalSettingsDialog
      pipeline={open.name}
      purpose={open.variables ? "run" : "edit"}
      onDone={(saved) => {
        setOpen(undefined);
        if (saved && open.variables) void go(LOCAL, open.name, open.variables);
      }}
    />
  );
  return { start, runLocally, editSettings: (name) => setOpen({ name }), dialog };
}
