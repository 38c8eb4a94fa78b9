//! Local action runners: how each action provider runs on this machine. `run` picks the runner for
//! an action; a provider with no runner fails the action with a message saying how to map it, never
//! a silent skip.

mod batch;
mod build_cache;
mod build_reports;
mod codebuild;
mod commands;
mod manual;
mod s3_bucket;
mod s3_deploy;
mod shell;
mod source;

pub(crate) use shell::{InContainer, run_script, script_failure};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use pipewright_artifacts::{ArtifactStore, Checkout, Digest, Ingested, Selection};
use pipewright_model::{Action, ActionCategory};
use pipewright_store::Store;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::containers::Place;
use crate::logs::ActionLog;
use crate::objects::{AwsConnection, ObjectStore};
use crate::settings::ActionSettings;
use crate::status::ActionStatus;

/// What the engine gives every runner.
#[derive(Clone, Debug)]
pub struct Services {
    pub store: Store,
    pub artifacts: ArtifactStore,
    pub clock: Arc<dyn Clock>,
    /// Real S3, when the front end plugged it in.
    pub objects: Option<Arc<dyn ObjectStore>>,
    /// Where builds' caches are kept between runs (`cache/` in the data directory).
    pub cache_dir: PathBuf,
    /// AWS's Parameter Store and Secrets Manager, when the front end plugged them in.
    pub remote_values: Option<Arc<dyn crate::stored_values::RemoteValues>>,
    /// How many actions the process runs at once (`--max-parallel`): a batch build's builds
    /// run as many at once.
    pub max_parallel: usize,
}

/// One action execution, ready to run: variables are already substituted.
#[derive(Debug)]
pub struct ActionRun {
    pub execution_id: String,
    pub action_execution_id: String,
    pub pipeline: String,
    pub stage: String,
    pub action: Action,
    pub settings: Option<ActionSettings>,
    /// The local settings' `aws:` connection, for actions that reach real S3.
    pub aws: AwsConnection,
    /// Where the Parameter Store and Secrets Manager values builds read come from.
    pub stored: crate::stored_values::ValueSources,
    /// The action's `environmentVariables` of type SECRETS_MANAGER: each name and the secret
    /// it reads, resolved (and masked) when the action starts.
    pub secret_env: Vec<(String, String)>,
    /// Input artifacts in declaration order: the first is the primary one, unless CodeBuild's
    /// `PrimarySource` names another.
    pub inputs: Vec<(String, Digest)>,
    /// An empty directory that belongs to this action execution alone.
    pub workspace: PathBuf,
    /// Environment every process of the action gets (CODEBUILD_* and the action's variables).
    pub env: Vec<(String, String)>,
    pub log: ActionLog,
    pub cancel: CancellationToken,
    pub timeout: Option<Duration>,
    /// Manual approvals: the token and when it expires.
    pub approval: Option<(String, i64)>,
    /// Where the action's commands run: this machine or a container.
    pub place: Place,
    /// The engine running the action, whose id labels its containers.
    pub engine_id: String,
    /// A source action: the commit to read instead of its branch head (the execution's source
    /// revision, from StartPipelineExecution or a local trigger).
    pub revision: Option<crate::engine::SourceRevision>,
}

/// A source revision (artifactRevisions in GetPipelineExecution).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    pub artifact: String,
    pub revision_id: String,
    pub summary: Option<String>,
    /// The revision's web page (a commit on GitHub, say), AWS's `revisionUrl`.
    pub url: Option<String>,
    /// Who made it: a git commit's author.
    pub author: Option<String>,
}

#[derive(Debug)]
pub struct Outcome {
    pub status: ActionStatus,
    pub summary: Option<String>,
    pub error_code: Option<String>,
    pub outputs: Vec<(String, Ingested)>,
    pub variables: IndexMap<String, String>,
    pub revision: Option<Revision>,
    pub external_url: Option<String>,
    /// Test and coverage reports (a CodeBuild action's `reports:`), whatever the outcome.
    pub reports: Vec<pipewright_model::reports::Report>,
}

impl Outcome {
    pub fn succeeded(summary: impl Into<Option<String>>) -> Outcome {
        Outcome {
            status: ActionStatus::Succeeded,
            summary: summary.into(),
            error_code: None,
            outputs: Vec::new(),
            variables: IndexMap::new(),
            revision: None,
            external_url: None,
            reports: Vec::new(),
        }
    }

    pub fn failed(code: &str, summary: impl Into<String>) -> Outcome {
        Outcome {
            status: ActionStatus::Failed,
            summary: Some(summary.into()),
            error_code: Some(code.to_owned()),
            ..Outcome::succeeded(None)
        }
    }
}

