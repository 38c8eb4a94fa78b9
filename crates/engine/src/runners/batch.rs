//! Batch builds, as CodeBuild runs them for a CodeBuild action with `BatchEnabled: "true"`: the
//! buildspec's `batch:` expanded into builds (`model::buildspec::batch`), run side by side (as
//! many at once as `--max-parallel` says, for each batch; a `build-graph` build after the builds
//! it depends on have succeeded), each in its own copy of the inputs, with its own buildspec,
//! variables (its own `CODEBUILD_BUILD_ID`, `_ARN` and `_NUMBER`, and
//! `CODEBUILD_BATCH_BUILD_IDENTIFIER`), image and log. `fast-fail` stops the builds still running
//! at the first failure; a failure of a build with `ignore-failure` does not fail the batch (a
//! build that depends on it still does not start: it waits for builds that succeeded). The
//! action's timeout covers the whole batch, and stopping the action stops its builds. The builds' artifacts become the action's: combined into its one output, a folder
//! per build, with `CombineArtifacts: "true"`; else each output artifact is the primary artifact
//! of the build of the same name, as CodePipeline matches them (its `identifier_secondary` names
//! for builds' secondary artifacts are refused, named, not matched).
//!
//! Each build's state is a row of `batch_builds`, written as it changes, so `run`, `actions` and
//! the monitor show the builds while they run.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use pipewright_artifacts::Selection;
use pipewright_model::buildspec::Buildspec;
use pipewright_model::buildspec::batch::{Batch, BatchBuild, BatchKind};
use pipewright_store as db;
use tokio::task::JoinSet;

use super::codebuild::{build, load_in_source};
use super::{ActionRun, Outcome, Services, Sources, blocking};
use crate::containers::Place;
use crate::status::ActionStatus;

/// The statuses a batch build goes through.
const WAITING: &str = "Waiting";
const IN_PROGRESS: &str = "InProgress";
const SUCCEEDED: &str = "Succeeded";
const FAILED: &str = "Failed";
const STOPPED: &str = "Stopped";

