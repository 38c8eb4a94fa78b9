//! `PipelineDeclaration` and everything inside it, field for field as the CodePipeline API names them.
//!
//! Optional collections are `Option<Vec<_>>` rather than `Vec<_>` on purpose: `get-pipeline` prints
//! `"inputArtifacts": []` where a hand-written file leaves the key out, and a load/save round trip
//! must give back what it was given. Every struct keeps the fields it does not know in `extra`, so a
//! field AWS adds tomorrow is not dropped by a save today.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::string_enum::string_enum;

/// Fields this version does not model, kept in their original order. They are left out of the
/// TypeScript types (`#[ts(skip)]`): the UI keeps them by copying objects whole, never by name.
pub type Extra = IndexMap<String, Value>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct PipelineDeclaration {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_store: Option<ArtifactStore>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_stores: Option<IndexMap<String, ArtifactStore>>,
    pub stages: Vec<Stage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[ts(as = "Option<String>")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_mode: Option<ExecutionMode>,
    #[ts(as = "Option<String>")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_type: Option<PipelineType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<PipelineVariableDeclaration>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<Vec<TriggerDeclaration>>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

impl PipelineDeclaration {
    /// SUPERSEDED when the declaration does not say, as on AWS.
    pub fn execution_mode(&self) -> ExecutionMode {
        self.execution_mode
            .clone()
            .unwrap_or(ExecutionMode::Superseded)
    }

    /// V1 when the declaration does not say, as on AWS.
    pub fn pipeline_type(&self) -> PipelineType {
        self.pipeline_type.clone().unwrap_or(PipelineType::V1)
    }

    pub fn variables(&self) -> &[PipelineVariableDeclaration] {
        self.variables.as_deref().unwrap_or_default()
    }

    /// The action of this name, in whichever stage it is (action names are unique per stage,
    /// and CodePipeline's sourceRevisions and triggers name source actions alone).
    pub fn find_action(&self, name: &str) -> Option<(&Stage, &Action)> {
        self.stages.iter().find_map(|stage| {
            stage
                .actions
                .iter()
                .find(|action| action.name == name)
                .map(|action| (stage, action))
        })
    }

    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|stage| stage.name == name)
    }
}

string_enum!(
    /// How executions of one pipeline share its stages.
    ExecutionMode {
        Superseded => "SUPERSEDED",
        Queued => "QUEUED",
        Parallel => "PARALLEL",
    }
);

