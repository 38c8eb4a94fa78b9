//! The local plan: how a pipeline whose actions the local settings do not map runs here the first
//! time, worked out instead of refused. The first source reads the git working copy the user is
//! in (a path given with `--source` wins, and a second source needs one); every action with no
//! local runner is simulated, with placeholder values for the output variables later actions
//! reference so their `#{Namespace.Variable}` resolves; an S3 deploy writes into a folder beside
//! the pipeline; a stage-condition rule with no local evaluator passes, labelled simulated; and a
//! CodeBuild action runs its primary input's buildspec where the settings say (shown, nothing
//! to save). Accepted, the plan goes into the local settings, so it is worked out once.
//!
//! Pure apart from [`git_top_level`]: the front end finds the working copy and asks the user.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::{IndexMap, IndexSet};
use pipewright_model::{ActionCategory, PipelineDeclaration, variables};
use serde::Serialize;

use crate::containers::place_of_action;
use crate::machine::ConditionKind;
use crate::rules::rule_kind;
use crate::runners::{RunnerKind, runner_for};
use crate::settings::{ActionSettings, LocalSettings, RuleSettings, SimulatedOutcome};

/// What the plan is worked out from, besides the pipeline and its settings.
#[derive(Clone, Debug, Default)]
pub struct PlanContext {
    /// The top level of the git repository the user is in: the first unmapped source reads it.
    pub working_copy: Option<PathBuf>,
    /// Paths the user gave for sources (`--source Stage/Action=PATH`), keyed `Stage/Action`.
    pub sources: IndexMap<String, PathBuf>,
    /// Where an S3 deploy with no path writes: `DIR/Stage-Action`.
    pub deploy_dir: PathBuf,
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
    /// these placeholder output variables.
    Simulate { variables: IndexMap<String, String> },
    /// An S3 deploy writes its files into this folder.
    DeployTo { dir: PathBuf },
    /// A CodeBuild action runs this buildspec from its primary input, in this place.
    Build { buildspec: String, place: String },
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
    let mut plan = LocalPlan::default();
    let mut working_copy = context.working_copy.clone();
    for stage in &pipeline.stages {
        for action in &stage.actions {
            let key = format!("{}/{}", stage.name, action.name);
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
            match runner_for(action, mapped) {
                None => {
                    let variables: IndexMap<String, String> = action
                        .namespace
                        .as_deref()
                        .and_then(|namespace| {
                            referenced.get(namespace).map(|names| {
                                names
                                    .iter()
                                    .map(|name| (name.clone(), placeholder(namespace, name)))
                                    .collect()
                            })
                        })
                        .unwrap_or_default();
                    let settings = ActionSettings {
                        simulate: true,
                        output_variables: variables.clone(),
                        ..base
                    };
                    plan.actions
                        .push(planned(Choice::Simulate { variables }, Some(settings)));
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
                    let buildspec = match mapped.and_then(|m| m.buildspec.as_ref()) {
                        Some(path) => path.display().to_string(),
                        None => match action.inputs().first() {
                            Some(input) => format!("buildspec.yml from {}", input.name),
                            None => "buildspec.yml (the action has no input artifact)".to_owned(),
                        },
                    };
                    let place = match place_of_action(action, mapped, &settings.environment, false)
                    {
                        Ok(Some(place)) => place.describe(),
                        Ok(None) => "this machine".to_owned(),
                        Err(message) => message,
                    };
                    plan.actions
                        .push(planned(Choice::Build { buildspec, place }, None));
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

impl LocalPlan {
    /// Whether the plan changes anything: without it the pipeline runs as its settings say.
    pub fn changes_settings(&self) -> bool {
        !self.rules.is_empty() || self.actions.iter().any(|a| a.settings.is_some())
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
            Choice::Simulate { variables } if variables.is_empty() => {
                "simulated: no local runner, it succeeds without running".to_owned()
            }
            Choice::Simulate { variables } => format!(
                "simulated: no local runner, it succeeds without running and reports {}",
                variables
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Choice::DeployTo { dir } => format!("writes its files into {}", dir.display()),
            Choice::Build { buildspec, place } => format!("runs {buildspec} on {place}"),
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
mod tests {
    use super::*;

    fn pipeline(json: serde_json::Value) -> PipelineDeclaration {
        serde_json::from_value(json).expect("a pipeline")
    }

    fn action(name: &str, category: &str, provider: &str) -> serde_json::Value {
        serde_json::json!({
            "name": name,
            "actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"},
            "runOrder": 1
        })
    }

    fn real_shaped() -> PipelineDeclaration {
        let mut source = action("App", "Source", "CodeStarSourceConnection");
        source["outputArtifacts"] = serde_json::json!([{"name": "SourceOutput"}]);
        let mut tools = action("Tools", "Source", "CodeCommit");
        tools["outputArtifacts"] = serde_json::json!([{"name": "ToolsOutput"}]);
        let mut build = action("Compile", "Build", "CodeBuild");
        build["inputArtifacts"] = serde_json::json!([{"name": "SourceOutput"}]);
        let mut stack = action("Stack", "Deploy", "CloudFormation");
        stack["namespace"] = serde_json::json!("StackVars");
        let mut smoke = action("Smoke", "Build", "CodeBuild");
        smoke["inputArtifacts"] = serde_json::json!([{"name": "SourceOutput"}]);
        smoke["runOrder"] = serde_json::json!(2);
        smoke["configuration"] = serde_json::json!({
            "ProjectName": "smoke",
            "EnvironmentVariables": "[{\"name\":\"URL\",\"value\":\"#{StackVars.ApiUrl}\",\"type\":\"PLAINTEXT\"}]"
        });
        pipeline(serde_json::json!({
            "name": "shop",
            "roleArn": "arn:aws:iam::123456789012:role/x",
            "artifactStore": {"type": "S3", "location": "b"},
            "stages": [
                {"name": "Source", "actions": [source, tools]},
                {"name": "Build", "actions": [build]},
                {"name": "Deploy", "actions": [stack, smoke]}
            ]
        }))
    }

    #[test]
    fn the_first_source_reads_the_working_copy_and_a_second_one_needs_a_path() {
        let context = PlanContext {
            working_copy: Some(PathBuf::from("/repo")),
            ..PlanContext::default()
        };
        let plan = propose(&real_shaped(), &LocalSettings::default(), &context);
        assert_eq!(
            plan.actions[0].choice,
            Choice::WorkingCopy {
                repo: PathBuf::from("/repo")
            }
        );
        assert_eq!(plan.missing_sources, vec!["Source/Tools".to_owned()]);
        let none = propose(
            &real_shaped(),
            &LocalSettings::default(),
            &PlanContext::default(),
        );
        assert_eq!(
            none.missing_sources,
            vec!["Source/App".to_owned(), "Source/Tools".to_owned()]
        );
    }

    #[test]
    fn a_simulated_action_reports_the_variables_later_actions_reference() {
        let plan = propose(
            &real_shaped(),
            &LocalSettings::default(),
            &PlanContext::default(),
        );
        let stack = plan
            .actions
            .iter()
            .find(|a| a.key == "Deploy/Stack")
            .expect("the stack is planned");
        let mut expected = IndexMap::new();
        expected.insert(
            "ApiUrl".to_owned(),
            "placeholder-StackVars.ApiUrl".to_owned(),
        );
        assert_eq!(
            stack.choice,
            Choice::Simulate {
                variables: expected.clone()
            }
        );
        let settings = plan.apply(&LocalSettings::default());
        let saved = settings.action("Deploy", "Stack").expect("saved");
        assert!(saved.simulate);
        assert_eq!(saved.output_variables, expected);
    }

    #[test]
    fn mapped_actions_are_left_as_they_are_and_builds_are_shown_not_saved() {
        let settings = LocalSettings::parse(
            "actions:\n  Source/App: {path: /src}\n  Source/Tools: {path: /tools}\n  Deploy/Stack: {commands: [./deploy.sh]}\n",
            "x.yaml",
            Path::new("/"),
        )
        .expect("settings");
        let plan = propose(&real_shaped(), &settings, &PlanContext::default());
        assert!(plan.missing_sources.is_empty());
        assert!(!plan.changes_settings(), "{plan:?}");
        assert_eq!(
            plan.actions[0].choice,
            Choice::Build {
                buildspec: "buildspec.yml from SourceOutput".to_owned(),
                place: "this machine".to_owned()
            }
        );
    }

    #[test]
    fn a_given_source_path_wins_over_the_working_copy() {
        let context = PlanContext {
            working_copy: Some(PathBuf::from("/repo")),
            sources: IndexMap::from([("Source/App".to_owned(), PathBuf::from("/elsewhere"))]),
            ..PlanContext::default()
        };
        let plan = propose(&real_shaped(), &LocalSettings::default(), &context);
        assert_eq!(
            plan.actions[0].choice,
            Choice::Path {
                path: PathBuf::from("/elsewhere"),
                git: false
            }
        );
        // The working copy goes to the next source that has none.
        assert_eq!(
            plan.actions[1].choice,
            Choice::WorkingCopy {
                repo: PathBuf::from("/repo")
            }
        );
    }
}
