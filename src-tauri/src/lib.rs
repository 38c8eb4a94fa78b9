//! The desktop shell: Tauri commands that are thin wrappers over the `pipewright_api` facade,
//! Channels that stream changes and logs to the window, desktop notifications and the tray.
//!
//! Architecture invariant: no business rule lives here. A command turns its arguments into one
//! facade call and its result into a DTO or an `{code, message}` error; anything smarter belongs
//! in `pipewright-api`, where the CLI and `pipewright serve` get it too.

mod artifacts;
pub mod bindings;
mod commands;
mod connections;
mod local_runs;
mod navigation;
mod notifications;
mod rendering;
mod streams;
mod tray;

use pipewright_api::Pipewright;
use tauri::Manager;

/// What every command reaches through `tauri::State`.
#[derive(Debug)]
pub struct Desktop {
    pub api: Pipewright,
}

pub fn run() {
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let data_dir = pipewright_api::default_data_dir();
            let actor = pipewright_api::local_actor("desktop");
            // S3 actions with `s3: true` reach real buckets through the AWS SDK.
            let options = pipewright_api::engine::EngineOptions {
                objects: Some(std::sync::Arc::new(pipewright_aws::s3::S3Objects::new())),
                remote_values: Some(std::sync::Arc::new(
                    pipewright_aws::stored_values::AwsStoredValues::new(),
                )),
                ..pipewright_api::engine::EngineOptions::new(&data_dir)
            };
            let api = tauri::async_runtime::block_on(Pipewright::open_with(options, actor))
                .map_err(|error| {
                    format!(
                        "cannot open the data directory {}: {error}",
                        data_dir.display()
                    )
                })?;
            let settings = notifications::NotificationSettings::load(api.data_dir());
            app.manage(Desktop { api });
            app.manage(notifications::Settings(std::sync::Mutex::new(settings)));
            app.manage(navigation::Navigation::default());
            app.manage(streams::Streams::default());
            app.manage(notifications::Shown::default());
            app.manage(tray::Refreshing::default());
            app.manage(connections::Connections::default());
            app.manage(streams::AwsChanges::default());
            if let Err(error) = tray::create(app.handle()) {
                // No tray on this desktop: the window and the notifications still work.
                eprintln!("pipewright-desktop: no tray icon: {error}");
            }
            notifications::start(app.handle().clone());
            if let Some(window) = app.get_webview_window("main") {
                rendering::apply(&window);
            }
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move { connections::restore(&handle).await });
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move { local_runs::watch_triggers(&handle).await });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_pipelines,
            commands::get_pipeline,
            commands::parse_pipeline,
            commands::render_pipeline,
            commands::validate_pipeline,
            commands::save_pipeline,
            commands::get_pipeline_state,
            commands::list_executions,
            commands::get_execution,
            commands::list_action_executions,
            commands::start_execution,
            commands::stop_execution,
            commands::retry_stage,
            commands::rollback_stage,
            commands::set_transition,
            commands::pending_approvals,
            commands::put_approval_result,
            commands::stage_statuses,
            commands::list_reports,
            commands::plan_pipeline,
            commands::push_pipeline,
            local_runs::local_settings_form,
            local_runs::save_local_settings,
            local_runs::choose_folder,
            artifacts::execution_artifacts,
            artifacts::export_artifact,
            local_runs::pull_pipeline,
            local_runs::replay_action,
            streams::watch_changes,
            streams::follow_log,
            streams::unfollow,
            navigation::watch_navigation,
            notifications::notification_settings,
            notifications::set_notification_settings,
            connections::list_connections,
            connections::add_aws_connection,
            connections::remove_connection,
        ])
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            eprintln!("pipewright-desktop: cannot start: {error}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(desktop) = handle.try_state::<Desktop>()
        {
            // Executions this window started are interrupted; the next process settles them.
            let _ = tauri::async_runtime::block_on(desktop.api.close());
        }
    });
}
