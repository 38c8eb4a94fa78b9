//! The local plan: how a pipeline whose actions the local settings do not map runs here the first
//! time, worked out instead of refused. The first source reads the git working copy the user is
//! in (a path given with `--source` wins, and a second source needs one); every action with no
//! local runner is simulated, with placeholder values for the output variables later actions
//! reference so their `#{Namespace.Variable}` resolves; an S3 deploy writes into a folder beside
//! the pipeline; a stage-condition rule with no local evaluator passes, labelled simulated; and a
//! CodeBuild action runs its primary input's buildspec where the settings say (shown, nothing
//! to save). Accepted, the plan goes into the local settings, so it is worked out once.
//!
//! A pipeline pulled from AWS brings more to go on: each CodeBuild action's project (its
//! buildspec, image, privileged mode and environment variables, saved for the action) and the
//! output variables each action reported in its latest run there (a simulated action reports
//! those instead of placeholders).
//!
//! Pure apart from [`git_top_level`]: the front end finds the working copy and asks the user.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::{IndexMap, IndexSet};
use pipewright_model::catalog::MASKED_VALUE;
use pipewright_model::{ActionCategory, PipelineDeclaration, variables};
use serde::Serialize;

use crate::containers::place_of_action;
use crate::machine::ConditionKind;
use crate::rules::rule_kind;
use crate::runners::{RunnerKind, runner_for};
use crate::settings::{ActionSettings, LocalSettings, RuleSettings, SimulatedOutcome};
use crate::settings_file::Entry;

mod project;

use project::with_project;
pub use project::{
    BuildProject, BuildspecText, Observed, ProjectBuildspec, classify_buildspec, local_image,
};

/// What the plan is worked out from, besides the pipeline and its settings.
#[derive(Clone, Debug, Default)]
pub struct PlanContext {
    /// The top level of the git repository the user is in: the first unmapped source reads it.
    pub working_copy: Option<PathBuf>,
    /// Paths the user gave for sources (`--source Stage/Action=PATH`), keyed `Stage/Action`.
    pub sources: IndexMap<String, PathBuf>,
    /// Where an S3 deploy with no path writes: `DIR/Stage-Action`.
    pub deploy_dir: PathBuf,
    /// The CodeBuild projects of CodeBuild actions, keyed `Stage/Action` (a pulled pipeline).
    pub projects: IndexMap<String, BuildProject>,
    /// What actions reported in their latest run on AWS, keyed `Stage/Action`.
    pub observed: IndexMap<String, Observed>,
}

/// One action's part of the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedAction {
    /// `Stage/Action`.
    pub key: String,
    /// `Category/Provider`, as the action's type says.
    pub provider: String,
    pub choice: Choice,
    /// What the plan saves for the action; None for a line that only shows what will happen.
    pub settings: Option<ActionSettings>,
}

/// What the plan does with an action.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Choice {
    /// A source reads the working tree of this repository, uncommitted changes included.
    WorkingCopy { repo: PathBuf },
    /// A source reads the path the user gave (a git repository's working tree, or a folder).
    Path { path: PathBuf, git: bool },
    /// No local runner: the action succeeds without running, labelled simulated, and reports
    /// these output variables: placeholders, or what it reported in `observed_in` on AWS.
    Simulate {
        variables: IndexMap<String, String>,
        observed_in: Option<String>,
    },
    /// An S3 deploy writes its files into this folder.
    DeployTo { dir: PathBuf },
    /// A CodeBuild action runs this buildspec from its primary input, in this place, as its
    /// CodeBuild project (when known) says.
    Build {
        buildspec: String,
        place: String,
        project: Option<String>,
    },
}

/// A stage-condition rule with no local evaluator: it passes, labelled simulated.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRule {
    /// `Stage/Rule`.
    pub key: String,
    pub provider: String,
    pub settings: RuleSettings,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalPlan {
    pub actions: Vec<PlannedAction>,
    pub rules: Vec<PlannedRule>,
    /// Sources the plan cannot place (a second one, or any outside a git repository): each needs
    /// `--source Stage/Action=PATH`.
    pub missing_sources: Vec<String>,
    /// What the user should know before the run: values AWS masked, values the settings must
    /// give, images that are not what the project names. Each starts with `Stage/Action: `.
    pub notes: Vec<String>,
}

/// What a simulated action reports for a variable no run produced, named as a placeholder.
pub fn placeholder(namespace: &str, name: &str) -> String {
    format!("placeholder-{namespace}.{name}")
}