/// Which runner an action gets, as a name for messages and for validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunnerKind {
    Simulated,
    MappedCommands,
    Commands,
    CodeBuild,
    Manual,
    GitSource,
    LocalSource,
    S3Deploy,
    S3BucketSource,
    S3BucketDeploy,
}

/// The runner for an action, or None when the provider has no local runner and the settings map
/// it to nothing.
pub fn runner_for(action: &Action, settings: Option<&ActionSettings>) -> Option<RunnerKind> {
    use ActionCategory::*;
    if settings.is_some_and(|s| s.simulate) {
        return Some(RunnerKind::Simulated);
    }
    if settings.is_some_and(|s| s.commands.is_some()) {
        return Some(RunnerKind::MappedCommands);
    }
    let t = &action.action_type_id;
    let real_s3 = settings.is_some_and(|s| s.s3);
    Some(match (&t.category, t.provider.as_str()) {
        (Source, "S3") if real_s3 => RunnerKind::S3BucketSource,
        (Deploy, "S3") if real_s3 => RunnerKind::S3BucketDeploy,
        (Compute, "Commands") => RunnerKind::Commands,
        (Build | Test, "CodeBuild") => RunnerKind::CodeBuild,
        (Approval, "Manual") => RunnerKind::Manual,
        (Source, "CodeStarSourceConnection" | "CodeCommit" | "GitHub") => RunnerKind::GitSource,
        (Source, "S3") => RunnerKind::LocalSource,
        (Deploy, "S3") => RunnerKind::S3Deploy,
        _ => return None,
    })
}

/// Runs the action to its end. Never panics on what the action does; every failure becomes a
/// Failed outcome with a summary that says what happened.
pub async fn run(services: &Services, mut run: ActionRun) -> Outcome {
    // An action's SECRETS_MANAGER variables, read now: the settings', or AWS's when they ask.
    for (name, reference) in std::mem::take(&mut run.secret_env) {
        match run
            .stored
            .value(crate::stored_values::Store::SecretsManager, &reference)
            .await
        {
            Ok((value, _)) => {
                run.log.mask(&value);
                run.env.push((name, value));
            }
            Err(why) => run.log.note(format!(
                "Not done locally: environmentVariables: {name} comes from Secrets Manager \
                 ({reference}); {why}, so it is left unset (give it in the local settings' \
                 secretsManager)"
            )),
        }
    }
    let settings = run.settings.clone();
    match runner_for(&run.action, settings.as_ref()) {
        Some(RunnerKind::Simulated) => {
            run.log
                .note("Simulated: the local settings mark this action as simulated; nothing ran.");
            let mut outcome = Outcome::succeeded(Some("Simulated (local settings)".to_owned()));
            outcome.variables = settings.map(|s| s.output_variables).unwrap_or_default();
            // Declared outputs still exist, empty, so later actions that take them can run.
            for output in run.action.outputs() {
                match empty_artifact(services, &run.workspace).await {
                    Ok(ingested) => outcome.outputs.push((output.name.clone(), ingested)),
                    Err(error) => return Outcome::failed("ArtifactError", error),
                }
            }
            outcome
        }
        Some(RunnerKind::MappedCommands) => {
            let commands = settings.and_then(|s| s.commands).unwrap_or_default();
            commands::run(services, &run, &commands).await
        }
        Some(RunnerKind::Commands) => {
            let commands = run.action.commands().to_vec();
            commands::run(services, &run, &commands).await
        }
        Some(RunnerKind::CodeBuild) => codebuild::run(services, &run).await,
        Some(RunnerKind::Manual) => manual::run(services, &run).await,
        Some(RunnerKind::GitSource) => source::git(services, &run).await,
        Some(RunnerKind::LocalSource) => source::local(services, &run).await,
        Some(RunnerKind::S3Deploy) => s3_deploy::run(services, &run).await,
        Some(RunnerKind::S3BucketSource) => s3_bucket::source(services, &run).await,
        Some(RunnerKind::S3BucketDeploy) => s3_bucket::deploy(services, &run).await,
        None => Outcome::failed("NoLocalRunner", no_runner_message(&run.stage, &run.action)),
    }
}

pub fn no_runner_message(stage: &str, action: &Action) -> String {
    let t = &action.action_type_id;
    format!(
        "{} {} actions have no local runner; map {stage}/{} in the local settings to commands, or mark it simulate: true",
        t.category, t.provider, action.name
    )
}

async fn empty_artifact(
    services: &Services,
    workspace: &std::path::Path,
) -> Result<Ingested, String> {
    let dir = workspace.join("empty");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let artifacts = services.artifacts.clone();
    // An ingest may wait for a gc in another process: not on an async thread.
    blocking(move || artifacts.ingest(&dir, &Selection::all()))
        .await?
        .map_err(|e| e.to_string())
}

