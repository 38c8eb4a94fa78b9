// The one place the UI reaches the Rust side. Every other folder imports from here, never from
// `@tauri-apps/*`, so the views can be tested and reused without Tauri.
import { Channel, invoke } from "@tauri-apps/api/core";

import type { BackendError } from "./generated/BackendError";
import type { Change } from "./generated/Change";
import type { GetPipelineExecutionOutput } from "./generated/GetPipelineExecutionOutput";
import type { GetPipelineOutput } from "./generated/GetPipelineOutput";
import type { GetPipelineStateOutput } from "./generated/GetPipelineStateOutput";
import type { ListActionExecutionsOutput } from "./generated/ListActionExecutionsOutput";
import type { ListPipelineExecutionsOutput } from "./generated/ListPipelineExecutionsOutput";
import type { AwsConnection } from "./generated/AwsConnection";
import type { ConnectionApproval } from "./generated/ConnectionApproval";
import type { ConnectionInfo } from "./generated/ConnectionInfo";
import type { Inbox } from "./generated/Inbox";
import type { ConnectionPipelines } from "./generated/ConnectionPipelines";
import type { ListReportsOutput } from "./generated/ListReportsOutput";
import type { ArtifactSummary } from "./generated/ArtifactSummary";
import type { LocalAction } from "./generated/LocalAction";
import type { LocalSettingsForm } from "./generated/LocalSettingsForm";
import type { LogLine } from "./generated/LogLine";
import type { NotificationSettings } from "./generated/NotificationSettings";
import type { Open } from "./generated/Open";
import type { ParseError } from "./generated/ParseError";
import type { PipelineDeclaration } from "./generated/PipelineDeclaration";
import type { PipelinePlan } from "./generated/PipelinePlan";
import type { ReplayStarted } from "./generated/ReplayStarted";
import type { SavedPipeline } from "./generated/SavedPipeline";
import type { StageExecutionStatus } from "./generated/StageExecutionStatus";
import type { ValidationReport } from "./generated/ValidationReport";

export type * from "./types";

/** An error as every command returns it: a stable code to match and a message to show. */
export function isBackendError(value: unknown): value is BackendError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as BackendError).code === "string" &&
    typeof (value as BackendError).message === "string"
  );
}

/** Any thrown value as an error a view can show. */
export function asBackendError(value: unknown): BackendError {
  if (isBackendError(value)) return value;
  return { code: "InternalError", message: String(value) };
}

/** The local engine's connection; AWS connections are named `aws:PROFILE@REGION`. */
export const LOCAL = "local";

