//! `pipewright --aws pull NAME [--dir DIR]`: an AWS pipeline written out to run here (the
//! declaration, its projects' buildspecs and the local plan), and what was written shown.

use std::path::{Path, PathBuf};

use anyhow::Result;
use pipewright_api::engine::local_plan::{Choice, PlanContext};

use crate::local_plan::{current_working_copy, parse_sources, plan_lines};
use crate::output::style;

pub async fn pull(
    backend: &pipewright_aws::AwsBackend,
    connection: &pipewright_aws::AwsConnection,
    name: &str,
    dir: &Path,
    sources: &[String],
    data_dir: &Path,
) -> Result<()> {
    let fetched = pipewright_aws::pull::fetch(backend, connection, name).await?;
    let context = PlanContext {
        working_copy: current_working_copy(),
        sources: parse_sources(&fetched.pipeline, sources)?,
        deploy_dir: data_dir.join("deploys").join(name),
        ..PlanContext::default()
    };
    let written = fetched.write(dir, context)?;
    let rows: Vec<(PathBuf, String)> =
        std::iter::once((written.pipeline_file.clone(), "the declaration".to_owned()))
            .chain(written.buildspecs.iter().map(|(key, project, file)| {
                (
                    file.clone(),
                    format!("the buildspec of CodeBuild project {project} ({key})"),
                )
            }))
            .chain(std::iter::once((
                written.settings_file.clone(),
                "the local plan:".to_owned(),
            )))
            .collect();
    let width = rows.iter().map(|(f, _)| shown(f).len()).max().unwrap_or(0);
    println!("Pulled {name} from {}:", fetched.from);
    for (file, what) in rows {
        println!("  {:width$}  {what}", shown(&file));
    }
    for line in plan_lines(&written.plan) {
        anstream::println!("  {line}");
    }
    for gap in &fetched.gaps {
        anstream::println!(
            "{}Not brought from AWS: {gap}{}",
            style::WAITING.render(),
            style::WAITING.render_reset()
        );
    }
    for source in &written.plan.missing_sources {
        anstream::println!(
            "{}{source} has no local path yet: run from inside the repository it reads, or give --source {source}=PATH (to pull or to run){}",
            style::WAITING.render(),
            style::WAITING.render_reset()
        );
    }
    let in_images =
        written.plan.actions.iter().any(
            |a| matches!(&a.choice, Choice::Build { place, .. } if place.starts_with("image")),
        );
    println!(
        "Run it here: pipewright run {}{}",
        shown(&written.pipeline_file),
        if in_images {
            " (with --host, builds run on this machine instead of in their images)"
        } else {
            ""
        }
    );
    Ok(())
}

/// A path as the user would type it from here: relative when it is below the current directory.
fn shown(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