pub(super) async fn run(
    services: &Services,
    run: &ActionRun,
    spec: &Buildspec,
    batch: Batch,
) -> Outcome {
    let at_once = services.max_parallel;
    run.log.note(format!(
        "Batch build ({}): {} builds, at most {at_once} at a time{}",
        batch.kind.as_str(),
        batch.builds.len(),
        if batch.fast_fail { ", fast-fail" } else { "" }
    ));
    if batch.kind == BatchKind::Fanout {
        run.log.note(
            "Not done locally: /batch/build-fanout: each shard runs the whole build; test \
             splitting (codebuild-tests-run) is a command of CodeBuild's images",
        );
    }
    for build in &batch.builds {
        for (key, value) in &build.unused {
            run.log.note(format!(
                "Not done locally: batch build {}: env {key} {value} is CodeBuild's; it runs with this machine's resources",
                build.identifier
            ));
        }
    }
    let mut rows: Vec<db::BatchBuildRow> = batch
        .builds
        .iter()
        .enumerate()
        .map(|(seq, build)| db::BatchBuildRow {
            id: uuid::Uuid::new_v4().to_string(),
            action_execution_id: run.action_execution_id.clone(),
            seq: seq as i64,
            identifier: build.identifier.clone(),
            status: WAITING.to_owned(),
            ..db::BatchBuildRow::default()
        })
        .collect();
    for row in &rows {
        record(services, run, row).await;
    }

    let mut outcomes: HashMap<usize, Outcome> = HashMap::new();
    let mut running: JoinSet<(usize, Outcome)> = JoinSet::new();
    let mut tasks: HashMap<tokio::task::Id, usize> = HashMap::new();
    let stop = run.cancel.child_token();
    let mut stopping = false;
    // The action's timeout is the batch's: each build gets what is left of it.
    let deadline = run.timeout.map(|timeout| Instant::now() + timeout);
    loop {
        // A stopped action starts no more builds (its running ones are cancelled with it).
        stopping |= run.cancel.is_cancelled();
        if !stopping && deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            run.log
                .note("The action's timeout has passed: no more batch builds start");
            stopping = true;
        }
        // Start what may start: not begun, its dependencies succeeded, a slot free.
        while !stopping && running.len() < at_once {
            let Some(next) = (0..batch.builds.len())
                .find(|&i| rows[i].status == WAITING && ready(&batch, i, &rows))
            else {
                break;
            };
            let build = batch.builds[next].clone();
            rows[next].status = IN_PROGRESS.to_owned();
            rows[next].started_ms = Some(services.clock.now_ms());
            let mut task = task_run(run, &build, &rows[next].id, &stop);
            task.timeout =
                deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
            rows[next].ran_on = Some(task.place.describe());
            record(services, run, &rows[next]).await;
            run.log.note(format!(
                "Batch build {} started on {}",
                build.identifier,
                task.place.describe()
            ));
            let services = services.clone();
            let spec = spec.clone();
            let handle = running.spawn(async move {
                let outcome = run_one(&services, task, &spec, &build).await;
                (next, outcome)
            });
            tasks.insert(handle.id(), next);
        }
        // What can never start: a dependency failed or was stopped.
        for i in 0..rows.len() {
            if rows[i].status == WAITING && blocked(&batch, i, &rows) {
                rows[i].status = STOPPED.to_owned();
                rows[i].summary = Some("not run: a build it depends on did not succeed".to_owned());
                record(services, run, &rows[i]).await;
            }
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (index, outcome) = match joined {
            Ok((_, ended)) => ended,
            // A build whose task broke ends failed, with why, never left in progress.
            Err(error) => match tasks.get(&error.id()) {
                Some(&index) => (
                    index,
                    Outcome::failed("InternalError", format!("the build broke off: {error}")),
                ),
                None => continue,
            },
        };
        let build = &batch.builds[index];
        let row = &mut rows[index];
        row.ended_ms = Some(services.clock.now_ms());
        row.status = match outcome.status {
            ActionStatus::Succeeded => SUCCEEDED,
            ActionStatus::Abandoned => STOPPED,
            _ if stopping || run.cancel.is_cancelled() => STOPPED,
            _ => FAILED,
        }
        .to_owned();
        row.summary = outcome.summary.clone();
        record(services, run, row).await;
        run.log.note(format!(
            "Batch build {} {}{}",
            build.identifier,
            row.status.to_lowercase(),
            row.summary
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        ));
        if row.status == FAILED && !build.ignore_failure && batch.fast_fail && !stopping {
            run.log.note(format!(
                "fast-fail: {} failed, so the builds still running are stopped and no more start",
                build.identifier
            ));
            stopping = true;
            stop.cancel();
        }
        outcomes.insert(index, outcome);
    }
    // Builds that never started (fast-fail, or the action stopped) are stopped.
    for row in rows.iter_mut().filter(|r| r.status == WAITING) {
        row.status = STOPPED.to_owned();
        row.summary = Some("not run: the batch stopped first".to_owned());
        record(services, run, row).await;
    }
    finish(services, run, &batch, &rows, outcomes).await
}

/// Whether build `i` may start: each build it depends on has succeeded.
fn ready(batch: &Batch, i: usize, rows: &[db::BatchBuildRow]) -> bool {
    batch.builds[i].depend_on.iter().all(|dependency| {
        rows.iter()
            .any(|r| &r.identifier == dependency && r.status == SUCCEEDED)
    })
}

/// Whether build `i` can never start: a build it depends on failed or was stopped.
fn blocked(batch: &Batch, i: usize, rows: &[db::BatchBuildRow]) -> bool {
    batch.builds[i].depend_on.iter().any(|dependency| {
        rows.iter()
            .any(|r| &r.identifier == dependency && (r.status == FAILED || r.status == STOPPED))
    })
}

/// A batch build's row, written as it changes; a row that cannot be written is said in the log
/// and the build goes on.
async fn record(services: &Services, run: &ActionRun, row: &db::BatchBuildRow) {
    let written = async {
        let mut tx = services.store.write().await?;
        db::put_batch_build(&mut tx, row).await?;
        tx.commit().await.map_err(db::Error::from)
    }
    .await;
    if let Err(error) = written {
        run.log.note(format!(
            "Batch build {}: its state could not be recorded: {error}",
            row.identifier
        ));
    }
}