pub fn propose(
    pipeline: &PipelineDeclaration,
    settings: &LocalSettings,
    context: &PlanContext,
) -> LocalPlan {
    let referenced = referenced_variables(pipeline);
    let stored = settings.stored_values();
    let mut plan = LocalPlan::default();
    let mut working_copy = context.working_copy.clone();
    for stage in &pipeline.stages {
        for action in &stage.actions {
            let key = format!("{}/{}", stage.name, action.name);
            plan.notes.extend(masked_values(&key, action));
            let mapped = settings.action(&stage.name, &action.name);
            let provider = format!(
                "{}/{}",
                action.action_type_id.category, action.action_type_id.provider
            );
            let base = mapped.cloned().unwrap_or_default();
            let planned = |choice: Choice, settings: Option<ActionSettings>| PlannedAction {
                key: key.clone(),
                provider: provider.clone(),
                choice,
                settings,
            };
            if action.action_type_id.category == ActionCategory::Source
                && let Some(path) = context.sources.get(&key)
            {
                let git = git_top_level(path).is_some();
                let settings = ActionSettings {
                    path: Some(path.clone()),
                    working_copy: git,
                    ..base
                };
                plan.actions.push(planned(
                    Choice::Path {
                        path: path.clone(),
                        git,
                    },
                    Some(settings),
                ));
                continue;
            }
            let has_path = mapped.is_some_and(|m| m.path.is_some());
            let observed = context.observed.get(&key);
            // A simulated action of a pipeline pulled again reports what AWS reported last.
            let refreshed = observed.is_some() && mapped.is_some_and(|m| m.simulate);
            let runner = if refreshed {
                None
            } else {
                runner_for(action, mapped)
            };
            match runner {
                None => {
                    let mut variables = base.output_variables.clone();
                    variables.extend(observed.map(|o| o.variables.clone()).unwrap_or_default());
                    // A variable a later action reads that the run on AWS did not report (or
                    // with no such run) gets a placeholder, so the reference still resolves.
                    if let Some(namespace) = action.namespace.as_deref()
                        && let Some(names) = referenced.get(namespace)
                    {
                        for name in names {
                            if !variables.contains_key(name) {
                                variables.insert(name.clone(), placeholder(namespace, name));
                            }
                        }
                    }
                    let settings = ActionSettings {
                        simulate: true,
                        output_variables: variables.clone(),
                        ..base
                    };
                    let choice = Choice::Simulate {
                        variables,
                        observed_in: observed.map(|o| o.run.clone()),
                    };
                    plan.actions.push(planned(choice, Some(settings)));
                }
                Some(RunnerKind::GitSource | RunnerKind::LocalSource) if !has_path => {
                    match working_copy.take() {
                        Some(repo) => {
                            let settings = ActionSettings {
                                path: Some(repo.clone()),
                                working_copy: true,
                                ..base
                            };
                            plan.actions
                                .push(planned(Choice::WorkingCopy { repo }, Some(settings)));
                        }
                        None => plan.missing_sources.push(key.clone()),
                    }
                }
                Some(RunnerKind::S3Deploy) if !has_path => {
                    let dir = context
                        .deploy_dir
                        .join(format!("{}-{}", stage.name, action.name));
                    let settings = ActionSettings {
                        path: Some(dir.clone()),
                        ..base
                    };
                    plan.actions
                        .push(planned(Choice::DeployTo { dir }, Some(settings)));
                }
                Some(RunnerKind::CodeBuild) => {
                    let project = context.projects.get(&key);
                    let saved = project.map(|project| {
                        let (settings, notes) = with_project(
                            &key,
                            base,
                            project,
                            &stored,
                            settings.stored_values_from_aws,
                        );
                        plan.notes.extend(notes);
                        settings
                    });
                    let effective = saved.as_ref().or(mapped);
                    let input = action.inputs().first().map(|input| input.name.clone());
                    let buildspec = describe_buildspec(effective, project, input.as_deref());
                    let place =
                        match place_of_action(action, effective, &settings.environment, false) {
                            Ok(Some(place)) => place.describe(),
                            Ok(None) => "this machine".to_owned(),
                            Err(message) => message,
                        };
                    let choice = Choice::Build {
                        buildspec,
                        place,
                        project: project.map(|p| p.name.clone()),
                    };
                    plan.actions.push(planned(choice, saved));
                }
                Some(_) => {}
            }
        }
        for kind in [
            ConditionKind::BeforeEntry,
            ConditionKind::OnSuccess,
            ConditionKind::OnFailure,
        ] {
            for condition in kind.conditions(stage) {
                for rule in condition.rules.iter().flatten() {
                    if rule_kind(rule, settings.rule(&stage.name, &rule.name)).is_none() {
                        plan.rules.push(PlannedRule {
                            key: format!("{}/{}", stage.name, rule.name),
                            provider: rule.rule_type_id.provider.clone(),
                            settings: RuleSettings {
                                outcome: Some(SimulatedOutcome::Succeeded),
                                commands: None,
                            },
                        });
                    }
                }
            }
        }
    }
    plan
}

