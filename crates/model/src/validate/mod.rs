//! Validation: every problem of a declaration at once, each pinned to a JSON path with a stable code.
//!
//! Problems come in three severities so local experiments are not blocked by rules only the cloud
//! enforces: an `Error` makes the pipeline unusable anywhere, `Aws` means the local engine runs it
//! but CodePipeline would refuse it, `Warning` is advice.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use ts_rs::TS;

use crate::variables::{self, CODEPIPELINE_NAMESPACE, CODEPIPELINE_VARIABLES, PIPELINE_NAMESPACE};
use crate::{
    Action, ActionCategory, ExecutionMode, PipelineDeclaration, PipelineType, Stage,
    StageFailureResult,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Invalid anywhere: the local engine will not run it either.
    Error,
    /// Fine locally, rejected by AWS.
    Aws,
    /// Accepted everywhere, but probably not what was meant.
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[ts(optional_fields)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable, kebab-case; tools match on it, people read `message`.
    pub code: &'static str,
    /// JSON pointer into the declaration, e.g. `/stages/2/actions/0/inputArtifacts/0`.
    pub path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(
        severity: Severity,
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// CodePipeline's pattern for pipeline, stage and action names.
fn name_is_valid(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '-' | '_'))
}

/// The values of a configuration map, each with its JSON path.
fn configuration_texts<'a>(
    path: &str,
    configuration: Option<&'a indexmap::IndexMap<String, String>>,
) -> Vec<(String, &'a str)> {
    configuration
        .into_iter()
        .flatten()
        .map(|(key, value)| {
            (
                format!("{path}/configuration/{}", pointer_key(key)),
                value.as_str(),
            )
        })
        .collect()
}

/// A key as one JSON pointer segment.
fn pointer_key(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Artifact names allow no '.' or '@' either; locally they also name directories
/// (`CODEBUILD_SRC_DIR_NAME`), so this keeps them to one plain path segment too.
fn artifact_name_is_valid(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// Namespaces and variable names allow no dot.
fn identifier_is_valid(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '-' | '_'))
}

const MAX_ACTIONS_PER_STAGE: usize = 50;
const MAX_COMMANDS: usize = 50;
/// Manual approval `timeoutInMinutes` bounds (5 minutes to 60 days).
pub const APPROVAL_TIMEOUT_MINUTES: std::ops::RangeInclusive<u32> = 5..=86_400;

/// Every problem in `pipeline`, in document order.
pub fn validate(pipeline: &PipelineDeclaration) -> Vec<Diagnostic> {
    let mut check = Checker {
        out: Vec::new(),
        pipeline,
    };
    check.pipeline();
    check.out
}

struct Checker<'p> {
    out: Vec<Diagnostic>,
    pipeline: &'p PipelineDeclaration,
}

/// Where an artifact or namespace was produced, to tell "not produced" from "produced too late".
#[derive(Clone, Copy)]
struct Producer {
    stage: usize,
    run_order: u32,
}

impl Producer {
    fn is_before(self, stage: usize, run_order: u32) -> bool {
        self.stage < stage || (self.stage == stage && self.run_order < run_order)
    }
}

