//! Forwarding the engine's events to an EventBridge event bus (PutEvents), with the detail-type and
//! detail exactly as CodePipeline sends them, so rules written for CodePipeline's events match
//! them. The source is the caller's: AWS keeps sources that start with `aws.` for itself.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use pipewright_api::{Error, Result};
use serde_json::Value;

use crate::raw::sdk_error;

/// The source forwarded events carry unless told otherwise.
pub const DEFAULT_SOURCE: &str = "pipewright.codepipeline";
/// PutEvents takes at most this many entries per call.
const BATCH: usize = 10;

/// Sends events to one event bus.
#[derive(Clone, Debug)]
pub struct Forwarder {
    client: Client,
    bus: String,
    source: String,
}

impl Forwarder {
    pub fn new(config: &aws_config::SdkConfig, bus: &str, source: &str) -> Forwarder {
        Forwarder {
            client: Client::new(config),
            bus: bus.to_owned(),
            source: source.to_owned(),
        }
    }

    /// Connects with the standard AWS configuration, as [`crate::AwsBackend::connect`] does.
    pub async fn connect(
        options: &crate::AwsConnection,
        bus: &str,
        source: &str,
    ) -> Result<Forwarder> {
        let config = crate::load_config(options).await?;
        Ok(Forwarder::new(&config, bus, source))
    }

    /// Puts the events on the bus, ten to a call; the number put. An entry AWS refuses is an
    /// error that names why.
    pub async fn put(&self, events: &[Value]) -> Result<usize> {
        let mut put = 0;
        for chunk in events.chunks(BATCH) {
            let entries = chunk
                .iter()
                .map(|event| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source(&self.source)
                        .detail_type(event["detail-type"].as_str().unwrap_or_default())
                        .detail(event["detail"].to_string())
                        .set_resources(event["resources"].as_array().map(|list| {
                            list.iter()
                                .filter_map(|r| r.as_str().map(str::to_owned))
                                .collect()
                        }))
                        .build()
                })
                .collect::<Vec<_>>();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(sdk_error)?;
            if out.failed_entry_count() > 0 {
                let why = out
                    .entries()
                    .iter()
                    .find_map(|e| e.error_message())
                    .unwrap_or("no reason given");
                return Err(Error::new(
                    "AwsError",
                    format!(
                        "EventBridge refused {} events: {why}",
                        out.failed_entry_count()
                    ),
                ));
            }
            put += chunk.len();
        }
        Ok(put)
    }
}
