//! The local settings of a stored pipeline as a form, for the front end that cannot edit a file
//! beside the pipeline (the app; a pipeline made in the app or through `serve` has no file): every
//! action with how it runs here and the choices its kind allows, and the local plan's proposals
//! for those the settings do not map yet. Saved, they are kept with the pipeline's latest version
//! in the data directory; they are this machine's, not the declaration's, so saving makes no new
//! version. A pipeline run from a file (`pipewright run FILE`) takes that file's settings instead,
//! as a new version when they differ.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use pipewright_engine::local_plan::{self, Choice, PlanContext};
use pipewright_engine::runners::{RunnerKind, runner_for};
use pipewright_engine::settings::{ActionSettings, LocalSettings};
use pipewright_model::PipelineDeclaration;
use pipewright_store as db;
use serde::{Deserialize, Serialize};
use serde_json::json;
use ts_rs::TS;

use crate::{Error, Pipewright, Result};

/// A pipeline's local settings, as the form shows them.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LocalSettingsForm {
    pub pipeline: String,
    pub version: i64,
    pub actions: Vec<LocalAction>,
    /// Some action cannot run as the settings are: a run needs the form first.
    pub needs_plan: bool,
    /// What to know: masked values, rules that pass simulated, values the builds need.
    pub notes: Vec<String>,
}

/// One action: how it runs here, and which choices the form offers for it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LocalAction {
    /// `Stage/Action`.
    pub key: String,
    /// `Category/Provider`.
    pub provider: String,
    pub kind: ActionKind,
    pub how: How,
    /// Not saved yet: the local plan proposes it.
    pub proposed: bool,
    /// What happens, as the user reads it.
    pub description: String,
}

/// What an action is, for the choices it has here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ActionKind {
    /// A source: a folder (a git working copy or not), or simulated.
    Source,
    /// An S3 deploy: a folder it writes into, or simulated.
    Deploy,
    /// A CodeBuild or Commands action: this machine or an image.
    Build,
    /// No local runner: simulated (with output variables) or commands.
    NoRunner,
    /// Runs here as it is (a manual approval, a real bucket): nothing to choose.
    Runs,
}

/// How an action runs here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum How {
    /// A folder on this machine; for a source in a git repository, its working copy
    /// (uncommitted changes included) or its committed head.
    Folder {
        path: String,
        #[serde(rename = "workingCopy")]
        working_copy: bool,
    },
    /// Succeeds without running, labelled simulated, reporting these output variables.
    Simulate {
        #[serde(rename = "outputVariables")]
        output_variables: IndexMap<String, String>,
    },
    /// These shell commands instead.
    Commands { commands: Vec<String> },
    /// A build: on this machine (`image` empty) or in an image.
    Build { image: String, privileged: bool },
    /// As it is.
    Native,
    /// A source with no folder yet: one must be chosen.
    NeedsFolder,
}

impl Pipewright {
    /// The local settings form of a stored pipeline: its latest version's settings, with the
    /// local plan's proposals for what they do not map.
    pub async fn local_settings_form(&self, name: &str) -> Result<LocalSettingsForm> {
        let (declaration, settings, version) = self.pipeline_version(name, None).await?;
        let context = PlanContext {
            deploy_dir: self.data_dir().join("deploys").join(name),
            ..PlanContext::default()
        };
        let plan = local_plan::propose(&declaration, &settings, &context);
        let needs_plan =
            !pipewright_engine::plan::local_diagnostics(&declaration, &settings).is_empty();
        let mut actions = Vec::new();
        for stage in &declaration.stages {
            for action in &stage.actions {
                let key = format!("{}/{}", stage.name, action.name);
                let kind = kind_of(action);
                let planned = plan.actions.iter().find(|p| p.key == key);
                let mapped = settings.action(&stage.name, &action.name);
                let (how, proposed) = match (mapped, planned) {
                    _ if plan.missing_sources.contains(&key) => (How::NeedsFolder, true),
                    (_, Some(planned)) if planned.settings.is_some() => {
                        (how_of(kind, planned.settings.as_ref()), true)
                    }
                    (mapped, _) => (how_of(kind, mapped), false),
                };
                let description = match planned {
                    Some(planned) => planned.choice.describe(),
                    None => describe(&how),
                };
                actions.push(LocalAction {
                    key,
                    provider: format!(
                        "{}/{}",
                        action.action_type_id.category, action.action_type_id.provider
                    ),
                    kind,
                    how,
                    proposed,
                    description,
                });
            }
        }
        let mut notes = plan.notes.clone();
        notes.extend(plan.rules.iter().map(|rule| {
            format!(
                "{}: a {} rule has no local evaluator; it passes, labelled simulated",
                rule.key, rule.provider
            )
        }));
        Ok(LocalSettingsForm {
            pipeline: name.to_owned(),
            version,
            actions,
            needs_plan,
            notes,
        })
    }