export const backend = {
  /** Every connection's pipelines (a connection out of reach says why in `error`). */
  listPipelines: () => invoke<ConnectionPipelines[]>("list_pipelines"),
  getPipeline: (connection: string, name: string, version?: number) =>
    invoke<GetPipelineOutput>("get_pipeline", { connection, name, version: version ?? null }),
  parsePipeline: (text: string, yaml: boolean) =>
    invoke<PipelineDeclaration>("parse_pipeline", { text, yaml }),
  renderPipeline: (pipeline: PipelineDeclaration, yaml: boolean) =>
    invoke<string>("render_pipeline", { pipeline, yaml }),
  validatePipeline: (pipeline: PipelineDeclaration) =>
    invoke<ValidationReport>("validate_pipeline", { pipeline }),
  /** A new version of `storedAs` when the name is unchanged; otherwise a new pipeline. */
  savePipeline: (pipeline: PipelineDeclaration, storedAs: string | null) =>
    invoke<SavedPipeline>("save_pipeline", { pipeline, storedAs }),
  getPipelineState: (connection: string, name: string) =>
    invoke<GetPipelineStateOutput>("get_pipeline_state", { connection, name }),
  listExecutions: (connection: string, name: string) =>
    invoke<ListPipelineExecutionsOutput>("list_executions", { connection, name }),
  getExecution: (connection: string, name: string, executionId: string) =>
    invoke<GetPipelineExecutionOutput>("get_execution", { connection, name, executionId }),
  /** The stages' statuses of a local execution (AWS reports them in the pipeline's state). */
  stageStatuses: (executionId: string) => invoke<StageExecutionStatus[]>("stage_statuses", { executionId }),
  /** The test and coverage reports of a local execution's builds. */
  listReports: (name: string, executionId: string) =>
    invoke<ListReportsOutput>("list_reports", { name, executionId }),
  listActionExecutions: (connection: string, name: string, executionId: string) =>
    invoke<ListActionExecutionsOutput>("list_action_executions", { connection, name, executionId }),
  startExecution: (connection: string, name: string, variables: Record<string, string>) =>
    invoke<string>("start_execution", { connection, name, variables }),
  stopExecution: (connection: string, name: string, executionId: string, abandon: boolean, reason: string | null) =>
    invoke<void>("stop_execution", { connection, name, executionId, abandon, reason }),
  retryStage: (connection: string, name: string, stage: string, executionId: string, allActions: boolean) =>
    invoke<void>("retry_stage", { connection, name, stage, executionId, allActions }),
  /** Rolls `stage` back to the artifacts of `targetExecutionId` (the newest success when null). */
  rollbackStage: (connection: string, name: string, stage: string, targetExecutionId: string | null) =>
    invoke<string>("rollback_stage", { connection, name, stage, targetExecutionId }),
  setTransition: (connection: string, name: string, stage: string, enabled: boolean, reason: string | null) =>
    invoke<void>("set_transition", { connection, name, stage, enabled, reason }),
  /** Every approval waiting in every connection. */
  pendingApprovals: () => invoke<Inbox>("pending_approvals"),
  putApprovalResult: (waiting: ConnectionApproval, approved: boolean, summary: string) =>
    invoke<void>("put_approval_result", {
      decision: { connection: waiting.connection, approval: waiting.approval, approved, summary },
    }),
  /** What pushing `pipeline` to `connection` would change there. */
  planPipeline: (connection: string, pipeline: PipelineDeclaration) =>
    invoke<PipelinePlan>("plan_pipeline", { connection, pipeline }),
  /** Creates or updates `pipeline` in `connection`. */
  pushPipeline: (connection: string, pipeline: PipelineDeclaration) =>
    invoke<SavedPipeline>("push_pipeline", { connection, pipeline }),
  /** How a local pipeline runs on this machine: its settings, and the plan for what they miss. */
  localSettingsForm: (name: string) => invoke<LocalSettingsForm>("local_settings_form", { name }),
  saveLocalSettings: (name: string, actions: LocalAction[]) =>
    invoke<void>("save_local_settings", { name, actions }),
  /** The artifacts a local execution made, with their sizes. */
  executionArtifacts: (name: string, executionId: string) =>
    invoke<ArtifactSummary[]>("execution_artifacts", { name, executionId }),
  /** Saves an artifact as a zip where the user picks; the file written, null when they cancel. */
  exportArtifact: (name: string, executionId: string, artifact: string) =>
    invoke<string | null>("export_artifact", { name, executionId, artifact }),
  /** A folder picked in the system's dialog; null when the user cancels. */
  chooseFolder: (title: string) => invoke<string | null>("choose_folder", { title }),
  /** An AWS pipeline pulled to run on this machine; the local pipeline's name. */
  pullPipeline: (connection: string, name: string) => invoke<string>("pull_pipeline", { connection, name }),
  /** An action of an AWS execution replayed on this machine, started. */
  replayAction: (connection: string, name: string, stage: string, action: string, executionId: string) =>
    invoke<ReplayStarted>("replay_action", { connection, name, stage, action, executionId }),
  listConnections: () => invoke<ConnectionInfo[]>("list_connections"),
  /** Connects (and checks that pipelines can be listed) before keeping it; its name. */
  addAwsConnection: (settings: AwsConnection) => invoke<string>("add_aws_connection", { settings }),
  removeConnection: (name: string) => invoke<void>("remove_connection", { name }),

  notificationSettings: () => invoke<NotificationSettings>("notification_settings"),
  setNotificationSettings: (settings: NotificationSettings) =>
    invoke<void>("set_notification_settings", { new: settings }),

  /** Calls `onOpen` when a notification or the tray asks the window to show a view. */
  watchNavigation: async (onOpen: (open: Open) => void) => {
    const channel = new Channel<Open>();
    channel.onmessage = onOpen;
    await invoke<void>("watch_navigation", { channel });
  },

  /** Calls `onChanges` with every batch of state changes stored from now on. */
  watchChanges: async (onChanges: (changes: Change[]) => void) => {
    const channel = new Channel<Change[]>();
    channel.onmessage = onChanges;
    await invoke<void>("watch_changes", { channel });
  },

  /**
   * Calls `onLines` with the log of an action execution, then with new lines until it ends.
   * Returns the function that stops the stream (call it when the log is no longer shown).
   */
  followLog: async (actionExecutionId: string, onLines: (lines: LogLine[]) => void) => {
    const channel = new Channel<LogLine[]>();
    channel.onmessage = onLines;
    const id = await invoke<number>("follow_log", { actionExecutionId, channel });
    return () => void invoke<void>("unfollow", { id });
  },
};

export function isParseError(value: unknown): value is ParseError {
  return isBackendError(value) && "line" in (value as object);
}
