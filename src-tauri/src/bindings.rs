//! The TypeScript types of everything the UI receives or sends, generated from the Rust types
//! with ts-rs into `ui/src/backend/generated/`. The `generated_types_are_current` test fails
//! when that folder is stale; `UPDATE_GENERATED=1 cargo test -p pipewright-desktop --lib
//! generated_types` rewrites it.

use std::path::Path;

use pipewright_api::model::PipelineDeclaration;
use pipewright_api::model::catalog::ActionTypeSpec;
use pipewright_api::{
    ArtifactSummary, Error, GetPipelineExecutionOutput, GetPipelineOutput, GetPipelineStateOutput,
    ListActionExecutionsOutput, ListPipelineExecutionsOutput, ListPipelinesOutput,
    ListReportsOutput, LocalSettingsForm, LogLine, PendingApproval, PipelinePlan,
    StageExecutionStatus, ValidationReport,
};
use ts_rs::{Config, TS};

use crate::commands::{
    ApprovalDecision, ConnectionApproval, ConnectionPipelines, Inbox, ParseError, SavedPipeline,
};
use crate::connections::ConnectionInfo;
use crate::local_runs::ReplayStarted;
use crate::navigation::Open;
use crate::notifications::NotificationSettings;
use crate::streams::Change;

/// Writes every type (and the types they use) into `dir`, one file per type.
/// 64-bit integers (versions, sequence numbers, byte counts) cross as JSON numbers, well inside
/// the range a JavaScript number holds exactly, so they are `number` rather than `bigint`.
pub fn export(dir: &Path) -> Result<(), ts_rs::ExportError> {
    let dir = &Config::new().with_out_dir(dir).with_large_int("number");
    PipelineDeclaration::export_all(dir)?;
    ValidationReport::export_all(dir)?;
    ParseError::export_all(dir)?;
    SavedPipeline::export_all(dir)?;
    Error::export_all(dir)?;
    ListPipelinesOutput::export_all(dir)?;
    GetPipelineOutput::export_all(dir)?;
    GetPipelineStateOutput::export_all(dir)?;
    ListPipelineExecutionsOutput::export_all(dir)?;
    GetPipelineExecutionOutput::export_all(dir)?;
    ListActionExecutionsOutput::export_all(dir)?;
    PendingApproval::export_all(dir)?;
    LogLine::export_all(dir)?;
    StageExecutionStatus::export_all(dir)?;
    Change::export_all(dir)?;
    Open::export_all(dir)?;
    ConnectionPipelines::export_all(dir)?;
    ConnectionApproval::export_all(dir)?;
    Inbox::export_all(dir)?;
    ConnectionInfo::export_all(dir)?;
    ApprovalDecision::export_all(dir)?;
    PipelinePlan::export_all(dir)?;
    NotificationSettings::export_all(dir)?;
    LocalSettingsForm::export_all(dir)?;
    ReplayStarted::export_all(dir)?;
    ListReportsOutput::export_all(dir)?;
    ArtifactSummary::export_all(dir)?;
    // The UI reads the catalog file itself (`designer/providers.ts`); this is its shape.
    ActionTypeSpec::export_all(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn files(dir: &Path) -> BTreeMap<PathBuf, String> {
        walk(dir, dir)
    }

    fn walk(root: &Path, dir: &Path) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return out;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(root, &path));
            } else if path.extension().is_some_and(|e| e == "ts") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.insert(path.strip_prefix(root).unwrap_or(&path).to_path_buf(), text);
            }
        }
        out
    }

    use super::*;

    #[test]
    fn generated_types_are_current() {
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/backend/generated");
        let fresh = tempfile::tempdir().expect("tempdir");
        export(fresh.path()).expect("export the types");
        let expected = files(fresh.path());
        assert!(expected.len() > 20, "ts-rs wrote {} files", expected.len());
        if std::env::var_os("UPDATE_GENERATED").is_some() {
            let _ = std::fs::remove_dir_all(&committed);
            export(&committed).expect("write the generated types");
            return;
        }
        let actual = files(&committed);
        let stale: Vec<_> = expected
            .iter()
            .filter(|(path, text)| actual.get(*path) != Some(*text))
            .map(|(path, _)| path.display().to_string())
            .chain(
                actual
                    .keys()
                    .filter(|path| !expected.contains_key(*path))
                    .map(|path| format!("{} (no longer generated)", path.display())),
            )
            .collect();
        assert!(
            stale.is_empty(),
            "ui/src/backend/generated is stale ({}); run UPDATE_GENERATED=1 cargo test -p pipewright-desktop --lib generated_types",
            stale.join(", ")
        );
    }
}
