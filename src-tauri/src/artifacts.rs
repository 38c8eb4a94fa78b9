//! An execution's artifacts for the monitor: their names and sizes, and export as the zip
//! CodePipeline keeps in S3, to a file the user picks in the system's dialog.

use pipewright_api::{ArtifactSummary, Result};
use tauri::State;
use tauri_plugin_dialog::DialogExt;

use crate::Desktop;

#[tauri::command]
pub async fn execution_artifacts(
    desktop: State<'_, Desktop>,
    name: String,
    execution_id: String,
) -> Result<Vec<ArtifactSummary>> {
    desktop.api.artifacts(&name, &execution_id).await
}

/// Asks where to save the artifact, then writes it there; the file written, or None when the
/// user cancels.
#[tauri::command]
pub async fn export_artifact(
    app: tauri::AppHandle,
    desktop: State<'_, Desktop>,
    name: String,
    execution_id: String,
    artifact: String,
) -> Result<Option<String>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title(format!("Export {artifact}"))
        .set_file_name(format!("{artifact}.zip"))
        .save_file(move |file| {
            let _ = tx.send(file.map(|f| f.to_string()));
        });
    let Some(to) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    desktop
        .api
        .export_artifact(&name, &execution_id, &artifact, std::path::Path::new(&to))
        .await?;
    Ok(Some(to))
}
