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
            let key = key.replace('~', "~0").replace('/', "~1");
            (format!("{path}/configuration/{key}"), value.as_str())
        })
        .collect()
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
        hint: &str,
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

    fn stage_conditions(
        &mut self,
        path: &str,
        s: usize,
        stage: &Stage,
        v2: bool,
        namespaces: &HashMap<&str, Producer>,
    ) {
        let has_conditions = stage
            .before_entry
            .as_ref()
            .and_then(|c| c.conditions.as_ref())
            .is_some()
            || stage
                .on_success
                .as_ref()
                .and_then(|c| c.conditions.as_ref())
                .is_some()
            || stage
                .on_failure
                .as_ref()
                .and_then(|c| c.conditions.as_ref())
                .is_some();
        if has_conditions && !v2 {
            self.needs_v2(path, "stage conditions");
        }
        let kinds = [
            (
                "beforeEntry",
                stage
                    .before_entry
                    .as_ref()
                    .and_then(|c| c.conditions.as_ref()),
                &[StageFailureResult::Fail, StageFailureResult::Skip][..],
            ),
            (
                "onSuccess",
                stage
                    .on_success
                    .as_ref()
                    .and_then(|c| c.conditions.as_ref()),
                &[StageFailureResult::Rollback, StageFailureResult::Fail][..],
            ),
            (
                "onFailure",
                stage
                    .on_failure
                    .as_ref()
                    .and_then(|c| c.conditions.as_ref()),
                &[StageFailureResult::Rollback][..],
            ),
        ];
        for (key, conditions, allowed) in kinds {
            // beforeEntry rules run before the stage's actions; the others after all of them.
            let here = Producer {
                stage: s,
                run_order: if key == "beforeEntry" { 0 } else { u32::MAX },
            };
            for (c, condition) in conditions.into_iter().flatten().enumerate() {
                let cpath = format!("{path}/{key}/conditions/{c}");
                if let Some(result) = &condition.result
                    && !allowed.contains(result)
                {
                    let allowed: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
                    self.push(
                        Severity::Error,
                        "condition-result",
                        format!("{cpath}/result"),
                        format!(
                            "a {key} condition engages {}, not {result}",
                            allowed.join(" or ")
                        ),
                    );
                }
                let rules = condition.rules.as_deref().unwrap_or_default();
                if rules.is_empty() || rules.len() > 5 {
                    self.push(
                        Severity::Error,
                        "condition-rule-count",
                        format!("{cpath}/rules"),
                        format!("a condition holds 1 to 5 rules, not {}", rules.len()),
                    );
                }
                for (r, rule) in rules.iter().enumerate() {
                    let rpath = format!("{cpath}/rules/{r}");
                    self.rule(&rpath, rule);
                    let mut texts = configuration_texts(&rpath, rule.configuration.as_ref());
                    for (i, command) in rule.commands.iter().flatten().enumerate() {
                        texts.push((format!("{rpath}/commands/{i}"), command));
                    }
                    self.references(texts, here, namespaces);
                }
            }
        }
        let Some(on_failure) = &stage.on_failure else {
            return;
        };
        let fpath = format!("{path}/onFailure");
        self.known_enum(
            &format!("{fpath}/result"),
            on_failure
                .result
                .as_ref()
                .map(|r| (r.is_known(), r.as_str(), StageFailureResult::KNOWN)),
        );
        if let Some(mode) = on_failure
            .retry_configuration
            .as_ref()
            .and_then(|r| r.retry_mode.as_ref())
        {
            self.known_enum(
                &format!("{fpath}/retryConfiguration/retryMode"),
                Some((mode.is_known(), mode.as_str(), crate::RetryMode::KNOWN)),
            );
        }
        if on_failure.result == Some(StageFailureResult::Rollback)
            && self.pipeline.execution_mode() == ExecutionMode::Parallel
        {
            self.push(
                Severity::Error,
                "rollback-in-parallel-mode",
                format!("{fpath}/result"),
                "PARALLEL execution mode does not allow rollback".into(),
            );
        }
        if on_failure.result == Some(StageFailureResult::Retry)
            && on_failure
                .conditions
                .as_ref()
                .is_some_and(|c| !c.is_empty())
        {
            self.push(
                Severity::Error,
                "retry-with-conditions",
                format!("{fpath}/conditions"),
                "automatic retry (result RETRY) cannot be combined with onFailure conditions"
                    .into(),
            );
        }
        if on_failure
            .result
            .as_ref()
            .is_some_and(|r| *r != StageFailureResult::Fail)
            && !v2
        {
            self.needs_v2(
                &format!("{fpath}/result"),
                "stage onFailure results other than FAIL",
            );
        }
    }

    fn rule(&mut self, path: &str, rule: &crate::RuleDeclaration) {
        self.name(format!("{path}/name"), "rule", &rule.name);
        if rule.rule_type_id.provider == "VariableCheck" {
            for key in ["Variable", "Value", "Operator"] {
                if rule
                    .configuration
                    .as_ref()
                    .and_then(|c| c.get(key))
                    .is_none()
                {
                    self.push(
                        Severity::Error,
                        "missing-configuration",
                        format!("{path}/configuration"),
                        format!("a VariableCheck rule needs {key} in its configuration"),
                    );
                }
            }
            if let Some(operator) = rule.configuration.as_ref().and_then(|c| c.get("Operator"))
                && !["EQ", "NE", "CONTAINS", "MATCHES"].contains(&operator.as_str())
            {
                self.push(
                    Severity::Error,
                    "unknown-value",
                    format!("{path}/configuration/Operator"),
                    format!("'{operator}' is not one of EQ, NE, CONTAINS, MATCHES"),
                );
            }
        }
        if rule.rule_type_id.provider == "Commands"
            && rule.commands.as_deref().unwrap_or_default().is_empty()
        {
            self.push(
                Severity::Error,
                "commands-count",
                format!("{path}/commands"),
                "a Commands rule runs at least one command".into(),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn action(
        &mut self,
        path: &str,
        s: usize,
        stage: &Stage,
        action: &Action,
        v2: bool,
        artifacts: &HashMap<&str, Producer>,
        namespaces: &HashMap<&str, Producer>,
    ) {
        self.name(format!("{path}/name"), "action", &action.name);
        let type_id = &action.action_type_id;
        self.known_enum(
            &format!("{path}/actionTypeId/category"),
            Some((
                type_id.category.is_known(),
                type_id.category.as_str(),
                ActionCategory::KNOWN,
            )),
        );
        self.known_enum(
            &format!("{path}/actionTypeId/owner"),
            Some((
                type_id.owner.is_known(),
                type_id.owner.as_str(),
                crate::ActionOwner::KNOWN,
            )),
        );
        if let Some(order) = action.run_order
            && !(1..=999).contains(&order)
        {
            self.push(
                Severity::Error,
                "run-order-range",
                format!("{path}/runOrder"),
                format!("runOrder {order} is outside 1 to 999"),
            );
        }
        let is_source = type_id.category == ActionCategory::Source;
        if s == 0 && !is_source {
            self.push_hint(
                Severity::Aws,
                "first-stage-not-source",
                format!("{path}/actionTypeId/category"),
                format!(
                    "AWS accepts only Source actions in the first stage; '{}' is {}",
                    action.name, type_id.category
                ),
                "move this action to a later stage, or run the pipeline locally only",
            );
        }
        if s > 0 && is_source {
            self.push(
                Severity::Aws,
                "source-after-first-stage",
                format!("{path}/actionTypeId/category"),
                format!(
                    "AWS accepts Source actions only in the first stage; '{}' is in '{}'",
                    action.name, stage.name
                ),
            );
        }
        if let Some(namespace) = &action.namespace
            && (!identifier_is_valid(namespace)
                || namespace == PIPELINE_NAMESPACE
                || namespace == CODEPIPELINE_NAMESPACE)
        {
            self.push(
                Severity::Error,
                "invalid-namespace",
                format!("{path}/namespace"),
                format!("'{namespace}' cannot be used as a namespace"),
            );
        }
        let here = Producer {
            stage: s,
            run_order: action.run_order(),
        };
        for (i, input) in action.inputs().iter().enumerate() {
            let ipath = format!("{path}/inputArtifacts/{i}");
            match artifacts.get(input.name.as_str()) {
                None => self.push_hint(
                    Severity::Error,
                    "unknown-input-artifact",
                    ipath,
                    format!("no action outputs an artifact named '{}'", input.name),
                    "name an output artifact of an earlier action",
                ),
                Some(producer) if !producer.is_before(s, action.run_order()) => self.push_hint(
                    Severity::Error,
                    "input-artifact-not-yet-produced",
                    ipath,
                    format!("the artifact '{}' is produced by an action that runs later or at the same time", input.name),
                    "an input must come from an earlier stage or a lower runOrder",
                ),
                Some(_) => {}
            }
        }
        self.action_timeout(path, action);
        self.action_provider(path, action, v2);
        self.action_references(path, action, here, namespaces);
        for (i, variable) in action.environment_variables().iter().enumerate() {
            if variable.variable_type == Some(crate::EnvironmentVariableType::SecretsManager) {
                self.push(
                    Severity::Warning,
                    "secret-not-local",
                    format!("{path}/environmentVariables/{i}"),
                    format!("'{}' comes from Secrets Manager, which the local engine cannot read; it is set to the secret's name", variable.name),
                );
            }
        }
        for (o, output) in action.outputs().iter().enumerate() {
            for (f, pattern) in output
                .files
                .as_deref()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                if pattern.starts_with('/') || pattern.split('/').any(|part| part == "..") {
                    self.push(
                        Severity::Error,
                        "artifact-path-escapes",
                        format!("{path}/outputArtifacts/{o}/files/{f}"),
                        format!("'{pattern}' points outside the action's working directory"),
                    );
                }
            }
        }
    }

    fn action_timeout(&mut self, path: &str, action: &Action) {
        let Some(minutes) = action.timeout_in_minutes else {
            return;
        };
        if action.is_manual_approval() {
            if !APPROVAL_TIMEOUT_MINUTES.contains(&minutes) {
                self.push(
                    Severity::Error,
                    "approval-timeout-range",
                    format!("{path}/timeoutInMinutes"),
                    format!("a manual approval times out after 5 to 86400 minutes, not {minutes}"),
                );
            }
        } else if !(action.action_type_id.category == ActionCategory::Compute
            && action.action_type_id.provider == "Commands")
        {
            self.push(
                Severity::Aws,
                "timeout-not-supported",
                format!("{path}/timeoutInMinutes"),
                "AWS accepts timeoutInMinutes only on manual approval and Commands actions; the local engine honours it".into(),
            );
        }
    }

    fn action_provider(&mut self, path: &str, action: &Action, v2: bool) {
        let type_id = &action.action_type_id;
        let is_commands =
            type_id.category == ActionCategory::Compute && type_id.provider == "Commands";
        if is_commands {
            if !v2 {
                self.needs_v2(&format!("{path}/actionTypeId"), "Commands actions");
            }
            let count = action.commands().len();
            if count == 0 || count > MAX_COMMANDS {
                self.push(
                    Severity::Error,
                    "commands-count",
                    format!("{path}/commands"),
                    format!(
                        "a Commands action runs 1 to {MAX_COMMANDS} commands; this one has {count}"
                    ),
                );
            }
        } else if action.commands.is_some() {
            self.push(
                Severity::Error,
                "commands-not-allowed",
                format!("{path}/commands"),
                "only Commands actions (category Compute, provider Commands) take commands".into(),
            );
        }
        if let Some((inputs, outputs)) = artifact_bounds(action) {
            let (i, o) = (action.inputs().len(), action.outputs().len());
            if !inputs.contains(&i) {
                self.push(
                    Severity::Aws,
                    "input-artifact-count",
                    format!("{path}/inputArtifacts"),
                    format!(
                        "{} actions take {} to {} input artifacts, not {i}",
                        type_id.provider,
                        inputs.start(),
                        inputs.end()
                    ),
                );
            }
            if !outputs.contains(&o) {
                self.push(
                    Severity::Aws,
                    "output-artifact-count",
                    format!("{path}/outputArtifacts"),
                    format!(
                        "{} actions give {} to {} output artifacts, not {o}",
                        type_id.provider,
                        outputs.start(),
                        outputs.end()
                    ),
                );
            }
        }
    }

    /// The `#{...}` references in an action's configuration, commands and environment.
    fn action_references(
        &mut self,
        path: &str,
        action: &Action,
        here: Producer,
        namespaces: &HashMap<&str, Producer>,
    ) {
        let mut texts = configuration_texts(path, action.configuration.as_ref());
        for (i, command) in action.commands().iter().enumerate() {
            texts.push((format!("{path}/commands/{i}"), command));
        }
        for (i, variable) in action.environment_variables().iter().enumerate() {
            texts.push((
                format!("{path}/environmentVariables/{i}/value"),
                &variable.value,
            ));
        }
        self.references(texts, here, namespaces);
    }

    /// Checks every `#{...}` reference in `texts` (JSON path, text) as seen from `here`: pipeline
    /// variables must be declared, and namespaces set by an action that runs earlier.
    fn references(
        &mut self,
        texts: Vec<(String, &str)>,
        here: Producer,
        namespaces: &HashMap<&str, Producer>,
    ) {
        let declared: HashSet<&str> = self
            .pipeline
            .variables()
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        for (tpath, text) in texts {
            for reference in variables::references(text) {
                let problem = match reference.namespace {
                    PIPELINE_NAMESPACE if !declared.contains(reference.name) => Some((
                        "unknown-variable",
                        format!(
                            "{} names a pipeline variable that is not declared",
                            reference.text()
                        ),
                    )),
                    PIPELINE_NAMESPACE => None,
                    CODEPIPELINE_NAMESPACE if !CODEPIPELINE_VARIABLES.contains(&reference.name) => {
                        Some((
                            "unknown-variable",
                            format!(
                                "{} is not a CodePipeline variable; the only one is #{{codepipeline.PipelineExecutionId}}",
                                reference.text()
                            ),
                        ))
                    }
                    CODEPIPELINE_NAMESPACE => None,
                    namespace => match namespaces.get(namespace) {
                        None => Some((
                            "unknown-namespace",
                            format!(
                                "{} names the namespace '{namespace}', which no action declares",
                                reference.text()
                            ),
                        )),
                        Some(producer) if !producer.is_before(here.stage, here.run_order) => {
                            Some((
                                "namespace-not-yet-produced",
                                format!(
                                    "{} is set by an action that runs later or at the same time",
                                    reference.text()
                                ),
                            ))
                        }
                        Some(_) => None,
                    },
                };
                if let Some((code, message)) = problem {
                    self.push(Severity::Error, code, tpath.clone(), message);
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

/// Input and output artifact counts AWS allows for the providers it documents.
fn artifact_bounds(
    action: &Action,
) -> Option<(
    std::ops::RangeInclusive<usize>,
    std::ops::RangeInclusive<usize>,
)> {
    use ActionCategory::*;
    let t = &action.action_type_id;
    Some(match (&t.category, t.provider.as_str()) {
        (Source, "S3" | "CodeCommit" | "CodeStarSourceConnection" | "GitHub" | "ECR") => {
            (0..=0, 1..=1)
        }
        (Build | Test, "CodeBuild") => (1..=5, 0..=5),
        (Approval, "Manual") => (0..=0, 0..=0),
        (Deploy, "S3") => (1..=1, 0..=0),
        (Compute, "Commands") => (1..=10, 0..=1),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Format, PipelineDocument};

    fn codes(json: &str) -> Vec<(Severity, &'static str, String)> {
        let doc = PipelineDocument::parse(json, Format::Json).expect("fixture parses");
        validate(&doc.pipeline)
            .into_iter()
            .map(|d| (d.severity, d.code, d.path))
            .collect()
    }

    fn action(name: &str, category: &str, provider: &str, extra: &str) -> String {
        format!(
            r#"{{"name": "{name}", "actionTypeId": {{"category": "{category}", "owner": "AWS", "provider": "{provider}", "version": "1"}}{extra}}}"#
        )
    }

    fn pipeline(stages: &[(&str, Vec<String>)], extra: &str) -> String {
        let stages: Vec<String> = stages
            .iter()
            .map(|(name, actions)| {
                format!(
                    r#"{{"name": "{name}", "actions": [{}]}}"#,
                    actions.join(",")
                )
            })
            .collect();
        format!(
            r#"{{"name": "p", "roleArn": "arn:aws:iam::1:role/r", "artifactStore": {{"type": "S3", "location": "b"}},
               "pipelineType": "V2", "stages": [{}]{extra}}}"#,
            stages.join(",")
        )
    }

    #[test]
    fn a_correct_pipeline_has_no_diagnostics() {
        let json = pipeline(
            &[
                (
                    "Source",
                    vec![action(
                        "Src",
                        "Source",
                        "S3",
                        r#", "outputArtifacts": [{"name": "src"}], "namespace": "SourceVars""#,
                    )],
                ),
                (
                    "Build",
                    vec![action(
                        "Run",
                        "Compute",
                        "Commands",
                        r#", "inputArtifacts": [{"name": "src"}], "commands": ["echo #{SourceVars.ETag} #{variables.env} #{codepipeline.PipelineExecutionId}"]"#,
                    )],
                ),
            ],
            r#", "variables": [{"name": "env", "defaultValue": "dev"}]"#,
        );
        assert_eq!(codes(&json), []);
    }

    #[test]
    fn variable_references_in_condition_rules_are_checked_where_the_rules_run() {
        let rule = |variable: &str| {
            format!(
                r#"{{"name": "Check", "ruleTypeId": {{"category": "Rule", "owner": "AWS", "provider": "VariableCheck", "version": "1"}},
                   "configuration": {{"Variable": "{variable}", "Value": "1", "Operator": "EQ"}}}}"#
            )
        };
        let conditions = |kind: &str, variable: &str| {
            format!(
                r#""{kind}": {{"conditions": [{{"rules": [{}]}}]}}"#,
                rule(variable)
            )
        };
        let json = |deploy_conditions: &str| {
            let source = action(
                "Src",
                "Source",
                "S3",
                r#", "outputArtifacts": [{"name": "src"}], "namespace": "SourceVars""#,
            );
            let ship = action(
                "Ship",
                "Compute",
                "Commands",
                r#", "inputArtifacts": [{"name": "src"}], "commands": ["true"], "namespace": "ShipVars""#,
            );
            pipeline(&[("Source", vec![source]), ("Deploy", vec![ship])], "").replace(
                r#""name": "Deploy","#,
                &format!(r#""name": "Deploy", {deploy_conditions},"#),
            )
        };
        let path =
            |kind: &str| format!("/stages/1/{kind}/conditions/0/rules/0/configuration/Variable");
        assert_eq!(
            codes(&json(&conditions("beforeEntry", "#{SourceVars.ETag}"))),
            []
        );
        assert_eq!(
            codes(&json(&conditions("onSuccess", "#{ShipVars.Out}"))),
            []
        );
        assert_eq!(
            codes(&json(&conditions("beforeEntry", "#{ShipVars.Out}"))),
            [(
                Severity::Error,
                "namespace-not-yet-produced",
                path("beforeEntry")
            )],
            "before the stage, its own actions have not run"
        );
        assert_eq!(
            codes(&json(&conditions("onFailure", "#{Nobody.X}"))),
            [(Severity::Error, "unknown-namespace", path("onFailure"))]
        );
        assert_eq!(
            codes(&json(&conditions("onSuccess", "#{variables.missing}"))),
            [(Severity::Error, "unknown-variable", path("onSuccess"))]
        );
    }

    #[test]
    fn artifact_names_follow_codepipeline_s_pattern() {
        let source = |name: &str| {
            pipeline(
                &[
                    (
                        "Source",
                        vec![action(
                            "Src",
                            "Source",
                            "S3",
                            &format!(r#", "outputArtifacts": [{{"name": "{name}"}}]"#),
                        )],
                    ),
                    (
                        "Build",
                        vec![action(
                            "Run",
                            "Compute",
                            "Commands",
                            &format!(
                                r#", "commands": ["true"], "inputArtifacts": [{{"name": "{name}"}}]"#
                            ),
                        )],
                    ),
                ],
                "",
            )
        };
        assert_eq!(codes(&source("Source_Out-1")), []);
        for bad in ["../escape", "app.zip", "a@b", ""] {
            assert_eq!(
                codes(&source(bad)),
                [(
                    Severity::Error,
                    "invalid-name",
                    "/stages/0/actions/0/outputArtifacts/0/name".to_owned()
                )],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn reports_every_problem_at_once_with_paths() {
        let json = pipeline(
            &[(
                "Build",
                vec![
                    action(
                        "A",
                        "Build",
                        "CodeBuild",
                        r#", "inputArtifacts": [{"name": "missing"}], "runOrder": 1000"#,
                    ),
                    action(
                        "A",
                        "Compute",
                        "Commands",
                        r#", "commands": ["echo #{variables.nope}"], "inputArtifacts": [{"name": "late"}]"#,
                    ),
                    action(
                        "C",
                        "Build",
                        "CodeBuild",
                        r#", "runOrder": 2, "outputArtifacts": [{"name": "late"}]"#,
                    ),
                ],
            )],
            "",
        );
        let found = codes(&json);
        let has = |code: &str, path: &str| found.iter().any(|(_, c, p)| *c == code && p == path);
        assert!(has("too-few-stages", "/stages"), "{found:?}");
        assert!(
            has(
                "first-stage-not-source",
                "/stages/0/actions/0/actionTypeId/category"
            ),
            "{found:?}"
        );
        assert!(
            has(
                "unknown-input-artifact",
                "/stages/0/actions/0/inputArtifacts/0"
            ),
            "{found:?}"
        );
        assert!(
            has("run-order-range", "/stages/0/actions/0/runOrder"),
            "{found:?}"
        );
        assert!(
            has("duplicate-action-name", "/stages/0/actions/1/name"),
            "{found:?}"
        );
        assert!(
            has("unknown-variable", "/stages/0/actions/1/commands/0"),
            "{found:?}"
        );
        assert!(
            has(
                "input-artifact-not-yet-produced",
                "/stages/0/actions/1/inputArtifacts/0"
            ),
            "{found:?}"
        );
    }

    #[test]
    fn local_only_problems_are_not_errors() {
        let json = pipeline(
            &[(
                "Only",
                vec![action(
                    "Run",
                    "Compute",
                    "Commands",
                    r#", "commands": ["true"]"#,
                )],
            )],
            "",
        );
        let found = codes(&json);
        assert!(
            found
                .iter()
                .all(|(severity, _, _)| *severity != Severity::Error),
            "{found:?}"
        );
        assert!(found.iter().any(|(_, code, _)| *code == "too-few-stages"));
    }

    #[test]
    fn parallel_mode_forbids_rollback_and_retry_forbids_conditions() {
        let json = r#"{"name": "p", "pipelineType": "V2", "executionMode": "PARALLEL", "stages": [
            {"name": "S", "actions": [{"name": "A", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}, "outputArtifacts": [{"name": "o"}]}]},
            {"name": "D", "onFailure": {"result": "ROLLBACK"}, "actions": [{"name": "B", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]},
            {"name": "E", "onFailure": {"result": "RETRY", "conditions": [{"rules": []}]}, "actions": [{"name": "C", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}, "timeoutInMinutes": 1}]}]}"#;
        let found = codes(json);
        let has = |code: &str| found.iter().any(|(_, c, _)| *c == code);
        assert!(has("rollback-in-parallel-mode"), "{found:?}");
        assert!(has("retry-with-conditions"), "{found:?}");
        assert!(has("approval-timeout-range"), "{found:?}");
    }

    #[test]
    fn v2_features_on_a_v1_pipeline_are_aws_problems() {
        let json = pipeline(
            &[
                (
                    "S",
                    vec![action(
                        "A",
                        "Source",
                        "S3",
                        r#", "outputArtifacts": [{"name": "o"}]"#,
                    )],
                ),
                (
                    "B",
                    vec![action(
                        "R",
                        "Compute",
                        "Commands",
                        r#", "inputArtifacts": [{"name": "o"}], "commands": ["true"]"#,
                    )],
                ),
            ],
            r#", "executionMode": "QUEUED""#,
        )
        .replace(r#""pipelineType": "V2","#, "");
        let found = codes(&json);
        let v2: Vec<_> = found
            .iter()
            .filter(|(_, c, _)| *c == "requires-v2")
            .collect();
        assert_eq!(v2.len(), 2, "{found:?}");
        assert!(v2.iter().all(|(s, _, _)| *s == Severity::Aws));
    }

    #[test]
    fn unknown_enum_spellings_are_reported_not_rejected() {
        let json = pipeline(
            &[("S", vec![action("A", "Sauce", "S3", "")])],
            r#", "executionMode": "FAST""#,
        );
        let found = codes(&json);
        assert!(
            found.contains(&(Severity::Error, "unknown-value", "/executionMode".into())),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                Severity::Error,
                "unknown-value",
                "/stages/0/actions/0/actionTypeId/category".into()
            )),
            "{found:?}"
        );
    }
}