/// One build of the batch as a run of its own: its id, workspace, log and place; its action's
/// outputs are the build's own artifacts (named after it), which `finish` hands to the action's.
fn task_run(
    run: &ActionRun,
    build: &BatchBuild,
    id: &str,
    stop: &tokio_util::sync::CancellationToken,
) -> ActionRun {
    let log = run.log.part(id);
    let place = match &run.place {
        Place::Host => {
            if let Some(image) = &build.image {
                log.note(format!(
                    "The batch build asks for image {image}; it runs on this machine, as its action does"
                ));
            }
            Place::Host
        }
        Place::Container(container) => {
            let mut container = container.clone();
            if let Some(image) = &build.image {
                let (local, note) = crate::local_plan::local_image(image);
                if let Some(note) = note {
                    log.note(note);
                }
                container.image = local;
            }
            if let Some(privileged) = build.privileged {
                container.privileged = privileged;
            }
            Place::Container(container)
        }
    };
    // The build's own: its processes are its (for a stop), and CodeBuild gives each build of a
    // batch its own id and ARN (its number comes from the project's counter in `run_one`).
    let env = run
        .env
        .iter()
        .map(|(name, value)| match name.as_str() {
            crate::process::ACTION_ENV => (name.clone(), id.to_owned()),
            "CODEBUILD_BUILD_ID" | "CODEBUILD_BUILD_ARN" => {
                (name.clone(), value.replace(&run.action_execution_id, id))
            }
            _ => (name.clone(), value.clone()),
        })
        .collect();
    // The build's artifacts: its primary under its identifier; the action's other outputs as
    // its secondary ones (`identifier_secondary`), for `finish` to match.
    let mut action = run.action.clone();
    action.output_artifacts = serde_json::from_value(serde_json::json!([
        {"name": build.identifier}
    ]))
    .ok();
    ActionRun {
        execution_id: run.execution_id.clone(),
        action_execution_id: id.to_owned(),
        pipeline: run.pipeline.clone(),
        stage: run.stage.clone(),
        action,
        settings: run.settings.clone(),
        aws: run.aws.clone(),
        stored: run.stored.clone(),
        secret_env: Vec::new(),
        inputs: run.inputs.clone(),
        workspace: run.workspace.join("batch").join(&build.identifier),
        env,
        log,
        cancel: stop.child_token(),
        timeout: run.timeout,
        approval: None,
        place,
        engine_id: run.engine_id.clone(),
        revision: None,
    }
}

/// Runs one build: its own copy of the inputs, its buildspec, its variables.
async fn run_one(
    services: &Services,
    mut task: ActionRun,
    spec: &Buildspec,
    build: &BatchBuild,
) -> Outcome {
    if let Err(e) = std::fs::create_dir_all(&task.workspace) {
        return Outcome::failed(
            "InternalError",
            format!("cannot make {}: {e}", task.workspace.display()),
        );
    }
    let sources = match Sources::check_out(services, &task).await {
        Ok(sources) => sources,
        Err(message) => return Outcome::failed("ArtifactError", message),
    };
    let spec = match &build.buildspec {
        Some(path) => match load_in_source(&task, &sources, path) {
            Ok(spec) => spec,
            Err(message) => {
                sources.release();
                return Outcome::failed("InvalidBuildspec", message);
            }
        },
        None => spec.clone(),
    };
    if let Err(message) = number_the_build(services, &mut task).await {
        sources.release();
        return Outcome::failed("InternalError", message);
    }
    let mut variables: Vec<(String, String)> = build
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    variables.push((
        "CODEBUILD_BATCH_BUILD_IDENTIFIER".to_owned(),
        build.identifier.clone(),
    ));
    // A build whose buildspec has no artifacts makes none (and the action gets none from it).
    if spec.artifacts.is_none() {
        task.action.output_artifacts = None;
    }
    let outcome = build_boxed(services, &task, &sources, &spec, &variables).await;
    sources.release();
    outcome
}

/// Gives the build the next number of its project, as CodeBuild numbers each build of a batch;
/// a build with no number (no project) gets none.
async fn number_the_build(services: &Services, task: &mut ActionRun) -> Result<(), String> {
    let Some(project) = task.action.config("ProjectName").map(str::to_owned) else {
        return Ok(());
    };
    let Some(number) = task
        .env
        .iter_mut()
        .find(|(name, _)| name == "CODEBUILD_BUILD_NUMBER")
    else {
        return Ok(());
    };
    let next = async {
        let mut tx = services.store.write().await?;
        let next = db::next_counter(&mut tx, &format!("build-number:{project}")).await?;
        tx.commit().await.map_err(db::Error::from)?;
        Ok::<i64, db::Error>(next)
    }
    .await
    .map_err(|e| format!("cannot number the build: {e}"))?;
    number.1 = next.to_string();
    Ok(())
}

