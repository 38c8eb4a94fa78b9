// The palette: action providers by category, with the action a drop creates. The fields of an
// action's form come from the catalog of AWS action types (`crates/model/src/catalog`), the same
// file `validate` checks against and `serve` answers ListActionTypes from.
import type { Action, ActionTypeId, ActionTypeSpec } from "../backend";
import catalog from "../../../crates/model/src/catalog/action_types.json";

export interface Field {
  key: string;
  label: string;
  required?: boolean;
  /** What the property is, from the action reference. */
  hint?: string;
  /** AWS keeps it secret (and `get-pipeline` masks it): typed unseen. */
  secret?: boolean;
  /** The values AWS accepts, offered as suggestions (a `#{...}` variable is allowed too). */
  allowedValues?: string[];
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
    template: () => ({ ...source(), configuration: { RepositoryName: "", BranchName: "main" } }),
  },
  {
    category: "Source",
    owner: "AWS",
    provider: "S3",
    version: "1",
    title: "S3 object",
    local: true,
    template: () => ({ ...source(), configuration: { S3Bucket: "", S3ObjectKey: "" } }),
  },
  {
    category: "Build",
    owner: "AWS",
    provider: "CodeBuild",
    version: "1",
    title: "CodeBuild",
    local: true,
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
    template: () => ({ configuration: { ProjectName: "" }, inputArtifacts: [{ name: "BuildArtifact" }] }),
  },
  {
    category: "Compute",
    owner: "AWS",
    provider: "Commands",
    version: "1",
    title: "Commands",
    local: true,
    template: () => ({ commands: ["echo hello"] }),
  },
  {
    category: "Approval",
    owner: "AWS",
    provider: "Manual",
    version: "1",
    title: "Manual approval",
    local: true,
    template: () => ({ configuration: { CustomData: "Please review and approve." } }),
  },
  {
    category: "Deploy",
    owner: "AWS",
    provider: "S3",
    version: "1",
    title: "S3 deploy",
    local: true,
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
    template: () => ({ configuration: { ClusterName: "", ServiceName: "" }, inputArtifacts: [{ name: "BuildArtifact" }] }),
  },
  {
    category: "Invoke",
    owner: "AWS",
    provider: "Lambda",
    version: "1",
    title: "Lambda",
    local: false,
    template: () => ({ configuration: { FunctionName: "" } }),
  },
];

export const CATEGORIES = ["Source", "Build", "Test", "Compute", "Approval", "Deploy", "Invoke"];

export const ACTION_TYPES = catalog as ActionTypeSpec[];

/** The catalog's entry for an action type: its properties, artifact counts and reference page. */
export function specOf(t: ActionTypeId): ActionTypeSpec | undefined {
  return ACTION_TYPES.find(
    (s) => s.category === t.category && s.owner === t.owner && s.provider === t.provider && s.version === t.version,
  );
}

/** Properties whose values are documents (JSON, scripts, messages) rather than one line. */
const MULTILINE = new Set(["CustomData", "EnvironmentVariables", "ParameterOverrides", "UserParameters", "Input", "Parameters", "Variables"]);

/** "DeploymentGroupName" → "Deployment group name". */
function label(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2");
  return words.charAt(0) + words.slice(1).toLowerCase().replace(/\b(arn|id|acl|kms|ecr|ecs|eks|s3|sns|url|json)\b/g, (w) => w.toUpperCase());
}

/** The form fields of an action type, required ones first, as the catalog lists them. */
export function fieldsOf(t: ActionTypeId): Field[] {
  const spec = specOf(t);
  if (!spec) return [];
  const fields = spec.properties.map(
    (p): Field => ({
      key: p.name,
      label: label(p.name),
      required: p.required,
      hint: p.description,
      secret: p.secret,
      allowedValues: p.allowedValues ?? undefined,
      multiline: MULTILINE.has(p.name),
    }),
  );
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)];
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
