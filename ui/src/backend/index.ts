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
import type { ListPipelinesOutput } from "./generated/ListPipelinesOutput";
import type { LogLine } from "./generated/LogLine";
import type { NotificationSettings } from "./generated/NotificationSettings";
import type { Open } from "./generated/Open";
import type { ParseError } from "./generated/ParseError";
import type { PendingApproval } from "./generated/PendingApproval";
import type { PipelineDeclaration } from "./generated/PipelineDeclaration";
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

export const backend = {
  listPipelines: () => invoke<ListPipelinesOutput>("list_pipelines"),
  getPipeline: (name: string, version?: number) =>
    invoke<GetPipelineOutput>("get_pipeline", { name, version: version ?? null }),
  parsePipeline: (text: string, yaml: boolean) =>
    invoke<PipelineDeclaration>("parse_pipeline", { text, yaml }),
  renderPipeline: (pipeline: PipelineDeclaration, yaml: boolean) =>
    invoke<string>("render_pipeline", { pipeline, yaml }),
  validatePipeline: (pipeline: PipelineDeclaration) =>
    invoke<ValidationReport>("validate_pipeline", { pipeline }),
  /** A new version of `storedAs` when the name is unchanged; otherwise a new pipeline. */
  savePipeline: (pipeline: PipelineDeclaration, storedAs: string | null) =>
    invoke<SavedPipeline>("save_pipeline", { pipeline, storedAs }),
  getPipelineState: (name: string) => invoke<GetPipelineStateOutput>("get_pipeline_state", { name }),
  listExecutions: (name: string) =>
    invoke<ListPipelineExecutionsOutput>("list_executions", { name }),
  getExecution: (name: string, executionId: string) =>
    invoke<GetPipelineExecutionOutput>("get_execution", { name, executionId }),
  stageStatuses: (executionId: string) => invoke<StageExecutionStatus[]>("stage_statuses", { executionId }),
  listActionExecutions: (name: string, executionId: string) =>
    invoke<ListActionExecutionsOutput>("list_action_executions", { name, executionId }),
  startExecution: (name: string, variables: Record<string, string>) =>
    invoke<string>("start_execution", { name, variables }),
  stopExecution: (name: string, executionId: string, abandon: boolean, reason: string | null) =>
    invoke<void>("stop_execution", { name, executionId, abandon, reason }),
  retryStage: (name: string, stage: string, executionId: string, allActions: boolean) =>
    invoke<void>("retry_stage", { name, stage, executionId, allActions }),
  /** Rolls `stage` back to the artifacts of `targetExecutionId` (the newest success when null). */
  rollbackStage: (name: string, stage: string, targetExecutionId: string | null) =>
    invoke<string>("rollback_stage", { name, stage, targetExecutionId }),
  setTransition: (name: string, stage: string, enabled: boolean, reason: string | null) =>
    invoke<void>("set_transition", { name, stage, enabled, reason }),
  pendingApprovals: () => invoke<PendingApproval[]>("pending_approvals"),
  putApprovalResult: (approval: PendingApproval, approved: boolean, summary: string) =>
    invoke<void>("put_approval_result", {
      name: approval.pipelineName,
      stage: approval.stageName,
      action: approval.actionName,
      token: approval.token,
      approved,
      summary,
    }),

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