impl Checker<'_> {
    fn push(&mut self, severity: Severity, code: &'static str, path: String, message: String) {
        self.out
            .push(Diagnostic::new(severity, code, path, message));
    }

    fn push_hint(
        &mut self,
        severity: Severity,
        code: &'static str,
        path: String,
        message: String,
        hint: impl Into<String>,
    ) {
        self.out
            .push(Diagnostic::new(severity, code, path, message).with_hint(hint));
    }

    fn pipeline(&mut self) {
        let p = self.pipeline;
        self.name("/name".into(), "pipeline", &p.name);
        if p.role_arn.as_deref().unwrap_or("").is_empty() {
            self.push_hint(
                Severity::Aws,
                "missing-role-arn",
                "/roleArn".into(),
                "the pipeline has no roleArn; AWS requires the service role CodePipeline assumes"
                    .into(),
                "add \"roleArn\": \"arn:aws:iam::ACCOUNT:role/NAME\"",
            );
        }
        match (&p.artifact_store, &p.artifact_stores) {
            (None, None) => self.push(
                Severity::Aws,
                "missing-artifact-store",
                "/artifactStore".into(),
                "the pipeline has no artifactStore; AWS requires an S3 bucket for artifacts".into(),
            ),
            (Some(_), Some(_)) => self.push(
                Severity::Aws,
                "both-artifact-stores",
                "/artifactStores".into(),
                "use either artifactStore or artifactStores, not both".into(),
            ),
            _ => {}
        }
        self.known_enum(
            "/executionMode",
            p.execution_mode
                .as_ref()
                .map(|m| (m.is_known(), m.as_str(), ExecutionMode::KNOWN)),
        );
        self.known_enum(
            "/pipelineType",
            p.pipeline_type
                .as_ref()
                .map(|t| (t.is_known(), t.as_str(), PipelineType::KNOWN)),
        );
        let v2 = p.pipeline_type() == PipelineType::V2;
        if !v2
            && matches!(
                p.execution_mode,
                Some(ExecutionMode::Queued | ExecutionMode::Parallel)
            )
        {
            self.needs_v2("/executionMode", "QUEUED and PARALLEL execution modes");
        }
        self.pipeline_variables(v2);
        if p.stages.is_empty() {
            self.push(
                Severity::Error,
                "no-stages",
                "/stages".into(),
                "the pipeline has no stages".into(),
            );
        } else if p.stages.len() < 2 {
            self.push_hint(
                Severity::Aws,
                "too-few-stages",
                "/stages".into(),
                "AWS requires at least two stages; this one-stage pipeline runs only locally"
                    .into(),
                "add a stage after the source stage",
            );
        }
        self.stages(v2);
        self.triggers(v2);
        self.api_shapes();
    }

    fn needs_v2(&mut self, path: &str, feature: &str) {
        self.push_hint(
            Severity::Aws,
            "requires-v2",
            path.into(),
            format!("{feature} need pipelineType V2"),
            "set \"pipelineType\": \"V2\"",
        );
    }

    fn known_enum(&mut self, path: &str, value: Option<(bool, &str, &[&str])>) {
        if let Some((false, text, known)) = value {
            self.push(
                Severity::Error,
                "unknown-value",
                path.into(),
                format!("'{text}' is not one of {}", known.join(", ")),
            );
        }
    }

    fn name(&mut self, path: String, what: &str, name: &str) {
        if !name_is_valid(name) {
            self.push_hint(
                Severity::Error,
                "invalid-name",
                path,
                format!("the {what} name '{name}' is not valid"),
                "names are 1 to 100 characters of A-Z, a-z, 0-9, '.', '@', '-' and '_'",
            );
        }
    }

    fn pipeline_variables(&mut self, v2: bool) {
        let variables = self.pipeline.variables();
        if self.pipeline.variables.is_some() && !v2 {
            self.needs_v2("/variables", "pipeline variables");
        }
        let mut seen = HashSet::new();
        for (i, variable) in variables.iter().enumerate() {
            let path = format!("/variables/{i}/name");
            if !identifier_is_valid(&variable.name) {
                self.push(
                    Severity::Error,
                    "invalid-name",
                    path.clone(),
                    format!("the variable name '{}' is not valid", variable.name),
                );
            }
            if !seen.insert(variable.name.as_str()) {
                self.push(
                    Severity::Error,
                    "duplicate-variable",
                    path,
                    format!("the variable '{}' is declared twice", variable.name),
                );
            }
        }
    }

    fn stages(&mut self, v2: bool) {
        let p = self.pipeline;
        let mut stage_names = HashSet::new();
        let mut artifacts: HashMap<&str, Producer> = HashMap::new();
        let mut namespaces: HashMap<&str, Producer> = HashMap::new();
        // Producers are collected first so that "produced later" can be told from "never produced".
        for (s, stage) in p.stages.iter().enumerate() {
            for action in &stage.actions {
                let here = Producer {
                    stage: s,
                    run_order: action.run_order(),
                };
                for output in action.outputs() {
                    artifacts.entry(output.name.as_str()).or_insert(here);
                }
                if let Some(namespace) = &action.namespace {
                    namespaces.entry(namespace.as_str()).or_insert(here);
                }
            }
        }
        let mut outputs_seen = HashSet::new();
        let mut namespaces_seen = HashSet::new();
        for (s, stage) in p.stages.iter().enumerate() {
            let path = format!("/stages/{s}");
            self.name(format!("{path}/name"), "stage", &stage.name);
            if !stage_names.insert(stage.name.as_str()) {
                self.push(
                    Severity::Error,
                    "duplicate-stage-name",
                    format!("{path}/name"),
                    format!("another stage is already named '{}'", stage.name),
                );
            }
            if stage.actions.is_empty() {
                self.push(
                    Severity::Error,
                    "stage-action-count",
                    format!("{path}/actions"),
                    format!(
                        "the stage '{}' has no actions; a stage holds at least one",
                        stage.name
                    ),
                );
            } else if stage.actions.len() > MAX_ACTIONS_PER_STAGE {
                // The local engine runs wider stages (load tests use them); only AWS refuses.
                self.push(
                    Severity::Aws,
                    "stage-action-count",
                    format!("{path}/actions"),
                    format!(
                        "the stage '{}' has {} actions; AWS allows at most {MAX_ACTIONS_PER_STAGE} per stage",
                        stage.name,
                        stage.actions.len()
                    ),
                );
            }
            self.stage_conditions(&path, s, stage, v2, &namespaces);
            let mut action_names = HashSet::new();
            for (a, action) in stage.actions.iter().enumerate() {
                let apath = format!("{path}/actions/{a}");
                if !action_names.insert(action.name.as_str()) {
                    self.push(
                        Severity::Error,
                        "duplicate-action-name",
                        format!("{apath}/name"),
                        format!(
                            "the stage '{}' already has an action named '{}'",
                            stage.name, action.name
                        ),
                    );
                }
                self.action(&apath, s, stage, action, v2, &artifacts, &namespaces);
                for (o, output) in action.outputs().iter().enumerate() {
                    if !artifact_name_is_valid(&output.name) {
                        self.push_hint(
                            Severity::Error,
                            "invalid-name",
                            format!("{apath}/outputArtifacts/{o}/name"),
                            format!("the artifact name '{}' is not valid", output.name),
                            "artifact names are 1 to 100 characters of A-Z, a-z, 0-9, '-' and '_'",
                        );
                    }
                    if !outputs_seen.insert(output.name.as_str()) {
                        self.push(
                            Severity::Error,
                            "duplicate-output-artifact",
                            format!("{apath}/outputArtifacts/{o}/name"),
                            format!(
                                "another action already outputs an artifact named '{}'",
                                output.name
                            ),
                        );
                    }
                }
                if let Some(namespace) = &action.namespace
                    && !namespaces_seen.insert(namespace.as_str())
                {
                    self.push(
                        Severity::Error,
                        "duplicate-namespace",
                        format!("{apath}/namespace"),
                        format!("another action already uses the namespace '{namespace}'"),
                    );
                }
            }
        }
    }

    fn triggers(&mut self, v2: bool) {
        let Some(triggers) = &self.pipeline.triggers else {
            return;
        };
        if !v2 {
            self.needs_v2("/triggers", "triggers");
        }
        let first_stage_sources: HashSet<&str> = self
            .pipeline
            .stages
            .first()
            .map(|stage| {
                stage
                    .actions
                    .iter()
                    .filter(|a| a.action_type_id.provider == "CodeStarSourceConnection")
                    .map(|a| a.name.as_str())
                    .collect()
            })
            .unwrap_or_default();
        for (t, trigger) in triggers.iter().enumerate() {
            let name = &trigger.git_configuration.source_action_name;
            if !first_stage_sources.contains(name.as_str()) {
                self.push(
                    Severity::Error,
                    "unknown-trigger-source",
                    format!("/triggers/{t}/gitConfiguration/sourceActionName"),
                    format!("'{name}' is not a CodeStarSourceConnection action of the first stage"),
                );
            }
        }
    }
}

mod action_types;
mod actions;
mod api_shapes;
mod stage_conditions;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_action_types;
