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
use pipewright_model::{ActionCategory, PipelineDeclaration, variables};
use serde::Serialize;

use crate::containers::place_of_action;
use crate::machine::ConditionKind;
use crate::rules::rule_kind;
use crate::runners::{RunnerKind, runner_for};
use crate::settings::{
    ActionSettings, LocalSettings, ProjectVariable, RuleSettings, SimulatedOutcome, StoredReference,
};
use crate::settings_file::Entry;
use crate::stored_values::Store;

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

/// A CodeBuild project as a CodeBuild action of CodePipeline runs it (BatchGetProjects): what
/// the local run needs of it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildProject {
    pub name: String,
    pub buildspec: ProjectBuildspec,
    /// The image as the project names it.
    pub image: Option<String>,
    pub privileged: bool,
    pub environment_variables: IndexMap<String, ProjectVariable>,
}

/// Where a project's buildspec is, once the front end has fetched what it could.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ProjectBuildspec {
    /// The project names none: `buildspec.yml` at the top of the primary source.
    #[default]
    Default,
    /// A path in the primary source.
    InSource(String),
    /// Inline in the project (or an S3 object), written to this file; `from` says which.
    File { path: PathBuf, from: String },
    /// It could not be had, and why.
    Missing(String),
}

/// What a project's `source.buildspec` holds, told apart as CodeBuild tells them: an S3 object's
/// ARN, a buildspec written inline, or a path relative to the primary source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildspecText<'a> {
    Default,
    Inline(&'a str),
    InSource(&'a str),
    S3 { bucket: &'a str, key: &'a str },
}

pub fn classify_buildspec(text: Option<&str>) -> BuildspecText<'_> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return BuildspecText::Default;
    };
    if let Some(object) = text.trim().strip_prefix("arn:aws:s3:::")
        && let Some((bucket, key)) = object.split_once('/')
    {
        return BuildspecText::S3 { bucket, key };
    }
    // A path is one line and has no `key: value` in it; anything else is YAML.
    if text.contains('\n') || text.contains(": ") || text.trim_start().starts_with('{') {
        BuildspecText::Inline(text)
    } else {
        BuildspecText::InSource(text.trim())
    }
}

/// The output variables an action reported in a run elsewhere.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// Which run: `execution ID on AWS`.
    pub run: String,
    pub variables: IndexMap<String, String>,
}

