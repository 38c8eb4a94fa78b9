//! The tray icon: its colour is the worst current state of every pipeline (red: a latest execution
//! failed; amber: an approval waits; blue: something runs; green: all succeeded; grey: nothing has
//! run), and its menu lists the pipelines and the waiting approvals.

use std::sync::atomic::{AtomicBool, Ordering};

use pipewright_api::{PendingApproval, PipelineSummary};
use tauri::image::Image;
use tauri::menu::{Menu, MenuBuilder, MenuItemBuilder, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

use crate::Desktop;
use crate::navigation::{Open, open_window};

const TRAY_ID: &str = "main";
/// The icon's size in pixels; trays scale it.
const SIZE: u32 = 32;

/// The state the tray shows, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Overall {
    Failed,
    Waiting,
    Running,
    Succeeded,
    Idle,
}

impl Overall {
    /// From the statuses of every pipeline's latest execution and the number of waiting approvals.
    pub fn of<'a>(latest: impl IntoIterator<Item = &'a str>, approvals: usize) -> Overall {
        let worst = latest
            .into_iter()
            .map(|status| match status {
                "Failed" | "Stopped" => Overall::Failed,
                "InProgress" | "Stopping" => Overall::Running,
                "Succeeded" => Overall::Succeeded,
                _ => Overall::Idle,
            })
            .min()
            .unwrap_or(Overall::Idle);
        if approvals > 0 {
            worst.min(Overall::Waiting)
        } else {
            worst
        }
    }

    fn colour(self) -> [u8; 3] {
        match self {
            Overall::Failed => [0xd1, 0x24, 0x2f],
            Overall::Waiting => [0xd4, 0x8a, 0x00],
            Overall::Running => [0x1f, 0x6f, 0xeb],
            Overall::Succeeded => [0x1a, 0x7f, 0x37],
            Overall::Idle => [0x8c, 0x95, 0x9f],
        }
    }

    fn label(self) -> &'static str {
        match self {
            Overall::Failed => "a pipeline failed",
            Overall::Waiting => "an approval is waiting",
            Overall::Running => "running",
            Overall::Succeeded => "all succeeded",
            Overall::Idle => "nothing has run",
        }
    }

    /// A filled circle of the state's colour.
    fn icon(self) -> Image<'static> {
        let [r, g, b] = self.colour();
        let centre = (SIZE as f32 - 1.0) / 2.0;
        let radius = SIZE as f32 / 2.0 - 1.0;
        let mut rgba = Vec::with_capacity((SIZE * SIZE * 4) as usize);
        for y in 0..SIZE {
            for x in 0..SIZE {
                let distance = ((x as f32 - centre).powi(2) + (y as f32 - centre).powi(2)).sqrt();
                // One pixel of soft edge instead of jaggies.
                let alpha = (radius + 0.5 - distance).clamp(0.0, 1.0);
                rgba.extend_from_slice(&[r, g, b, (alpha * 255.0) as u8]);
            }
        }
        Image::new_owned(rgba, SIZE, SIZE)
    }
}

/// Creates the tray icon. A desktop without a tray (no StatusNotifier host) just shows none.
pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let menu = menu(app, &[], &[])?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Overall::Idle.icon())
        .tooltip("Pipewright")
        .menu(&menu)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .build(app)?;
    refresh(app);
    Ok(())
}

fn menu(
    app: &AppHandle,
    pipelines: &[PipelineSummary],
    approvals: &[PendingApproval],
) -> tauri::Result<Menu<Wry>> {
    let mut builder = MenuBuilder::new(app)
        .item(&MenuItemBuilder::with_id("open", "Open Pipewright").build(app)?);
    if !approvals.is_empty() {
        builder = builder.item(&PredefinedMenuItem::separator(app)?);
        for approval in approvals {
            let label = format!(
                "Approve? {} / {} / {}",
                approval.pipeline_name, approval.stage_name, approval.action_name
            );
            builder = builder.item(&MenuItemBuilder::with_id("approvals", label).build(app)?);
        }
    }
    if !pipelines.is_empty() {
        builder = builder.item(&PredefinedMenuItem::separator(app)?);
        for pipeline in pipelines {
            let status = pipeline
                .latest_execution
                .as_ref()
                .map(|e| e.status.as_str())
                .unwrap_or("never run");
            let id = format!("pipeline:{}", pipeline.name);
            builder = builder.item(
                &MenuItemBuilder::with_id(id, format!("{} — {status}", pipeline.name))
                    .build(app)?,
            );
        }
    }
    builder
        .item(&PredefinedMenuItem::separator(app)?)
        .item(&MenuItemBuilder::with_id("quit", "Quit").build(app)?)
        .build()
}

fn on_menu(app: &AppHandle, id: &str) {
    match id {
        "quit" => app.exit(0),
        "approvals" => open_window(app, Open::approvals()),
        "open" => open_window(
            app,
            Open {
                view: "pipelines".into(),
                connection: None,
                pipeline: None,
                execution_id: None,
            },
        ),
        other => {
            if let Some(name) = other.strip_prefix("pipeline:") {
                open_window(app, Open::monitor(crate::connections::LOCAL, name, None));
            }
        }
    }
}

/// Whether a refresh runs, and whether another was asked for meanwhile: a burst of events costs
/// two refreshes, and they never overlap (so an older one cannot land after a newer one).
#[derive(Debug, Default)]
pub struct Refreshing {
    running: AtomicBool,
    again: AtomicBool,
}

/// Recomputes the icon and the menu from the current state, in the background.
pub fn refresh(app: &AppHandle) {
    let refreshing = app.state::<Refreshing>();
    refreshing.again.store(true, Ordering::SeqCst);
    if refreshing.running.swap(true, Ordering::SeqCst) {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let refreshing = app.state::<Refreshing>();
        while refreshing.again.swap(false, Ordering::SeqCst) {
            redraw(&app).await;
        }
        refreshing.running.store(false, Ordering::SeqCst);
        // A request that came between the last check and the store above.
        if refreshing.again.load(Ordering::SeqCst) {
            refresh(&app);
        }
    });
}

async fn redraw(app: &AppHandle) {
    let api = app.state::<Desktop>().api.clone();
    let (Ok(list), Ok(approvals)) = (api.list_pipelines().await, api.pending_approvals().await)
    else {
        return;
    };
    let latest = list
        .pipelines
        .iter()
        .filter_map(|p| p.latest_execution.as_ref())
        .map(|e| e.status.as_str());
    let overall = Overall::of(latest, approvals.len());
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let _ = tray.set_icon(Some(overall.icon()));
    let _ = tray.set_tooltip(Some(format!("Pipewright: {}", overall.label())));
    if let Ok(menu) = menu(app, &list.pipelines, &approvals) {
        let _ = tray.set_menu(Some(menu));
    }
}

#[cfg(test)]
mod tests {
    use super::Overall;

    #[test]
    fn the_tray_shows_the_worst_state() {
        assert_eq!(Overall::of([], 0), Overall::Idle);
        assert_eq!(
            Overall::of(["Succeeded", "InProgress"], 0),
            Overall::Running
        );
        assert_eq!(
            Overall::of(["Succeeded", "InProgress"], 1),
            Overall::Waiting
        );
        assert_eq!(Overall::of(["Failed", "InProgress"], 1), Overall::Failed);
        assert_eq!(Overall::of(["Succeeded"], 0), Overall::Succeeded);
    }
}
