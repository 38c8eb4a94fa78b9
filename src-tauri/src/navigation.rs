//! Bringing the window forward on a view, from outside it: a notification's Open, a tray menu
//! item. The UI registers a Channel (`watch_navigation`) through which it is told where to go.

use std::sync::Mutex;

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager};
use ts_rs::TS;

/// A view to show, and the pipeline and execution it is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Open {
    /// `pipelines`, `monitor` or `approvals`.
    pub view: String,
    /// Where the pipeline lives: `local`, or an AWS connection's name.
    #[ts(optional)]
    pub connection: Option<String>,
    #[ts(optional)]
    pub pipeline: Option<String>,
    #[ts(optional)]
    pub execution_id: Option<String>,
}

impl Open {
    pub fn monitor(connection: &str, pipeline: &str, execution_id: Option<&str>) -> Open {
        Open {
            view: "monitor".into(),
            connection: Some(connection.into()),
            pipeline: Some(pipeline.into()),
            execution_id: execution_id.map(str::to_owned),
        }
    }

    pub fn approvals() -> Open {
        Open {
            view: "approvals".into(),
            connection: None,
            pipeline: None,
            execution_id: None,
        }
    }
}

/// The Channel of the page that listens, if one does (a reload registers a new one).
#[derive(Default)]
pub struct Navigation(Mutex<Option<Channel<Open>>>);

impl std::fmt::Debug for Navigation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Navigation")
    }
}

#[tauri::command]
pub fn watch_navigation(navigation: tauri::State<'_, Navigation>, channel: Channel<Open>) {
    if let Ok(mut slot) = navigation.0.lock() {
        *slot = Some(channel);
    }
}

/// Shows, raises and focuses the main window, on the view `open` names.
pub fn open_window(app: &AppHandle, open: Open) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
    if let Ok(slot) = app.state::<Navigation>().0.lock()
        && let Some(channel) = slot.as_ref()
    {
        let _ = channel.send(open);
    }
}
