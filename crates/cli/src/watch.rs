//! `pipewright watch [NAME]...`: local triggers. Looks at the repositories of the pipelines'
//! sources every `--interval` seconds and starts what new commits and tags call for (a V2
//! pipeline's trigger filters, or any commit of the source's branch); prints what it starts,
//! what it passes over and why, and how each execution it started ends.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use pipewright_api::Pipewright;

use crate::output::{status, style};

pub async fn watch(api: &Pipewright, names: &[String], interval: Duration) -> Result<ExitCode> {
    println!(
        "Watching the sources of {} for new commits and tags, every {:.1} s (Ctrl-C stops; executions still running then are interrupted)",
        if names.is_empty() {
            "every pipeline".to_owned()
        } else {
            names.join(", ")
        },
        interval.as_secs_f64()
    );
    let mut noted: HashSet<String> = HashSet::new();
    let mut running: Vec<(String, String)> = Vec::new();
    loop {
        let look = api.look_for_triggers(names).await?;
        for source in &look.first_seen {
            println!("  {source}");
        }
        for note in look.notes.iter().filter(|n| noted.insert((*n).clone())) {
            anstream::println!(
                "{}  {note}{}",
                style::WAITING.render(),
                style::WAITING.render_reset()
            );
        }
        for ignored in &look.ignored {
            anstream::println!(
                "{}  {ignored}{}",
                style::DIM.render(),
                style::DIM.render_reset()
            );
        }
        for started in look.started {
            anstream::println!(
                "▶ {} execution {} started: {} {}",
                started.pipeline,
                started.execution_id,
                started.trigger_type,
                started.trigger_detail
            );
            running.push((started.pipeline, started.execution_id));
        }
        let mut still = Vec::new();
        for (pipeline, id) in running {
            let execution = api.get_execution(&pipeline, &id).await?.pipeline_execution;
            if matches!(execution.status.as_str(), "InProgress" | "Stopping") {
                still.push((pipeline, id));
            } else {
                anstream::println!(
                    "{} {pipeline} execution {id}{}",
                    status(&execution.status),
                    execution
                        .status_summary
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default()
                );
            }
        }
        running = still;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
    }
}
