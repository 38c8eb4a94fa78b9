//! `pipewright events`: the stored pipeline events, as lines or as EventBridge delivers them, and
//! the feed `on-events` and `forward-events` read them through.

use anyhow::Result;
use pipewright_api::Pipewright;
use serde_json::Value;

use crate::follow::POLL;

/// The stored events after a number, batch by batch: every one stored so far, then, with
/// `follow`, new ones as they are stored, until Ctrl-C. `events`, `on-events` and
/// `forward-events` all read events through it.
pub struct EventFeed<'a> {
    api: &'a Pipewright,
    filter: pipewright_api::EventFilter<'a>,
    /// The number of the last event handed out.
    pub after: i64,
    follow: bool,
}

impl<'a> EventFeed<'a> {
    pub fn new(
        api: &'a Pipewright,
        filter: pipewright_api::EventFilter<'a>,
        after: i64,
        follow: bool,
    ) -> EventFeed<'a> {
        EventFeed {
            api,
            filter,
            after,
            follow,
        }
    }

    /// The next batch; None when caught up without `follow`, or interrupted.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<(i64, Value)>>> {
        loop {
            let batch = self.api.events(self.after, self.filter).await?;
            if let Some((last, _)) = batch.last() {
                self.after = *last;
                return Ok(Some(batch));
            }
            if !self.follow {
                return Ok(None);
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                _ = tokio::signal::ctrl_c() => return Ok(None),
            }
        }
    }
}

/// Prints stored events after `after` that pass `filter`; with `follow`, goes on printing new
/// ones until interrupted.
pub async fn events(
    api: &Pipewright,
    filter: pipewright_api::EventFilter<'_>,
    after: i64,
    follow: bool,
    json: bool,
) -> Result<()> {
    let mut feed = EventFeed::new(api, filter, after, follow);
    while let Some(batch) = feed.next_batch().await? {
        for (seq, event) in batch {
            print_event(Some(seq), &event, json);
        }
    }
    Ok(())
}

/// One event: as EventBridge delivers it with `json`, else one line (with its number, for the
/// local engine's stored events).
pub fn print_event(seq: Option<i64>, event: &Value, json: bool) {
    if json {
        println!("{event}");
        return;
    }
    let detail = &event["detail"];
    let place = match (detail["stage"].as_str(), detail["action"].as_str()) {
        (Some(stage), Some(action)) => format!("{stage}/{action}"),
        (Some(stage), None) => stage.to_owned(),
        _ => String::new(),
    };
    let seq = seq.map(|n| n.to_string()).unwrap_or_default();
    anstream::println!(
        "{seq:>6}  {}  {:<20} {:<36} {:<28} {}",
        event["time"].as_str().unwrap_or_default(),
        detail["pipeline"].as_str().unwrap_or_default(),
        detail["execution-id"].as_str().unwrap_or_default(),
        place,
        detail["state"].as_str().unwrap_or_default()
    );
}