/// Working copies of an action's input artifacts: the primary (the first, or the one CodeBuild's
/// `PrimarySource` names) at `workspace/src`, the others at `workspace/src-NAME` (CodeBuild's
/// CODEBUILD_SRC_DIR and CODEBUILD_SRC_DIR_NAME).
pub(crate) struct Sources {
    pub primary: PathBuf,
    pub env: Vec<(String, String)>,
    checkouts: Vec<Checkout>,
}

impl Sources {
    pub async fn check_out(services: &Services, run: &ActionRun) -> Result<Sources, String> {
        // With no input artifact the action works in its (empty) workspace itself.
        let primary = if run.inputs.is_empty() {
            run.workspace.clone()
        } else {
            run.workspace.join("src")
        };
        let mut sources = Sources {
            primary: primary.clone(),
            env: vec![(
                "CODEBUILD_SRC_DIR".to_owned(),
                primary.display().to_string(),
            )],
            checkouts: Vec::new(),
        };
        if run.inputs.is_empty() {
            return Ok(sources);
        }
        let primary_index = primary_index(&run.action, &run.inputs)?;
        let artifacts = services.artifacts.clone();
        let inputs = run.inputs.clone();
        let workspace = run.workspace.clone();
        let checked_out = blocking(move || {
            let mut checked_out = Vec::new();
            for (index, (name, digest)) in inputs.into_iter().enumerate() {
                let dest = if index == primary_index {
                    primary.clone()
                } else {
                    workspace.join(format!("src-{name}"))
                };
                match artifacts.checkout(&digest, &dest) {
                    Ok(checkout) => checked_out.push((index, name, digest, dest, checkout)),
                    // Working copies made so far are released when `checked_out` is dropped.
                    Err(e) => {
                        return Err(format!(
                            "cannot hand the artifact {name} to the action: {e}"
                        ));
                    }
                }
            }
            Ok(checked_out)
        })
        .await??;
        for (index, name, digest, dest, checkout) in checked_out {
            run.log.note(format!(
                "Input artifact {name} ({digest}) at {}",
                dest.display()
            ));
            if index != primary_index {
                sources.env.push((
                    format!("CODEBUILD_SRC_DIR_{name}"),
                    dest.display().to_string(),
                ));
            }
            sources.checkouts.push(checkout);
        }
        Ok(sources)
    }

    pub fn release(self) {
        for checkout in self.checkouts {
            // A working copy that cannot be removed now is removed with the workspace later.
            let _ = checkout.release();
        }
    }
}

/// Which input is the primary one: CodeBuild's PrimarySource names it when there are several,
/// else the first.
fn primary_index(action: &Action, inputs: &[(String, Digest)]) -> Result<usize, String> {
    match action.config("PrimarySource") {
        Some(name) => inputs
            .iter()
            .position(|(input, _)| input == name)
            .ok_or_else(|| {
                format!("PrimarySource names {name}, which is not an input artifact of the action")
            }),
        None => Ok(0),
    }
}

/// The primary input artifact (name and digest), when there is one.
pub(crate) fn primary_input<'a>(
    action: &Action,
    inputs: &'a [(String, Digest)],
) -> Option<&'a (String, Digest)> {
    primary_index(action, inputs)
        .ok()
        .and_then(|index| inputs.get(index))
}

/// Runs file-system work of the artifact store off the async threads: hashing a large output or
/// copying an input must not stall every other action's bookkeeping.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("internal error in file work: {e}"))
}

/// Ingests the output artifacts chosen by `selections` from `dir`.
pub(crate) async fn ingest_outputs(
    services: &Services,
    run: &ActionRun,
    dir: &std::path::Path,
    selections: Vec<(String, Selection)>,
) -> Result<Vec<(String, Ingested)>, String> {
    if selections.is_empty() {
        return Ok(Vec::new());
    }
    let artifacts = services.artifacts.clone();
    let dir = dir.to_path_buf();
    let outputs = blocking(move || {
        selections
            .into_iter()
            .map(
                |(name, selection)| match artifacts.ingest(&dir, &selection) {
                    Ok(ingested) => Ok((name, ingested)),
                    Err(e) => Err(format!("cannot store the output artifact {name}: {e}")),
                },
            )
            .collect::<Result<Vec<_>, String>>()
    })
    .await??;
    for (name, ingested) in &outputs {
        run.log.note(format!(
            "Output artifact {name}: {} files, {} bytes ({})",
            ingested.files, ingested.bytes, ingested.digest
        ));
    }
    Ok(outputs)
}
