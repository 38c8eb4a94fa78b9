//! Benchmark (prints figures, asserts nothing about speed): events stored per second while 1,000
//! actions run (10 stages of 100), and the delay from a state change being stored to a
//! subscriber in the same process reading it (p50, p99).
//!
//! cargo test -p pipewright-api --release --test events_bench -- --ignored --nocapture

use std::time::{Duration, Instant};

use pipewright_api::Pipewright;
use pipewright_api::model::{Format, PipelineDocument};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly"]
async fn events_per_second_and_subscriber_delay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let api = Pipewright::open(dir.path(), "bench").await.expect("open");
    let stages: Vec<_> = (0..10)
        .map(|s| {
            let actions: Vec<_> = (0..100)
                .map(|a| json!({"name": format!("a{a}"), "commands": ["true"],
                    "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}}))
                .collect();
            json!({"name": format!("s{s}"), "actions": actions})
        })
        .collect();
    let text = json!({"name": "bench", "pipelineType": "V2", "stages": stages}).to_string();
    let document = PipelineDocument::parse(&text, Format::Json).expect("pipeline");
    api.import(&document, None).await.expect("import");

    let mut watch = api.engine().event_watch();
    let mut after = api.last_event_seq().await.expect("seq");
    let started = Instant::now();
    let id = api
        .start("bench", &Default::default(), None)
        .await
        .expect("start");
    let mut delays = Vec::new();
    let mut count = 0usize;
    'follow: loop {
        for (seq, event) in api.events_after(after, Some(&id)).await.expect("events") {
            after = seq;
            count += 1;
            let stored = time::OffsetDateTime::parse(
                event["time"].as_str().unwrap_or_default(),
                &time::format_description::well_known::Rfc3339,
            )
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .unwrap_or(0);
            let now = api.engine().clock().now_ms();
            delays.push(now - stored);
            let detail = &event["detail"];
            if detail.get("stage").is_none() && detail["state"] != "STARTED" {
                break 'follow;
            }
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), watch.changed()).await;
    }
    let wall = started.elapsed();
    delays.sort_unstable();
    let pick = |q: f64| delays[((delays.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "events stored: {count} in {:.3} s = {:.0} events/s",
        wall.as_secs_f64(),
        count as f64 / wall.as_secs_f64()
    );
    println!(
        "state change -> subscriber delay: p50 {} ms, p99 {} ms, max {} ms",
        pick(0.5),
        pick(0.99),
        pick(1.0)
    );
    api.close().await.expect("close");
}