    /// Saves the form's choices into the local settings of the pipeline's latest version (what
    /// the form does not cover stays as it is), with the plan's simulated rules.
    pub async fn save_local_settings(&self, name: &str, actions: &[LocalAction]) -> Result<()> {
        let result = async {
            let (declaration, settings, version) = self.pipeline_version(name, None).await?;
            let mut settings = with_choices(&declaration, settings, actions)?;
            let plan = local_plan::propose(
                &declaration,
                &settings,
                &PlanContext {
                    deploy_dir: self.data_dir().join("deploys").join(name),
                    ..PlanContext::default()
                },
            );
            for rule in &plan.rules {
                settings
                    .rules
                    .insert(rule.key.clone(), rule.settings.clone());
            }
            let text = serde_json::to_string(&settings)
                .map_err(|e| Error::new("InternalError", e.to_string()))?;
            let mut tx = self.store().write().await?;
            if !db::set_version_settings(&mut tx, name, version, Some(&text)).await? {
                return Err(crate::not_found(name));
            }
            tx.commit()
                .await
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
            Ok(())
        }
        .await;
        let keys: Vec<&str> = actions.iter().map(|a| a.key.as_str()).collect();
        self.audited(
            "SaveLocalSettings",
            Some(name),
            json!({"name": name, "actions": keys}),
            result,
        )
        .await
    }
}

fn kind_of(action: &pipewright_model::Action) -> ActionKind {
    match runner_for(action, None) {
        None => ActionKind::NoRunner,
        Some(RunnerKind::GitSource | RunnerKind::LocalSource) => ActionKind::Source,
        Some(RunnerKind::S3Deploy) => ActionKind::Deploy,
        Some(RunnerKind::CodeBuild | RunnerKind::Commands) => ActionKind::Build,
        Some(_) => ActionKind::Runs,
    }
}

/// How settings say an action of this kind runs.
fn how_of(kind: ActionKind, settings: Option<&ActionSettings>) -> How {
    let settings = settings.cloned().unwrap_or_default();
    if settings.simulate {
        return How::Simulate {
            output_variables: settings.output_variables,
        };
    }
    if let Some(commands) = settings.commands {
        return How::Commands { commands };
    }
    if settings.s3 {
        return How::Native;
    }
    match (kind, settings.path) {
        (ActionKind::Source | ActionKind::Deploy, Some(path)) => How::Folder {
            path: path.display().to_string(),
            working_copy: settings.working_copy,
        },
        (ActionKind::Source, None) => How::NeedsFolder,
        (ActionKind::Build, _) => How::Build {
            image: settings.image.unwrap_or_default(),
            privileged: settings.privileged.unwrap_or(false),
        },
        _ => How::Native,
    }
}

fn describe(how: &How) -> String {
    match how {
        How::Folder {
            path,
            working_copy: true,
        } => format!("the working copy of {path}"),
        How::Folder { path, .. } => format!("the folder {path}"),
        How::Simulate { output_variables } => Choice::Simulate {
            variables: output_variables.clone(),
            observed_in: None,
        }
        .describe(),
        How::Commands { commands } => format!("runs {}", commands.join(" && ")),
        How::Build { image, .. } if image.is_empty() || image == "host" => {
            "runs on this machine".to_owned()
        }
        How::Build {
            image,
            privileged: true,
        } => format!("runs in image {image}, privileged"),
        How::Build { image, .. } => format!("runs in image {image}"),
        How::Native => "runs as it is".to_owned(),
        How::NeedsFolder => "needs a folder".to_owned(),
    }
}

/// The settings with the form's choices in them, each checked against the pipeline.
fn with_choices(
    declaration: &PipelineDeclaration,
    mut settings: LocalSettings,
    actions: &[LocalAction],
) -> Result<LocalSettings> {
    let invalid = |message: String| Error::new("ValidationException", message);
    for choice in actions {
        let Some((stage, name)) = choice.key.split_once('/') else {
            return Err(invalid(format!("{}: name it as Stage/Action", choice.key)));
        };
        if declaration
            .stage(stage)
            .and_then(|s| s.action(name))
            .is_none()
        {
            return Err(invalid(format!(
                "{} has no action {}",
                declaration.name, choice.key
            )));
        }
        let entry = settings.actions.entry(choice.key.clone()).or_default();
        match &choice.how {
            How::Folder { path, working_copy } => {
                let path = PathBuf::from(path.trim());
                if !path.is_absolute() {
                    return Err(invalid(format!(
                        "{}: {} is not a full path (from / on this machine)",
                        choice.key,
                        path.display()
                    )));
                }
                if choice.kind == ActionKind::Source && !Path::new(&path).exists() {
                    return Err(invalid(format!(
                        "{}: {} does not exist",
                        choice.key,
                        path.display()
                    )));
                }
                entry.path = Some(path);
                entry.working_copy = *working_copy;
                entry.simulate = false;
                entry.commands = None;
                entry.s3 = false;
            }
            How::Simulate { output_variables } => {
                entry.simulate = true;
                entry.output_variables = output_variables.clone();
                entry.commands = None;
            }
            How::Commands { commands } => {
                let commands: Vec<String> = commands
                    .iter()
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect();
                if commands.is_empty() {
                    return Err(invalid(format!(
                        "{}: give at least one command",
                        choice.key
                    )));
                }
                entry.commands = Some(commands);
                entry.simulate = false;
            }
            How::Build { image, privileged } => {
                let image = image.trim();
                entry.image = (!image.is_empty()).then(|| image.to_owned());
                entry.privileged = privileged.then_some(true);
            }
            How::Native => {}
            How::NeedsFolder => {
                return Err(invalid(format!(
                    "{} needs a folder: choose the repository or folder it reads",
                    choice.key
                )));
            }
        }
        if *entry == ActionSettings::default() {
            settings.actions.shift_remove(&choice.key);
        }
    }
    Ok(settings)
}
