// The palette: action providers by category, each with the configuration fields its form shows
// (names as the CodePipeline action reference spells them) and the action a drop creates.
import type { Action } from "../backend";

export interface Field {
  key: string;
  label: string;
  required?: boolean;
  hint?: string;
  /** A long value (a JSON document, a script): a text area rather than a line. */
  multiline?: boolean;
}

export interface Provider {
  category: string;
  owner: string;
  provider: string;
  version: string;
  /** What the palette calls it. */
  title: string;
  fields: Field[];
  /** Whether the local engine runs it without mapping it in the local settings. */
  local: boolean;
  template: () => Partial<Action>;
}

const source = (output = "SourceArtifact") => ({ outputArtifacts: [{ name: output }] });

export const PROVIDERS: Provider[] = [
  {
    category: "Source",
    owner: "AWS",
    provider: "CodeStarSourceConnection",
    version: "1",
    title: "Git repository (connection)",
    local: true,
    fields: [
      { key: "ConnectionArn", label: "Connection ARN", required: true },
      { key: "FullRepositoryId", label: "Repository (owner/name)", required: true },
      { key: "BranchName", label: "Branch", required: true },
      { key: "OutputArtifactFormat", label: "Output format", hint: "CODE_ZIP or CODEBUILD_CLONE_REF" },
      { key: "DetectChanges", label: "Detect changes", hint: "true or false" },
    ],
    template: () => ({
      ...source(),
      configuration: { ConnectionArn: "", FullRepositoryId: "", BranchName: "main" },
    }),
  },
  {
    category: "Source",
    owner: "AWS",
    provider: "CodeCommit",
    version: "1",
    title: "CodeCommit",
    local: true,
    fields: [
      { key: "RepositoryName", label: "Repository", required: true },
      { key: "BranchName", label: "Branch", required: true },
      { key: "PollForSourceChanges", label: "Poll for changes", hint: "true or false" },
    ],
    template: () => ({ ...source(), configuration: { RepositoryName: "", BranchName: "main" } }),
  },
  {
    category: "Source",
    owner: "AWS",
    provider: "S3",
    version: "1",
    title: "S3 object",
    local: true,
    fields: [
      { key: "S3Bucket", label: "Bucket", required: true },
      { key: "S3ObjectKey", label: "Object key", required: true },
      { key: "PollForSourceChanges", label: "Poll for changes", hint: "true or false" },
    ],
    template: () => ({ ...source(), configuration: { S3Bucket: "", S3ObjectKey: "" } }),
  },
  {
    category: "Build",
    owner: "AWS",
    provider: "CodeBuild",
    version: "1",
    title: "CodeBuild",
    local: true,
    fields: [
      { key: "ProjectName", label: "Project", required: true },
      { key: "PrimarySource", label: "Primary source", hint: "the input artifact with the buildspec" },
      { key: "EnvironmentVariables", label: "Environment variables (JSON)", multiline: true },
      { key: "BatchEnabled", label: "Batch build", hint: "true or false" },
    ],
    template: () => ({
      configuration: { ProjectName: "" },
      inputArtifacts: [{ name: "SourceArtifact" }],
      outputArtifacts: [{ name: "BuildArtifact" }],
    }),
  },
  {
    category: "Test",
    owner: "AWS",
    provider: "CodeBuild",
    version: "1",
    title: "CodeBuild tests",
    local: true,
    fields: [
      { key: "ProjectName", label: "Project", required: true },
      { key: "PrimarySource", label: "Primary source" },
      { key: "EnvironmentVariables", label: "Environment variables (JSON)", multiline: true },
    ],
    template: () => ({ configuration: { ProjectName: "" }, inputArtifacts: [{ name: "BuildArtifact" }] }),
  },
  {
    category: "Compute",
    owner: "AWS",
    provider: "Commands",
    version: "1",
    title: "Commands",
    local: true,
    fields: [],
    template: () => ({ commands: ["echo hello"] }),
  },
  {
    category: "Approval",
    owner: "AWS",
    provider: "Manual",
    version: "1",
    title: "Manual approval",
    local: true,
    fields: [
      { key: "CustomData", label: "Message to the approver", multiline: true },
      { key: "ExternalEntityLink", label: "Link to review" },
      { key: "NotificationArn", label: "SNS topic ARN" },
    ],
    template: () => ({ configuration: { CustomData: "Please review and approve." } }),
  },
  {
    category: "Deploy",
    owner: "AWS",
    provider: "S3",
    version: "1",
    title: "S3 deploy",
    local: true,
    fields: [
      { key: "BucketName", label: "Bucket", required: true },
      { key: "Extract", label: "Extract", required: true, hint: "true or false" },
      { key: "ObjectKey", label: "Object key", hint: "required when Extract is false" },
      { key: "CannedACL", label: "Canned ACL" },
    ],
    template: () => ({
      configuration: { BucketName: "", Extract: "true" },
      inputArtifacts: [{ name: "BuildArtifact" }],
    }),
  },
  {
    category: "Deploy",
    owner: "AWS",
    provider: "CloudFormation",
    version: "1",
    title: "CloudFormation",
    local: false,
    fields: [
      { key: "ActionMode", label: "Action mode", required: true, hint: "CREATE_UPDATE, DELETE_ONLY, ..." },
      { key: "StackName", label: "Stack", required: true },
      { key: "TemplatePath", label: "Template path", hint: "Artifact::path/template.yaml" },
      { key: "Capabilities", label: "Capabilities" },
      { key: "RoleArn", label: "Role ARN" },
      { key: "ParameterOverrides", label: "Parameter overrides (JSON)", multiline: true },
    ],
    template: () => ({
      configuration: { ActionMode: "CREATE_UPDATE", StackName: "" },
      inputArtifacts: [{ name: "BuildArtifact" }],
    }),
  },
  {
    category: "Deploy",
    owner: "AWS",
    provider: "ECS",
    version: "1",
    title: "ECS",
    local: false,
    fields: [
      { key: "ClusterName", label: "Cluster", required: true },
      { key: "ServiceName", label: "Service", required: true },
      { key: "FileName", label: "Image definitions file" },
    ],
    template: () => ({ configuration: { ClusterName: "", ServiceName: "" }, inputArtifacts: [{ name: "BuildArtifact" }] }),
  },
  {
    category: "Invoke",
    owner: "AWS",
    provider: "Lambda",
    version: "1",
    title: "Lambda",
    local: false,
    fields: [
      { key: "FunctionName", label: "Function", required: true },
      { key: "UserParameters", label: "User parameters", multiline: true },
    ],
    template: () => ({ configuration: { FunctionName: "" } }),
  },
];

export const CATEGORIES = ["Source", "Build", "Test", "Compute", "Approval", "Deploy", "Invoke"];

export function providerOf(action: Action): Provider | undefined {
  const t = action.actionTypeId;
  return PROVIDERS.find((p) => p.category === t.category && p.provider === t.provider);
}

/** A new action of this provider, named after it. */
export function newAction(provider: Provider): Action {
  return {
    name: provider.provider === "Manual" ? "Approve" : provider.provider,
    actionTypeId: {
      category: provider.category,
      owner: provider.owner,
      provider: provider.provider,
      version: provider.version,
    },
    ...provider.template(),
  };
}
