//! Desktop notifications (notify-rust, over the session D-Bus): an approval starts waiting (with
//! Approve, Reject and Open that work from the notification itself), an execution fails (Open).
//! The user's settings mute them, filter them by pipeline, or snooze them for a while.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use notify_rust::{Notification, Timeout};
use std::sync::Arc;

use pipewright_api::{Backend, Error, PendingApproval, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tauri::{AppHandle, Manager};
use ts_rs::TS;

use crate::Desktop;
use crate::navigation::{Open, open_window};

/// What the user chose about notifications. Kept in `desktop-settings.json` in the data directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct NotificationSettings {
    /// No notification at all.
    pub muted: bool,
    /// Pipelines whose approvals and failures do not notify.
    pub muted_pipelines: Vec<String>,
    /// No notification before this time (ms since the epoch).
    #[ts(optional)]
    pub snoozed_until_ms: Option<i64>,
}

impl NotificationSettings {
    /// Whether something about `pipeline` may notify at `now_ms`.
    pub fn allows(&self, pipeline: &str, now_ms: i64) -> bool {
        !self.muted
            && !self.muted_pipelines.iter().any(|p| p == pipeline)
            && self.snoozed_until_ms.is_none_or(|until| now_ms >= until)
    }

    fn file(data_dir: &Path) -> PathBuf {
        data_dir.join("desktop-settings.json")
    }

    /// The saved settings; the defaults when there are none, or when the file cannot be read (the
    /// user sees and can fix them in the settings view).
    pub fn load(data_dir: &Path) -> NotificationSettings {
        std::fs::read_to_string(Self::file(data_dir))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, data_dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::new("InternalError", e.to_string()))?;
        let file = Self::file(data_dir);
        // Written whole and renamed into place, so a crash never leaves half a file.
        let partial = file.with_extension("json.partial");
        std::fs::write(&partial, text)
            .and_then(|()| std::fs::rename(&partial, &file))
            .map_err(|e| {
                Error::new(
                    "InternalError",
                    format!("cannot save {}: {e}", file.display()),
                )
            })
    }
}

/// The notification settings in force, shared by the watcher and the settings commands.
#[derive(Debug, Default)]
pub struct Settings(pub Mutex<NotificationSettings>);

impl Settings {
    pub fn current(&self) -> NotificationSettings {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[tauri::command]
pub fn notification_settings(settings: tauri::State<'_, Settings>) -> NotificationSettings {
    settings.current()
}

#[tauri::command]
pub fn set_notification_settings(
    desktop: tauri::State<'_, Desktop>,
    settings: tauri::State<'_, Settings>,
    new: NotificationSettings,
) -> Result<()> {
    new.save(desktop.api.data_dir())?;
    if let Ok(mut current) = settings.0.lock() {
        *current = new;
    }
    Ok(())
}

/// What an event asks to tell the user, if anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    ApprovalWaiting(ApprovalKey),
    ExecutionFailed {
        pipeline: String,
        execution_id: String,
    },
    /// An approval ended (decided anywhere, expired or abandoned): its notification has nothing
    /// left to ask.
    ApprovalEnded(ApprovalKey),
}

/// Which approval a notification is about: one action of one execution.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApprovalKey {
    pub pipeline: String,
    pub stage: String,
    pub action: String,
    pub execution_id: String,
}