string_enum!(PipelineType { V1 => "V1", V2 => "V2" });

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct ArtifactStore {
    #[serde(rename = "type")]
    pub store_type: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<EncryptionKey>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct EncryptionKey {
    pub id: String,
    #[serde(rename = "type")]
    pub key_type: String,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct PipelineVariableDeclaration {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct TriggerDeclaration {
    pub provider_type: String,
    pub git_configuration: GitConfiguration,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GitConfiguration {
    pub source_action_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<Vec<GitPushFilter>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<Vec<GitPullRequestFilter>>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GitPushFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<IncludeExclude>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches: Option<IncludeExclude>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_paths: Option<IncludeExclude>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct GitPullRequestFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches: Option<IncludeExclude>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_paths: Option<IncludeExclude>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct IncludeExclude {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub includes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excludes: Option<Vec<String>>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct Stage {
    pub name: String,
    pub actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blockers: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_entry: Option<Conditions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_success: Option<Conditions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<FailureConditions>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

impl Stage {
    pub fn action(&self, name: &str) -> Option<&Action> {
        self.actions.iter().find(|action| action.name == name)
    }

    /// The stage's run orders, lowest first, each with the indexes of its actions.
    pub fn run_order_groups(&self) -> Vec<(u32, Vec<usize>)> {
        let mut groups: Vec<(u32, Vec<usize>)> = Vec::new();
        for (index, action) in self.actions.iter().enumerate() {
            let order = action.run_order();
            match groups.iter_mut().find(|(o, _)| *o == order) {
                Some((_, members)) => members.push(index),
                None => groups.push((order, vec![index])),
            }
        }
        groups.sort_by_key(|(order, _)| *order);
        groups
    }
}

/// `beforeEntry` and `onSuccess`: conditions only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct Conditions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct FailureConditions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(as = "Option<String>")]
    pub result: Option<StageFailureResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_configuration: Option<RetryConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

string_enum!(
    /// What a stage does when it fails (`onFailure.result`) or a condition does when it is not met.
    StageFailureResult {
        Rollback => "ROLLBACK",
        Fail => "FAIL",
        Retry => "RETRY",
        Skip => "SKIP",
    }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct RetryConfiguration {
    #[ts(as = "Option<String>")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_mode: Option<RetryMode>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

string_enum!(RetryMode { FailedActions => "FAILED_ACTIONS", AllActions => "ALL_ACTIONS" });

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(as = "Option<String>")]
    pub result: Option<StageFailureResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<RuleDeclaration>>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct RuleDeclaration {
    pub name: String,
    pub rule_type_id: RuleTypeId,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "configuration_map"
    )]
    pub configuration: Option<IndexMap<String, String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "command_list"
    )]
    pub commands: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_artifacts: Option<Vec<InputArtifact>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_in_minutes: Option<u32>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct RuleTypeId {
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct Action {
    pub name: String,
    pub action_type_id: ActionTypeId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_order: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "configuration_map"
    )]
    pub configuration: Option<IndexMap<String, String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "command_list"
    )]
    pub commands: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_artifacts: Option<Vec<OutputArtifact>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_artifacts: Option<Vec<InputArtifact>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_variables: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_in_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<Vec<EnvironmentVariable>>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

impl Action {
    /// 1 when the declaration does not say, as on AWS.
    pub fn run_order(&self) -> u32 {
        self.run_order.unwrap_or(1)
    }

    pub fn config(&self, key: &str) -> Option<&str> {
        self.configuration.as_ref()?.get(key).map(String::as_str)
    }

    pub fn inputs(&self) -> &[InputArtifact] {
        self.input_artifacts.as_deref().unwrap_or_default()
    }

    pub fn outputs(&self) -> &[OutputArtifact] {
        self.output_artifacts.as_deref().unwrap_or_default()
    }

    pub fn commands(&self) -> &[String] {
        self.commands.as_deref().unwrap_or_default()
    }

    pub fn output_variables(&self) -> &[String] {
        self.output_variables.as_deref().unwrap_or_default()
    }

    pub fn environment_variables(&self) -> &[EnvironmentVariable] {
        self.environment_variables.as_deref().unwrap_or_default()
    }

    pub fn is_manual_approval(&self) -> bool {
        self.action_type_id.category == ActionCategory::Approval
            && self.action_type_id.provider == "Manual"
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct ActionTypeId {
    #[ts(as = "String")]
    pub category: ActionCategory,
    #[ts(as = "String")]
    pub owner: ActionOwner,
    pub provider: String,
    pub version: String,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

string_enum!(ActionCategory {
    Source => "Source",
    Build => "Build",
    Deploy => "Deploy",
    Test => "Test",
    Invoke => "Invoke",
    Approval => "Approval",
    Compute => "Compute",
});

string_enum!(ActionOwner { Aws => "AWS", ThirdParty => "ThirdParty", Custom => "Custom" });

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct InputArtifact {
    pub name: String,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct OutputArtifact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct EnvironmentVariable {
    pub name: String,
    pub value: String,
    #[ts(as = "Option<String>")]
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub variable_type: Option<EnvironmentVariableType>,
    #[serde(flatten)]
    #[ts(skip)]
    pub extra: Extra,
}

string_enum!(EnvironmentVariableType {
    Plaintext => "PLAINTEXT",
    SecretsManager => "SECRETS_MANAGER",
});

/// Commands are strings on AWS, but in YAML `- true` or `- 1` reads as a boolean or a number;
/// those are the commands `true` and `1`, as the author meant.
fn command_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    let raw: Option<Vec<Scalar>> = Option::deserialize(deserializer)?;
    Ok(raw.map(|list| list.into_iter().map(Scalar::into_text).collect()))
}

/// A YAML scalar AWS wants as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Bool(bool),
    Integer(i64),
    Float(f64),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Text(text) => text,
            Scalar::Bool(flag) => flag.to_string(),
            Scalar::Integer(number) => number.to_string(),
            Scalar::Float(number) => number.to_string(),
        }
    }
}

/// Action and rule configurations are string maps on AWS, but a YAML author writes `Extract: false`
/// or `DetectChanges: no`-style scalars; those are read as the strings AWS expects rather than
/// rejected. Anything that is not a scalar is an error.
fn configuration_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<IndexMap<String, String>>, D::Error> {
    let raw: Option<IndexMap<String, Scalar>> = Option::deserialize(deserializer)?;
    Ok(raw.map(|map| {
        map.into_iter()
            .map(|(key, value)| (key, value.into_text()))
            .collect()
    }))
}
