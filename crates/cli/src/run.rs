//! `pipewright run FILE|NAME`: a file is settled (its local plan, when the settings do not map
//! every action), checked, imported when it changed, then started and followed; a name starts
//! the stored pipeline.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use indexmap::IndexMap;
use pipewright_api::Pipewright;
use pipewright_api::engine::settings::LocalSettings;
use pipewright_api::model::Severity;

use crate::output::style;
use crate::{follow, load, local_plan, output};

/// What `run` was given.
pub struct Request<'a> {
    /// A pipeline file, or a stored pipeline's name.
    pub pipeline: &'a str,
    pub vars: IndexMap<String, String>,
    /// `--settings`.
    pub settings: Option<&'a Path>,
    pub json: bool,
    /// `--yes`: accept the local plan without asking.
    pub yes: bool,
    /// `--source STAGE/ACTION=PATH`.
    pub sources: &'a [String],
}

pub async fn run(api: &Pipewright, data_dir: &Path, request: Request<'_>) -> Result<ExitCode> {
    let pipeline = request.pipeline;
    let path = Path::new(pipeline);
    let name = if path.is_file() {
        let (document, read) = load(path, request.settings)?;
        let settings = local_plan::settle(
            local_plan::PipelineFile {
                file: path,
                pipeline: &document.pipeline,
                settings_file: request.settings,
                settings: read,
            },
            request.sources,
            data_dir,
            local_plan::Acceptance::Run { yes: request.yes },
        )?;
        let report = pipewright_api::validate(
            &document.pipeline,
            settings.as_ref().unwrap_or(&LocalSettings::default()),
        );
        // A local run cares about what stops it locally; what only AWS would refuse is
        // counted, and `validate` lists it.
        if !request.json {
            let (aws, local): (Vec<_>, Vec<_>) = report
                .diagnostics
                .iter()
                .cloned()
                .partition(|d| d.severity == Severity::Aws);
            if !local.is_empty() {
                output::diagnostics(pipeline, &local);
            }
            if !aws.is_empty() {
                anstream::eprintln!(
                    "{}{} problems only AWS would refuse; see `pipewright validate {pipeline}`{}",
                    style::DIM.render(),
                    aws.len(),
                    style::DIM.render_reset()
                );
            }
        }
        let (name, version) = api.import_if_changed(&document, settings.as_ref()).await?;
        if !request.json {
            anstream::eprintln!(
                "{}Using {name} version {version}{}",
                style::DIM.render(),
                style::DIM.render_reset()
            );
        }
        name
    } else if looks_like_a_file(pipeline) {
        bail!("cannot read {pipeline}: there is no such file");
    } else {
        pipeline.to_owned()
    };
    let id = api.start(&name, &request.vars, None).await?;
    follow::follow(api, &name, &id, 0, request.json).await
}

/// A `run` argument that names a file rather than a stored pipeline (pipeline names allow no
/// `/`, and rarely end in .json or .yaml).
fn looks_like_a_file(argument: &str) -> bool {
    let lower = argument.to_ascii_lowercase();
    argument.contains('/')
        || [".json", ".yaml", ".yml"]
            .iter()
            .any(|ext| lower.ends_with(ext))
}