/// Configuration values AWS masked in the declaration: never used here, and named.
fn masked_values(key: &str, action: &pipewright_model::Action) -> Vec<String> {
    action
        .configuration
        .iter()
        .flatten()
        .filter(|(_, value)| value.as_str() == MASKED_VALUE)
        .map(|(property, _)| {
            format!(
                "{key}: {property} is masked ({MASKED_VALUE}) as AWS shows secret values; the local \
                 run does not use it"
            )
        })
        .collect()
}

/// Which buildspec a CodeBuild action runs, as the user reads it.
fn describe_buildspec(
    settings: Option<&ActionSettings>,
    project: Option<&BuildProject>,
    input: Option<&str>,
) -> String {
    let from = match input {
        Some(input) => format!("from {input}"),
        None => "(the action has no input artifact)".to_owned(),
    };
    if let Some(path) = settings.and_then(|s| s.buildspec.as_ref()) {
        return match project.map(|p| &p.buildspec) {
            Some(ProjectBuildspec::File { from, .. }) => {
                format!("its {from} buildspec (saved as {})", path.display())
            }
            _ => path.display().to_string(),
        };
    }
    match settings.and_then(|s| s.source_buildspec.as_deref()) {
        Some(path) => format!("{path} {from}"),
        None => format!("buildspec.yml {from}"),
    }
}

impl LocalPlan {
    /// Whether the plan changes anything: without it the pipeline runs as its settings say.
    pub fn changes_settings(&self) -> bool {
        !self.rules.is_empty() || self.actions.iter().any(|a| a.settings.is_some())
    }

    /// The settings file entries that save the plan, with paths relative to `dir` (the settings
    /// file's folder).
    pub fn entries(&self, dir: &Path) -> Vec<Entry> {
        let actions = self.actions.iter().filter_map(|a| {
            a.settings
                .as_ref()
                .map(|s| Entry::new("actions", &a.key, s, dir))
        });
        let rules = self
            .rules
            .iter()
            .map(|r| Entry::new("rules", &r.key, &r.settings, dir));
        actions.chain(rules).collect()
    }

    /// The settings with the plan in them.
    pub fn apply(&self, settings: &LocalSettings) -> LocalSettings {
        let mut out = settings.clone();
        for action in &self.actions {
            if let Some(planned) = &action.settings {
                out.actions.insert(action.key.clone(), planned.clone());
            }
        }
        for rule in &self.rules {
            out.rules.insert(rule.key.clone(), rule.settings.clone());
        }
        out
    }
}

impl Choice {
    /// One line for the plan as the user reads it.
    pub fn describe(&self) -> String {
        match self {
            Choice::WorkingCopy { repo } => format!(
                "the working copy of {} (uncommitted changes included)",
                repo.display()
            ),
            Choice::Path { path, git: true } => {
                format!("the working copy of {}", path.display())
            }
            Choice::Path { path, git: false } => format!("the folder {}", path.display()),
            Choice::Simulate { variables, .. } if variables.is_empty() => {
                "simulated: no local runner, it succeeds without running".to_owned()
            }
            Choice::Simulate {
                variables,
                observed_in,
            } => format!(
                "simulated: no local runner, it succeeds without running and reports {}{}",
                variables
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                observed_in
                    .as_ref()
                    .map(|run| format!(" (as in {run})"))
                    .unwrap_or_default()
            ),
            Choice::DeployTo { dir } => format!("writes its files into {}", dir.display()),
            Choice::Build {
                buildspec,
                place,
                project: None,
            } => format!("runs {buildspec} on {place}"),
            Choice::Build {
                buildspec,
                place,
                project: Some(project),
            } => format!("project {project}: runs {buildspec} on {place}"),
        }
    }
}

/// `#{Namespace.Name}` references anywhere in the declaration (configurations, commands,
/// environment variables, condition rules), by namespace. Reading the declaration's JSON text
/// finds them wherever they are written, nested JSON in strings included.
fn referenced_variables(pipeline: &PipelineDeclaration) -> HashMap<String, IndexSet<String>> {
    let text = serde_json::to_string(pipeline).unwrap_or_default();
    let mut out: HashMap<String, IndexSet<String>> = HashMap::new();
    for reference in variables::references(&text) {
        out.entry(reference.namespace.to_owned())
            .or_default()
            .insert(reference.name.to_owned());
    }
    out
}

/// The top level of the git repository `dir` is in, if any.
pub fn git_top_level(dir: &Path) -> Option<PathBuf> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim_end()))
}

#[cfg(test)]
mod tests;
