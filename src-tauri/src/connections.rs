//! Where the window's pipelines live: the local engine, and the AWS connections the user added
//! (a profile, a region, and another endpoint if wanted). Every view lists all of them; a command
//! about one pipeline names its connection. Kept in the data directory (`pipewright_aws::saved`),
//! where the CLI's `--connection` finds them too. Each AWS connection is watched
//! (`pipewright_aws::watch`) so its changes reach the window and the notifications as the local
//! engine's do.

use std::path::Path;
use std::sync::{Arc, RwLock};

use pipewright_api::{Backend, Error, Result};
use pipewright_aws::AwsBackend;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, State};
use ts_rs::TS;

use crate::Desktop;

/// The name of the local engine's connection.
pub const LOCAL: &str = "local";

/// An AWS connection as the user describes it (`pipewright_aws::AwsConnection`, for the window).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct AwsConnection {
    #[ts(optional)]
    pub profile: Option<String>,
    #[ts(optional)]
    pub region: Option<String>,
    #[ts(optional)]
    pub endpoint_url: Option<String>,
}

impl AwsConnection {
    fn to_aws(&self) -> pipewright_aws::AwsConnection {
        pipewright_aws::AwsConnection {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }

    fn from_aws(kept: pipewright_aws::AwsConnection) -> AwsConnection {
        AwsConnection {
            profile: kept.profile,
            region: kept.region,
            endpoint_url: kept.endpoint_url,
        }
    }
}

/// A connection as the window shows it.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// `local`, or `aws:PROFILE@REGION`.
    pub name: String,
    #[ts(optional)]
    pub aws: Option<AwsConnection>,
}

struct Connected {
    settings: AwsConnection,
    backend: Arc<AwsBackend>,
    watcher: tauri::async_runtime::JoinHandle<()>,
    /// Makes the watcher look at a pipeline at once.
    nudge: pipewright_aws::watch::Nudge,
}

/// The AWS connections in use.
#[derive(Default)]
pub struct Connections(RwLock<Vec<Connected>>);

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connections")
    }
}

impl Connections {
    /// The backend of a connection: the local engine for None or `local`.
    pub fn backend(&self, desktop: &Desktop, name: Option<&str>) -> Result<Arc<dyn Backend>> {
        match name {
            None | Some(LOCAL) => Ok(Arc::new(desktop.api.clone())),
            Some(name) => self
                .0
                .read()
                .ok()
                .and_then(|all| {
                    all.iter()
                        .find(|c| c.backend.name() == name)
                        .map(|c| c.backend.clone() as Arc<dyn Backend>)
                })
                .ok_or_else(|| {
                    Error::new(
                        "ConnectionNotFound",
                        format!("no connection {name}; add it under Settings"),
                    )
                }),
        }
    }

    /// An AWS connection's backend and settings, for what only AWS has (pulling a pipeline,
    /// replaying an action).
    pub fn aws(&self, name: &str) -> Result<(Arc<AwsBackend>, pipewright_aws::AwsConnection)> {
        self.0
            .read()
            .ok()
            .and_then(|all| {
                all.iter()
                    .find(|c| c.backend.name() == name)
                    .map(|c| (c.backend.clone(), c.settings.to_aws()))
            })
            .ok_or_else(|| {
                Error::new(
                    "ConnectionNotFound",
                    format!("no AWS connection {name}; add it under Settings"),
                )
            })
    }

    /// Tells a connection's watcher to look at a pipeline now: the user just changed something
    /// there.
    pub fn nudge(&self, name: Option<&str>, pipeline: &str) {
        if let Ok(all) = self.0.read()
            && let Some(connected) = all.iter().find(|c| Some(c.backend.name().as_str()) == name)
        {
            connected.nudge.pipeline(pipeline);
        }
    }

    /// Every backend, the local engine first.
    pub fn all(&self, desktop: &Desktop) -> Vec<Arc<dyn Backend>> {
        let mut all: Vec<Arc<dyn Backend>> = vec![Arc::new(desktop.api.clone())];
        if let Ok(connected) = self.0.read() {
            all.extend(
                connected
                    .iter()
                    .map(|c| c.backend.clone() as Arc<dyn Backend>),
            );
        }
        all
    }

    /// Keeps the connections where the CLI's `--connection` finds them too.
    fn save(&self, data_dir: &Path) -> Result<()> {
        let settings: Vec<pipewright_aws::AwsConnection> = self
            .0
            .read()
            .map(|all| all.iter().map(|c| c.settings.to_aws()).collect())
            .unwrap_or_default();
        pipewright_aws::saved::save(data_dir, &settings)
    }
}

/// Connects the saved AWS connections (one that fails to connect is left out, with a note).
pub async fn restore(app: &AppHandle) {
    let desktop = app.state::<Desktop>();
    let saved = pipewright_aws::saved::load(desktop.api.data_dir());
    for settings in saved.into_iter().map(AwsConnection::from_aws) {
        if let Err(error) = connect(app, settings).await {
            eprintln!("pipewright-desktop: an AWS connection was not restored: {error}");
        }
    }
}

async fn connect(app: &AppHandle, settings: AwsConnection) -> Result<String> {
    let backend = Arc::new(AwsBackend::connect(&settings.to_aws()).await?);
    // A connection that cannot list pipelines is not worth keeping: say why now.
    backend.list_pipelines().await?;
    let name = backend.name();
    let nudge = pipewright_aws::watch::Nudge::new();
    let watcher = crate::notifications::watch_aws(app.clone(), backend.clone(), nudge.clone());
    let connections = app.state::<Connections>();
    if let Ok(mut all) = connections.0.write() {
        if let Some(at) = all.iter().position(|c| c.backend.name() == name) {
            all.remove(at).watcher.abort();
        }
        all.push(Connected {
            settings,
            backend,
            watcher,
            nudge,
        });
    }
    Ok(name)
}

#[tauri::command]
pub fn list_connections(connections: State<'_, Connections>) -> Vec<ConnectionInfo> {
    let mut out = vec![ConnectionInfo {
        name: LOCAL.to_owned(),
        aws: None,
    }];
    if let Ok(all) = connections.0.read() {
        out.extend(all.iter().map(|c| ConnectionInfo {
            name: c.backend.name(),
            aws: Some(c.settings.clone()),
        }));
    }
    out
}

#[tauri::command]
pub async fn add_aws_connection(app: AppHandle, settings: AwsConnection) -> Result<String> {
    let name = connect(&app, settings).await?;
    app.state::<Connections>()
        .save(app.state::<Desktop>().api.data_dir())?;
    Ok(name)
}

#[tauri::command]
pub fn remove_connection(
    desktop: State<'_, Desktop>,
    connections: State<'_, Connections>,
    name: String,
) -> Result<()> {
    if let Ok(mut all) = connections.0.write()
        && let Some(at) = all.iter().position(|c| c.backend.name() == name)
    {
        all.remove(at).watcher.abort();
    }
    connections.save(desktop.api.data_dir())
}
