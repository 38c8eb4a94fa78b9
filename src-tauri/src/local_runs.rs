//! Commands for running pipelines on this machine that the window cannot run as they are: the
//! local settings form (the plan a pipeline needs, saved back), the system's folder chooser for
//! it, an AWS pipeline pulled to run here, and an action of an AWS execution replayed here.

use pipewright_api::{LocalAction, LocalSettingsForm, Result};
use serde::Serialize;
use tauri::{Manager, State};
use tauri_plugin_dialog::DialogExt;
use ts_rs::TS;

use crate::Desktop;
use crate::connections::Connections;

#[tauri::command]
pub async fn local_settings_form(
    desktop: State<'_, Desktop>,
    name: String,
) -> Result<LocalSettingsForm> {
    desktop.api.local_settings_form(&name).await
}

#[tauri::command]
pub async fn save_local_settings(
    desktop: State<'_, Desktop>,
    name: String,
    actions: Vec<LocalAction>,
) -> Result<()> {
    desktop.api.save_local_settings(&name, &actions).await
}

/// A folder the user picks in the system's dialog; None when they cancel.
#[tauri::command]
pub async fn choose_folder(app: tauri::AppHandle, title: String) -> Result<Option<String>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title(title)
        .pick_folder(move |folder| {
            let _ = tx.send(folder.map(|f| f.to_string()));
        });
    Ok(rx.await.ok().flatten())
}

/// `Run locally` on an AWS pipeline: pulled and stored as a local pipeline; its local name.
#[tauri::command]
pub async fn pull_pipeline(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: String,
    name: String,
) -> Result<String> {
    let (backend, settings) = connections.aws(&connection)?;
    pipewright_aws::pull::pull_into(&desktop.api, &backend, &settings, &name).await
}

/// A replay started on this machine.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReplayStarted {
    pub pipeline: String,
    pub execution_id: String,
}

/// `Replay locally` on an action of an AWS execution.
#[tauri::command]
pub async fn replay_action(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    connection: String,
    name: String,
    stage: String,
    action: String,
    execution_id: String,
) -> Result<ReplayStarted> {
    let (backend, settings) = connections.aws(&connection)?;
    let (pipeline, execution_id) = Box::pin(pipewright_aws::replay::start(
        &desktop.api,
        &backend,
        &settings,
        &name,
        &stage,
        &action,
        Some(&execution_id),
    ))
    .await?;
    Ok(ReplayStarted {
        pipeline,
        execution_id,
    })
}

/// How often the window looks for commits and tags that start a pipeline.
const TRIGGER_LOOK: std::time::Duration = std::time::Duration::from_secs(2);

/// Local triggers while the window is open, as `pipewright watch` does them: started executions
/// reach the views and the notifications through the change feed like any other. A watcher in
/// another process and this one never start the same change twice (the store decides).
pub async fn watch_triggers(app: &tauri::AppHandle) {
    let Some(desktop) = app.try_state::<Desktop>() else {
        return;
    };
    let api = desktop.api.clone();
    let mut told = std::collections::HashSet::new();
    loop {
        match api.look_for_triggers(&[]).await {
            Ok(look) => {
                for note in look.notes {
                    if told.insert(note.clone()) {
                        eprintln!("pipewright-desktop: triggers: {note}");
                    }
                }
            }
            Err(error) => {
                if told.insert(error.message.clone()) {
                    eprintln!("pipewright-desktop: triggers: {}", error.message);
                }
            }
        }
        tokio::time::sleep(TRIGGER_LOOK).await;
    }
}
