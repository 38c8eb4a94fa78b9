//! A build's `reports:`, read after its commands as CodeBuild reads them: each report group's
//! files (its `files` globs under `base-directory`, in the build's copy of its primary source)
//! parsed in the group's `file-format`, and a line in the log for each group with its counts,
//! or with why a file could not be read. A failed test fails the report, not the build: the
//! test command's exit status decides the build, as on CodeBuild.

use std::path::{Path, PathBuf};

use pipewright_artifacts::Selection;
use pipewright_model::buildspec::{Buildspec, ReportGroup};
use pipewright_model::reports::{self, Format, Report};

use super::{ActionRun, blocking};

/// The reports of the buildspec's report groups that have files.
pub(super) async fn read(run: &ActionRun, spec: &Buildspec, source: &Path) -> Vec<Report> {
    let mut out = Vec::new();
    for (name, group) in &spec.reports {
        let Some(format) = group
            .file_format
            .as_deref()
            .map_or(Some(Format::Junitxml), Format::parse)
        else {
            run.log.note(format!(
                "Report group {name}: file-format {} is not one CodeBuild reads ({}); its files are not read",
                group.file_format.as_deref().unwrap_or_default(),
                Format::ALL.map(Format::as_str).join(", ")
            ));
            continue;
        };
        let group = group.clone();
        let source = source.to_path_buf();
        let group_name = name.clone();
        let read = blocking(move || read_group(&group_name, &group, format, &source)).await;
        match read {
            Ok(Ok(Some(report))) => {
                for why in &report.unreadable {
                    run.log.note(format!("Report group {name}: {why}"));
                }
                run.log.note(format!(
                    "Report group {name} ({}): {}, {}",
                    format.as_str(),
                    report.describe(),
                    report.status
                ));
                out.push(report);
            }
            Ok(Ok(None)) => run.log.note(format!(
                "Report group {name}: no files matched {}{}",
                group_files(spec, name),
                spec.reports[name]
                    .base_directory
                    .as_deref()
                    .map(|b| format!(" under {b}"))
                    .unwrap_or_default()
            )),
            Ok(Err(why)) | Err(why) => run.log.note(format!("Report group {name}: {why}")),
        }
    }
    out
}

fn group_files(spec: &Buildspec, name: &str) -> String {
    spec.reports[name].files.join(", ")
}

/// One group's files read into its report; None when no file matched.
fn read_group(
    name: &str,
    group: &ReportGroup,
    format: Format,
    source: &Path,
) -> Result<Option<Report>, String> {
    let selection = Selection::globs(
        group.files.clone(),
        group.base_directory.clone(),
        group.discard_paths,
        Vec::new(),
    )
    .map_err(|e| e.to_string())?;
    let base: PathBuf = match &group.base_directory {
        Some(base) => source.join(base),
        None => source.to_path_buf(),
    };
    if !base.is_dir() {
        return Ok(None);
    }
    let files = selection.files(source).map_err(|e| e.to_string())?;
    if files.is_empty() {
        return Ok(None);
    }
    let mut parsed = Vec::new();
    let mut unreadable = Vec::new();
    for (path, shown) in files {
        let shown = shown.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                unreadable.push(format!("{shown}: {e}"));
                continue;
            }
        };
        match reports::parse(format, &shown, &text) {
            Ok(file) => parsed.push(file),
            Err(why) => unreadable.push(why),
        }
    }
    Ok(Some(Report::new(name, format, parsed, unreadable)))
}