impl Notice {
    /// Reads an EventBridge-shaped event: an approval action that started, or an execution that failed.
    pub fn from_event(event: &Value) -> Option<Notice> {
        let detail = &event["detail"];
        let text = |key: &str| detail[key].as_str().map(str::to_owned);
        let state = detail["state"].as_str()?;
        let approval = || {
            Some(ApprovalKey {
                pipeline: text("pipeline")?,
                stage: text("stage")?,
                action: text("action")?,
                execution_id: text("execution-id")?,
            })
        };
        let is_approval =
            detail["type"]["category"] == "Approval" && detail["type"]["provider"] == "Manual";
        match event["detail-type"].as_str()? {
            "CodePipeline Action Execution State Change" if is_approval && state == "STARTED" => {
                Some(Notice::ApprovalWaiting(approval()?))
            }
            "CodePipeline Action Execution State Change" if is_approval => {
                Some(Notice::ApprovalEnded(approval()?))
            }
            "CodePipeline Pipeline Execution State Change" if state == "FAILED" => {
                Some(Notice::ExecutionFailed {
                    pipeline: text("pipeline")?,
                    execution_id: text("execution-id")?,
                })
            }
            _ => None,
        }
    }

    fn pipeline(&self) -> &str {
        match self {
            Notice::ApprovalWaiting(key) | Notice::ApprovalEnded(key) => &key.pipeline,
            Notice::ExecutionFailed { pipeline, .. } => pipeline,
        }
    }
}

/// Watches the engine's events for as long as the app runs and raises the notifications.
pub fn start(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let api = app.state::<Desktop>().api.clone();
        let local: Arc<dyn Backend> = Arc::new(api.clone());
        let handle = app.clone();
        let _ = crate::streams::each_event_batch(&api, move |events| {
            let events: Vec<Value> = events.into_iter().map(|(_, event)| event).collect();
            raise(&handle, &local, &events);
            true
        })
        .await;
    });
}

/// Watches an AWS connection for as long as it is kept: its changes go to the window's change
/// stream and raise the same notifications as the local engine's.
pub fn watch_aws(
    app: AppHandle,
    backend: Arc<pipewright_aws::AwsBackend>,
    nudge: pipewright_aws::watch::Nudge,
) -> tauri::async_runtime::JoinHandle<()> {
    tauri::async_runtime::spawn(async move {
        let name = backend.name();
        let as_backend: Arc<dyn Backend> = backend.clone();
        let handle = app.clone();
        let pacing = pipewright_aws::watch::Pacing::default();
        let result =
            pipewright_aws::watch::watch(&backend, &[], pacing, Some(&nudge), move |events| {
                let _ = handle
                    .state::<crate::streams::AwsChanges>()
                    .0
                    .send((name.clone(), events.clone()));
                raise(&handle, &as_backend, &events);
                true
            })
            .await;
        if let Err(error) = result {
            eprintln!("pipewright-desktop: stopped watching an AWS connection: {error}");
        }
    })
}

/// Refreshes the tray and raises the notifications a batch of events asks for.
fn raise(app: &AppHandle, backend: &Arc<dyn Backend>, events: &[Value]) {
    crate::tray::refresh(app);
    let notices: Vec<Notice> = events.iter().filter_map(Notice::from_event).collect();
    if notices.is_empty() {
        return;
    }
    let app = app.clone();
    let backend = backend.clone();
    tauri::async_runtime::spawn(async move {
        for notice in notices {
            notify(&app, &backend, notice).await;
        }
    });
}

async fn notify(app: &AppHandle, backend: &Arc<dyn Backend>, notice: Notice) {
    let desktop = app.state::<Desktop>();
    if let Notice::ApprovalEnded(key) = &notice {
        // Whatever the settings say now: a notification that is up must not offer a dead Approve.
        retire(app, key);
        return;
    }
    let now = desktop.api.engine().clock().now_ms();
    if !app
        .state::<Settings>()
        .current()
        .allows(notice.pipeline(), now)
    {
        return;
    }
    match notice {
        Notice::ApprovalWaiting(key) => {
            let waiting = backend.pending_approvals().await.unwrap_or_default();
            let Some(approval) = waiting.into_iter().find(|a| {
                a.pipeline_name == key.pipeline
                    && a.stage_name == key.stage
                    && a.action_name == key.action
                    && a.pipeline_execution_id == key.execution_id
            }) else {
                // Decided (or expired) before the notification went out: nothing to ask.
                return;
            };
            approval_notification(app.clone(), backend.clone(), key, approval);
        }
        Notice::ApprovalEnded(_) => {}
        Notice::ExecutionFailed {
            pipeline,
            execution_id,
        } => {
            let summary = backend
                .get_execution(&pipeline, &execution_id)
                .await
                .ok()
                .and_then(|out| out.pipeline_execution.status_summary)
                .unwrap_or_else(|| "An action failed.".to_owned());
            let mut notification = Notification::new();
            notification
                .appname("Pipewright")
                .summary(&format!("{pipeline} failed"))
                .body(&escape_markup(&summary))
                .action("default", "Open")
                .timeout(Timeout::Never);
            let open = Open::monitor(&backend.name(), &pipeline, Some(&execution_id));
            show(
                app.clone(),
                notification,
                |_| {},
                move |app, action| {
                    if action == "default" {
                        open_window(app, open);
                    }
                },
            );
        }
    }
}

