//! The AWS connections the user keeps (added in the app's Settings), in a file of the data
//! directory, so the app and the CLI (`pipewright --connection NAME`) share them. A connection is
//! named as its backend is: `aws:PROFILE@REGION`.

use std::path::{Path, PathBuf};

use pipewright_api::{Backend, Error, Result};

use crate::{AwsBackend, AwsConnection};

/// The file, named for the app that first kept it.
pub fn file(data_dir: &Path) -> PathBuf {
    data_dir.join("desktop-connections.json")
}

/// The kept connections; none when there is no file, or it cannot be read.
pub fn load(data_dir: &Path) -> Vec<AwsConnection> {
    std::fs::read_to_string(file(data_dir))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

pub fn save(data_dir: &Path, connections: &[AwsConnection]) -> Result<()> {
    let text = serde_json::to_string_pretty(connections)
        .map_err(|e| Error::new("InternalError", e.to_string()))?;
    std::fs::write(file(data_dir), text).map_err(|e| {
        Error::new(
            "InternalError",
            format!("cannot save the connections in {}: {e}", data_dir.display()),
        )
    })
}

/// The kept connection called `name`, connected. Naming one takes its profile's region, which
/// reads the AWS configuration files but calls nothing.
pub async fn find(data_dir: &Path, name: &str) -> Result<(AwsConnection, AwsBackend)> {
    let mut known = Vec::new();
    for connection in load(data_dir) {
        let Ok(backend) = AwsBackend::connect(&connection).await else {
            continue;
        };
        if backend.name() == name {
            return Ok((connection, backend));
        }
        known.push(backend.name());
    }
    let known = if known.is_empty() {
        "none is kept".to_owned()
    } else {
        format!("kept: {}", known.join(", "))
    };
    Err(Error::new(
        "ConnectionNotFound",
        format!(
            "no connection {name} in {} ({known}); add it in the app's Settings, or give --aws with --profile and --region",
            file(data_dir).display()
        ),
    ))
}
