//! `pipewright --aws replay NAME STAGE/ACTION`: one action of an AWS execution run again here,
//! with what it had there, and followed as `run` follows.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use pipewright_api::Backend;

use crate::local_plan::plan_lines;
use crate::output::style;
use crate::run;

pub struct Request<'a> {
    pub name: &'a str,
    /// `STAGE/ACTION`.
    pub action: &'a str,
    pub execution: Option<&'a str>,
    pub dir: Option<&'a Path>,
    pub json: bool,
}

pub async fn replay(
    cli: &crate::Cli,
    backend: &pipewright_aws::AwsBackend,
    connection: &pipewright_aws::AwsConnection,
    request: Request<'_>,
) -> Result<ExitCode> {
    let Some((stage, action)) = request.action.split_once('/') else {
        bail!("replay {}: name the action as STAGE/ACTION", request.action);
    };
    let data_dir = crate::data_dir(cli);
    let dir: PathBuf = match request.dir {
        Some(dir) => dir.to_path_buf(),
        None => data_dir
            .join("replays")
            .join(request.name)
            .join(format!("{stage}-{action}")),
    };
    // Boxed: downloading and fetching make a large future.
    let prepared = Box::pin(pipewright_aws::replay::prepare(
        backend,
        connection,
        request.name,
        stage,
        action,
        request.execution,
        &dir,
    ))
    .await?;
    let original = &prepared.original;
    let outcome = original
        .output
        .execution_result
        .external_execution_summary
        .as_deref()
        .or(original
            .output
            .execution_result
            .error_details
            .as_ref()
            .map(|e| e.message.as_str()))
        .map(|summary| format!(": {summary}"))
        .unwrap_or_default();
    anstream::eprintln!(
        "Replaying {stage}/{action} of {} execution {} on {} ({} there{outcome})",
        request.name,
        original.pipeline_execution_id,
        backend.name(),
        original.status
    );
    for (artifact, from) in &prepared.inputs {
        anstream::eprintln!(
            "  input {artifact}  {}{from}{}",
            style::DIM.render(),
            style::DIM.render_reset()
        );
    }
    for line in plan_lines(&prepared.written.plan) {
        anstream::eprintln!("  {line}");
    }
    for gap in &prepared.gaps {
        anstream::eprintln!(
            "{}Not brought from AWS: {gap}{}",
            style::WAITING.render(),
            style::WAITING.render_reset()
        );
    }
    let file = prepared.written.pipeline_file.display().to_string();
    anstream::eprintln!(
        "{}The replay is in {}; run it again with: pipewright run {file}{}",
        style::DIM.render(),
        dir.display(),
        style::DIM.render_reset()
    );
    let api = crate::open(cli).await?;
    let result = run::run(
        &api,
        &data_dir,
        run::Request {
            pipeline: &file,
            vars: Default::default(),
            settings: None,
            json: request.json,
            yes: true,
            sources: &[],
        },
    )
    .await;
    api.close().await?;
    result
}