/// The notifications on screen that ask about an approval, by approval: the server's id for each.
#[derive(Debug, Default)]
pub struct Shown(Mutex<HashMap<ApprovalKey, u32>>);

/// Replaces an approval's notification, if one is up, with one that says it was decided and asks
/// nothing (the server closes it shortly).
fn retire(app: &AppHandle, key: &ApprovalKey) {
    let id = app
        .state::<Shown>()
        .0
        .lock()
        .ok()
        .and_then(|mut shown| shown.remove(key));
    if let Some(id) = id {
        let body = format!(
            "{} / {} / {} no longer waits for a decision.",
            key.pipeline, key.stage, key.action
        );
        std::thread::spawn(move || {
            let _ = Notification::new()
                .id(id)
                .appname("Pipewright")
                .summary("Approval decided")
                .body(&escape_markup(&body))
                .timeout(Timeout::Milliseconds(5_000))
                .show();
        });
    }
}

fn approval_notification(
    app: AppHandle,
    backend: Arc<dyn Backend>,
    key: ApprovalKey,
    approval: PendingApproval,
) {
    let mut body = format!(
        "{} / {} / {}",
        approval.pipeline_name, approval.stage_name, approval.action_name
    );
    for revision in &approval.artifact_revisions {
        body.push('\n');
        body.push_str(&revision.one_line());
    }
    if let Some(data) = &approval.custom_data {
        body.push_str("\n\n");
        body.push_str(data);
    }
    if let Some(link) = &approval.external_entity_link {
        body.push_str("\n\n");
        body.push_str(link);
    }
    // Notification servers may read the body as markup; what the pipeline's author wrote is text.
    let body = escape_markup(&body);
    let mut notification = Notification::new();
    notification
        .appname("Pipewright")
        .summary("Approval needed")
        .body(&body)
        .action("approve", "Approve")
        .action("reject", "Reject")
        .action("default", "Open")
        .timeout(Timeout::Never);
    let on_shown = {
        let app = app.clone();
        let key = key.clone();
        move |id: u32| {
            if let Ok(mut shown) = app.state::<Shown>().0.lock() {
                shown.insert(key, id);
            }
        }
    };
    show(app, notification, on_shown, move |app, action| {
        if let Ok(mut shown) = app.state::<Shown>().0.lock() {
            shown.remove(&key);
        }
        let approved = match action {
            "approve" => true,
            "reject" => false,
            "default" => {
                open_window(app, Open::approvals());
                return;
            }
            _ => return,
        };
        let result = tauri::async_runtime::block_on(backend.put_approval_result(
            &approval.pipeline_name,
            &approval.stage_name,
            &approval.action_name,
            &approval.token,
            approved,
            if approved {
                "Approved from the desktop notification"
            } else {
                "Rejected from the desktop notification"
            },
        ));
        if let Err(error) = result {
            // Decided elsewhere meanwhile, most likely: say so rather than fail silently.
            let _ = Notification::new()
                .appname("Pipewright")
                .summary("The approval was not recorded")
                .body(&error.message)
                .show();
        }
    });
}

fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Shows a notification and waits, on a thread of its own, for the user to act on it (or for it
/// to close). `on_shown` gets the server's id for it.
fn show(
    app: AppHandle,
    notification: Notification,
    on_shown: impl FnOnce(u32) + Send + 'static,
    on_action: impl FnOnce(&AppHandle, &str) + Send + 'static,
) {
    std::thread::spawn(move || match notification.show() {
        Ok(handle) => {
            on_shown(handle.id());
            handle.wait_for_action(|action| on_action(&app, action));
        }
        Err(error) => eprintln!("pipewright-desktop: cannot show a notification: {error}"),
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_approval_notifies_when_it_starts_waiting_and_is_retired_when_it_ends() {
        let event = json!({
            "detail-type": "CodePipeline Action Execution State Change",
            "detail": {"pipeline": "web", "execution-id": "e1", "stage": "Release", "action": "Approve",
                       "state": "STARTED", "type": {"category": "Approval", "provider": "Manual"}}
        });
        let key = ApprovalKey {
            pipeline: "web".into(),
            stage: "Release".into(),
            action: "Approve".into(),
            execution_id: "e1".into(),
        };
        assert_eq!(
            Notice::from_event(&event),
            Some(Notice::ApprovalWaiting(key.clone()))
        );
        let decided = json!({
            "detail-type": "CodePipeline Action Execution State Change",
            "detail": {"pipeline": "web", "execution-id": "e1", "stage": "Release", "action": "Approve",
                       "state": "SUCCEEDED", "type": {"category": "Approval", "provider": "Manual"}}
        });
        assert_eq!(
            Notice::from_event(&decided),
            Some(Notice::ApprovalEnded(key))
        );
        let build = json!({
            "detail-type": "CodePipeline Action Execution State Change",
            "detail": {"pipeline": "web", "execution-id": "e1", "stage": "Build", "action": "Make",
                       "state": "STARTED", "type": {"category": "Build", "provider": "CodeBuild"}}
        });
        assert_eq!(Notice::from_event(&build), None);
    }

    #[test]
    fn only_a_failed_execution_notifies() {
        let failed = json!({"detail-type": "CodePipeline Pipeline Execution State Change",
                            "detail": {"pipeline": "web", "execution-id": "e2", "state": "FAILED"}});
        assert!(matches!(
            Notice::from_event(&failed),
            Some(Notice::ExecutionFailed { .. })
        ));
        let ok = json!({"detail-type": "CodePipeline Pipeline Execution State Change",
                        "detail": {"pipeline": "web", "execution-id": "e2", "state": "SUCCEEDED"}});
        assert_eq!(Notice::from_event(&ok), None);
    }

    #[test]
    fn mute_filter_and_snooze_hold_notifications_back() {
        let mut settings = NotificationSettings::default();
        assert!(settings.allows("web", 1_000));
        settings.muted_pipelines = vec!["web".into()];
        assert!(!settings.allows("web", 1_000));
        assert!(settings.allows("api", 1_000));
        settings.snoozed_until_ms = Some(5_000);
        assert!(!settings.allows("api", 4_999));
        assert!(settings.allows("api", 5_000));
        settings.muted = true;
        assert!(!settings.allows("api", 9_000));
    }

    #[test]
    fn what_a_pipeline_author_wrote_is_not_read_as_markup() {
        assert_eq!(
            escape_markup("<b>ship</b> & go"),
            "&lt;b&gt;ship&lt;/b&gt; &amp; go"
        );
    }

    #[test]
    fn settings_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            NotificationSettings::load(dir.path()),
            NotificationSettings::default()
        );
        let settings = NotificationSettings {
            muted: false,
            muted_pipelines: vec!["noisy".into()],
            snoozed_until_ms: Some(42),
        };
        settings.save(dir.path()).expect("save");
        assert_eq!(NotificationSettings::load(dir.path()), settings);
    }
}