/// The build's future, boxed: it is large, and a batch holds several.
async fn build_boxed(
    services: &Services,
    task: &ActionRun,
    sources: &Sources,
    spec: &Buildspec,
    variables: &[(String, String)],
) -> Outcome {
    Box::pin(build(services, task, sources, spec, variables)).await
}

/// The action's outcome from its builds': failed when a build without `ignore-failure` did not
/// succeed; its outputs the builds' artifacts, combined or matched by name; its reports theirs.
async fn finish(
    services: &Services,
    run: &ActionRun,
    batch: &Batch,
    rows: &[db::BatchBuildRow],
    mut outcomes: HashMap<usize, Outcome>,
) -> Outcome {
    let failed: Vec<&str> = rows
        .iter()
        .zip(&batch.builds)
        .filter(|(row, build)| row.status != SUCCEEDED && !build.ignore_failure)
        .map(|(row, _)| row.identifier.as_str())
        .collect();
    let succeeded = rows.iter().filter(|r| r.status == SUCCEEDED).count();
    let summary = format!(
        "Batch: {} builds, {succeeded} succeeded{}",
        rows.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(", {} not ({})", failed.len(), failed.join(", "))
        }
    );
    let mut reports = Vec::new();
    for (index, outcome) in outcomes.iter_mut() {
        for mut report in std::mem::take(&mut outcome.reports) {
            report.name = format!("{}/{}", batch.builds[*index].identifier, report.name);
            reports.push(report);
        }
    }
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    let mut result = if failed.is_empty() {
        Outcome::succeeded(Some(summary))
    } else {
        let mut failure = Outcome::failed("BatchFailed", summary);
        failure.reports = reports;
        return failure;
    };
    result.reports = reports;
    // Each build's primary artifact, by identifier.
    let mut built: HashMap<String, pipewright_artifacts::Ingested> = HashMap::new();
    for (index, outcome) in outcomes {
        if let Some((_, ingested)) = outcome.outputs.into_iter().next() {
            built.insert(batch.builds[index].identifier.clone(), ingested);
        }
    }
    let combine = run
        .action
        .config("CombineArtifacts")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let outputs = run.action.outputs();
    if combine {
        let Some(output) = outputs.first() else {
            return result;
        };
        match combined(services, run, &built).await {
            Ok(ingested) => result.outputs.push((output.name.clone(), ingested)),
            Err(message) => return Outcome::failed("ArtifactError", message),
        }
        run.log.note(format!(
            "CombineArtifacts: {} holds the builds' artifacts, a folder for each",
            output.name
        ));
        return result;
    }
    for output in outputs {
        match built.remove(&output.name) {
            Some(ingested) => result.outputs.push((output.name.clone(), ingested)),
            None if batch
                .builds
                .iter()
                .any(|b| output.name.starts_with(&format!("{}_", b.identifier))) =>
            {
                return Outcome::failed(
                    "NotDoneLocally",
                    format!(
                        "the output artifact {} names a batch build's secondary artifact, which the local run does not hand over; combine the artifacts (CombineArtifacts) or name a build's identifier",
                        output.name
                    ),
                );
            }
            None => {
                return Outcome::failed(
                    "ArtifactError",
                    format!(
                        "the output artifact {} matches no batch build (its name must be a build's identifier when the artifacts are not combined; the builds are {})",
                        output.name,
                        batch
                            .builds
                            .iter()
                            .map(|b| b.identifier.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
    }
    result
}

/// The builds' artifacts in one, each under a folder named after its build.
async fn combined(
    services: &Services,
    run: &ActionRun,
    built: &HashMap<String, pipewright_artifacts::Ingested>,
) -> Result<pipewright_artifacts::Ingested, String> {
    let dir: PathBuf = run.workspace.join("batch-combined");
    let artifacts = services.artifacts.clone();
    let parts: Vec<(String, pipewright_artifacts::Digest)> = built
        .iter()
        .map(|(identifier, ingested)| (identifier.clone(), ingested.digest.clone()))
        .collect();
    blocking(move || {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut copies = Vec::new();
        for (identifier, digest) in parts {
            let copy = artifacts
                .checkout(&digest, &dir.join(&identifier))
                .map_err(|e| e.to_string())?;
            copies.push(copy);
        }
        let ingested = artifacts
            .ingest(&dir, &Selection::all())
            .map_err(|e| e.to_string());
        for copy in copies {
            let _ = copy.release();
        }
        ingested
    })
    .await?
}