/// The image to run a CodeBuild project's image as here, and a note when it is not the name the
/// project gives. CodeBuild's own images (`aws/codebuild/...`) are published on Amazon ECR
/// Public under `public.ecr.aws/codebuild/...`; an image in a private ECR registry needs a login.
pub fn local_image(image: &str) -> (String, Option<String>) {
    if let Some(own) = image.strip_prefix("aws/codebuild/") {
        let public = format!("public.ecr.aws/codebuild/{own}");
        let note =
            format!("CodeBuild's image {image} runs here as {public}, where AWS publishes it");
        return (public, Some(note));
    }
    let registry = image.split('/').next().unwrap_or_default();
    if registry.contains(".dkr.ecr.") {
        let note = format!(
            "{image} is in a private ECR registry: log in to it first (aws ecr get-login-password | podman login --username AWS --password-stdin {registry})"
        );
        return (image.to_owned(), Some(note));
    }
    (image.to_owned(), None)
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
            match runner_for(action, mapped) {
                None => {
                    let observed = context.observed.get(&key);
                    let mut variables = observed.map(|o| o.variables.clone()).unwrap_or_default();
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
                        let (settings, notes) = with_project(&key, base, project, &stored);
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

/// The value `get-pipeline` shows for a configuration property AWS keeps secret.
pub const MASKED: &str = "****";

/// Configuration values AWS masked in the declaration: never used here, and named.
fn masked_values(key: &str, action: &pipewright_model::Action) -> Vec<String> {
    action
        .configuration
        .iter()
        .flatten()
        .filter(|(_, value)| value.as_str() == MASKED)
        .map(|(property, _)| {
            format!(
                "{key}: {property} is masked ({MASKED}) as AWS shows secret values; the local \
                 run does not use it"
            )
        })
        .collect()
}

/// A CodeBuild action's settings with what its project says, and notes on what the user must
/// know or give (stored values the settings lack, an image run under another name).
fn with_project(
    key: &str,
    base: ActionSettings,
    project: &BuildProject,
    stored: &crate::stored_values::StoredValues,
) -> (ActionSettings, Vec<String>) {
    let mut notes = Vec::new();
    let mut settings = base;
    match &project.buildspec {
        ProjectBuildspec::Default => {
            settings.buildspec = None;
            settings.source_buildspec = None;
        }
        ProjectBuildspec::InSource(path) => {
            settings.buildspec = None;
            settings.source_buildspec = Some(path.clone());
        }
        ProjectBuildspec::File { path, .. } => {
            settings.buildspec = Some(path.clone());
            settings.source_buildspec = None;
        }
        ProjectBuildspec::Missing(why) => notes.push(format!(
            "{key}: the buildspec of project {} could not be had ({why}); the build reads \
             buildspec.yml from its primary input unless the settings name another",
            project.name
        )),
    }
    if let Some(image) = &project.image {
        let (local, note) = local_image(image);
        settings.image = Some(local);
        notes.extend(note.map(|note| format!("{key}: {note}")));
    }
    settings.privileged = project.privileged.then_some(true);
    settings.environment_variables = project.environment_variables.clone();
    for (name, variable) in &project.environment_variables {
        let ProjectVariable::Stored(reference) = variable else {
            continue;
        };
        let (store, reference, section) = match reference {
            StoredReference::ParameterStore(r) => (Store::ParameterStore, r, "parameterStore"),
            StoredReference::SecretsManager(r) => (Store::SecretsManager, r, "secretsManager"),
        };
        if stored.value(store, reference).is_err() {
            notes.push(format!(
                "{key}: {name} reads {} {reference}: give its value under {section}: in the \
                 settings, or the build runs without it",
                store.as_str()
            ));
        }
    }
    (settings, notes)
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
                variables: expected.clone(),
                observed_in: None,
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
                place: "this machine".to_owned(),
                project: None,
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

    #[test]
    fn a_pulled_project_gives_its_build_what_codebuild_would() {
        let project = BuildProject {
            name: "shop-build".to_owned(),
            buildspec: ProjectBuildspec::File {
                path: PathBuf::from("/pulled/shop.Build-Compile.buildspec.yml"),
                from: "inline".to_owned(),
            },
            image: Some("aws/codebuild/standard:7.0".to_owned()),
            privileged: true,
            environment_variables: IndexMap::from([
                (
                    "STAGE".to_owned(),
                    ProjectVariable::Plain("prod".to_owned()),
                ),
                (
                    "DB_PASSWORD".to_owned(),
                    ProjectVariable::Stored(StoredReference::ParameterStore(
                        "/shop/db/password".to_owned(),
                    )),
                ),
            ]),
        };
        let context = PlanContext {
            working_copy: Some(PathBuf::from("/repo")),
            sources: IndexMap::from([("Source/Tools".to_owned(), PathBuf::from("/tools"))]),
            projects: IndexMap::from([("Build/Compile".to_owned(), project)]),
            ..PlanContext::default()
        };
        let plan = propose(&real_shaped(), &LocalSettings::default(), &context);
        let build = plan
            .actions
            .iter()
            .find(|a| a.key == "Build/Compile")
            .expect("the build is planned");
        let saved = build.settings.as_ref().expect("a pulled project is saved");
        assert_eq!(
            saved.buildspec,
            Some(PathBuf::from("/pulled/shop.Build-Compile.buildspec.yml"))
        );
        assert_eq!(
            saved.image.as_deref(),
            Some("public.ecr.aws/codebuild/standard:7.0")
        );
        assert_eq!(saved.privileged, Some(true));
        assert_eq!(saved.environment_variables.len(), 2);
        let described = build.choice.describe();
        assert!(
            described.starts_with(
                "project shop-build: runs its inline buildspec (saved as \
                 /pulled/shop.Build-Compile.buildspec.yml) on image \
                 public.ecr.aws/codebuild/standard:7.0 ("
            ) && described.ends_with(", privileged)"),
            "{described}"
        );
        assert!(
            plan.notes.iter().any(|n| n
                .starts_with("Build/Compile: DB_PASSWORD reads Parameter Store /shop/db/password")),
            "{:?}",
            plan.notes
        );
        assert!(
            plan.notes
                .iter()
                .any(|n| n.contains("runs here as public.ecr.aws/codebuild/standard:7.0")),
            "{:?}",
            plan.notes
        );
        // A build without a project stays as its settings say, and saves nothing.
        let smoke = plan
            .actions
            .iter()
            .find(|a| a.key == "Deploy/Smoke")
            .expect("smoke");
        assert_eq!(smoke.settings, None);
    }

    #[test]
    fn a_simulated_action_reports_what_it_reported_on_aws_and_placeholders_for_the_rest() {
        let context = PlanContext {
            observed: IndexMap::from([(
                "Deploy/Stack".to_owned(),
                Observed {
                    run: "execution e-1 on AWS".to_owned(),
                    variables: IndexMap::from([(
                        "StackId".to_owned(),
                        "arn:aws:cloudformation:us-east-1:123456789012:stack/shop/1".to_owned(),
                    )]),
                },
            )]),
            ..PlanContext::default()
        };
        let plan = propose(&real_shaped(), &LocalSettings::default(), &context);
        let stack = plan
            .actions
            .iter()
            .find(|a| a.key == "Deploy/Stack")
            .expect("the stack is planned");
        let Choice::Simulate {
            variables,
            observed_in,
        } = &stack.choice
        else {
            panic!("simulated: {:?}", stack.choice);
        };
        assert_eq!(observed_in.as_deref(), Some("execution e-1 on AWS"));
        assert_eq!(
            variables.get("StackId").map(String::as_str),
            Some("arn:aws:cloudformation:us-east-1:123456789012:stack/shop/1")
        );
        assert_eq!(
            variables.get("ApiUrl").map(String::as_str),
            Some("placeholder-StackVars.ApiUrl"),
            "what a later action reads and AWS did not report is a placeholder"
        );
    }

    #[test]
    fn masked_values_are_named() {
        let mut pipeline = real_shaped();
        pipeline.stages[0].actions[1].configuration = Some(IndexMap::from([
            ("OAuthToken".to_owned(), MASKED.to_owned()),
            ("Owner".to_owned(), "me".to_owned()),
        ]));
        let plan = propose(
            &pipeline,
            &LocalSettings::default(),
            &PlanContext::default(),
        );
        assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
        assert!(plan.notes[0].starts_with("Source/Tools: OAuthToken is masked (****)"));
    }

    #[test]
    fn buildspecs_are_told_apart_as_codebuild_tells_them() {
        assert_eq!(classify_buildspec(None), BuildspecText::Default);
        assert_eq!(classify_buildspec(Some("")), BuildspecText::Default);
        assert_eq!(
            classify_buildspec(Some("ci/buildspec.yml")),
            BuildspecText::InSource("ci/buildspec.yml")
        );
        assert_eq!(
            classify_buildspec(Some(
                "version: 0.2\nphases:\n  build:\n    commands: [make]\n"
            )),
            BuildspecText::Inline("version: 0.2\nphases:\n  build:\n    commands: [make]\n")
        );
        assert_eq!(
            classify_buildspec(Some("{version: 0.2, phases: {build: {commands: [make]}}}")),
            BuildspecText::Inline("{version: 0.2, phases: {build: {commands: [make]}}}")
        );
        assert_eq!(
            classify_buildspec(Some("arn:aws:s3:::specs/app/buildspec.yml")),
            BuildspecText::S3 {
                bucket: "specs",
                key: "app/buildspec.yml"
            }
        );
    }

    #[test]
    fn codebuild_s_own_images_run_as_their_public_copies() {
        assert_eq!(
            local_image("aws/codebuild/amazonlinux2-x86_64-standard:5.0").0,
            "public.ecr.aws/codebuild/amazonlinux2-x86_64-standard:5.0"
        );
        let (same, note) = local_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/build:1");
        assert_eq!(same, "123456789012.dkr.ecr.us-east-1.amazonaws.com/build:1");
        assert!(note.is_some_and(|n| n.contains("podman login")));
        assert_eq!(local_image("node:20"), ("node:20".to_owned(), None));
    }
}
