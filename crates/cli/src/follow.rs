//! Following an execution as it runs: one line per state change (or the raw events as JSON lines),
//! a failed action's last log lines, an interactive approval prompt when a person is at the
//! terminal, and an exit code that says how it ended. Ctrl-C stops the execution, abandoning what
//! runs, so no process is left behind.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use pipewright_api::Pipewright;
use serde_json::Value;

use crate::output::{status, style};

/// How often events stored by another process are looked for.
const POLL: Duration = Duration::from_millis(100);

fn clock(time: &str) -> &str {
    time.get(11..19).unwrap_or(time)
}

fn state_word(state: &str) -> &'static str {
    match state {
        "STARTED" | "RESUMED" => "InProgress",
        "SUCCEEDED" => "Succeeded",
        "FAILED" => "Failed",
        "STOPPING" => "Stopping",
        "STOPPED" => "Stopped",
        "ABANDONED" => "Abandoned",
        "SUPERSEDED" => "Superseded",
        "CANCELED" => "Cancelled",
        _ => "Unknown",
    }
}

/// Follows from the event after `after` (0 for a new execution; the newest event's number for a
/// retried one, whose earlier events were already shown).
pub async fn follow(
    api: &Pipewright,
    name: &str,
    execution_id: &str,
    after: i64,
    json: bool,
) -> Result<ExitCode> {
    let mut after = after;
    let mut started_at: HashMap<String, i64> = HashMap::new();
    let interactive = !json && std::io::stdin().is_terminal();
    if !json {
        anstream::println!(
            "{}▶ {name}{} execution {execution_id}",
            style::BOLD.render(),
            style::BOLD.render_reset()
        );
    }
    let mut watch = api.engine().event_watch();
    let final_status = loop {
        let events = api.events_after(after, Some(execution_id)).await?;
        let mut finished = None;
        for (seq, event) in events {
            after = seq;
            if json {
                println!("{event}");
            } else {
                show(api, &event, &mut started_at, interactive).await?;
            }
            let detail = &event["detail"];
            if event["detail-type"] == pipewright_api::engine::events::PIPELINE_DETAIL_TYPE {
                let state = detail["state"].as_str().unwrap_or_default();
                if !matches!(state, "STARTED" | "RESUMED" | "STOPPING") {
                    finished = Some(state_word(state).to_owned());
                }
            }
        }
        if let Some(status) = finished {
            api.engine().finished(execution_id).await;
            break status;
        }
        tokio::select! {
            _ = watch.changed() => {}
            () = tokio::time::sleep(POLL) => {}
            _ = tokio::signal::ctrl_c() => {
                anstream::eprintln!("{}Interrupted: stopping the execution and abandoning its running actions{}", style::WAITING.render(), style::WAITING.render_reset());
                api.engine().stop_all("Interrupted (Ctrl-C in the terminal running it)").await?;
            }
        }
    };
    if !json {
        let row = api.execution_row(execution_id).await?;
        let took = row
            .as_ref()
            .and_then(|r| r.ended_ms.map(|end| end - r.started_ms))
            .unwrap_or(0);
        let summary = row
            .and_then(|r| r.summary)
            .map(|s| format!(": {s}"))
            .unwrap_or_default();
        anstream::println!(
            "{} {name} in {:.2}s{summary}",
            status(&final_status),
            took as f64 / 1000.0
        );
        if final_status == "Failed" {
            println!("Retry with: pipewright retry {name} STAGE   (see `pipewright state {name}`)");
        }
    }
    // A failed stage may have started a rollback in this process: follow it to its end too.
    if let Some(rollback) = api.engine().rollback_of(execution_id).await {
        Box::pin(follow(api, name, &rollback, 0, json)).await?;
    }
    Ok(if final_status == "Succeeded" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn show(
    api: &Pipewright,
    event: &Value,
    started_at: &mut HashMap<String, i64>,
    interactive: bool,
) -> Result<()> {
    let detail = &event["detail"];
    let time = clock(event["time"].as_str().unwrap_or_default()).to_owned();
    let state = detail["state"].as_str().unwrap_or_default();
    let stage = detail["stage"].as_str().unwrap_or_default();
    let action = detail["action"].as_str();
    let word = state_word(state);
    let now = event_ms(event);
    match action {
        None if stage.is_empty() => {}
        None => {
            let key = stage.to_owned();
            let took = elapsed(started_at, &key, state, now);
            anstream::println!(
                "{}{time}{}  {:<30} {}{took}",
                style::DIM.render(),
                style::DIM.render_reset(),
                stage,
                status(word)
            );
        }
        Some(action) => {
            let key = format!("{stage}/{action}");
            let took = elapsed(started_at, &key, state, now);
            let provider = detail["type"]["provider"].as_str().unwrap_or_default();
            anstream::println!(
                "{}{time}{}    {:<28} {}{took}",
                style::DIM.render(),
                style::DIM.render_reset(),
                key,
                status(word)
            );
            let execution_id = detail["execution-id"].as_str().unwrap_or_default();
            let pipeline = detail["pipeline"].as_str().unwrap_or_default();
            if state == "STARTED" && provider == "Manual" {
                approval_waiting(api, pipeline, stage, action, execution_id, interactive).await?;
            }
            if state == "FAILED" {
                failure_details(api, execution_id, stage, action).await?;
            }
        }
    }
    Ok(())
}

/// When the event happened, from its EventBridge `time`.
fn event_ms(event: &Value) -> i64 {
    let text = event["time"].as_str().unwrap_or_default();
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0)
}

fn elapsed(started_at: &mut HashMap<String, i64>, key: &str, state: &str, now: i64) -> String {
    if state == "STARTED" || state == "RESUMED" {
        started_at.insert(key.to_owned(), now);
        return String::new();
    }
    match started_at.get(key) {
        Some(start) => format!(
            "  {}({:.2}s){}",
            style::DIM.render(),
            (now - start) as f64 / 1000.0,
            style::DIM.render_reset()
        ),
        None => String::new(),
    }
}

async fn approval_waiting(
    api: &Pipewright,
    pipeline: &str,
    stage: &str,
    action: &str,
    execution_id: &str,
    interactive: bool,
) -> Result<()> {
    let pending = api.pending_approvals().await?;
    let Some(approval) = pending.into_iter().find(|a| {
        a.pipeline_execution_id == execution_id && a.stage_name == stage && a.action_name == action
    }) else {
        return Ok(());
    };
    if let Some(data) = &approval.custom_data {
        anstream::println!(
            "        {}{data}{}",
            style::WAITING.render(),
            style::WAITING.render_reset()
        );
    }
    if let Some(link) = &approval.external_entity_link {
        anstream::println!("        {link}");
    }
    anstream::println!(
        "        {}waiting for approval: pipewright approve {pipeline} {stage} {action}  (or reject){}",
        style::WAITING.render(),
        style::WAITING.render_reset()
    );
    if interactive {
        // The prompt reads stdin on its own thread: an approval given from another terminal must
        // not wait for this one's keyboard.
        let api = api.clone();
        let (pipeline, stage, action, token) = (
            pipeline.to_owned(),
            stage.to_owned(),
            action.to_owned(),
            approval.token,
        );
        let handle = tokio::runtime::Handle::current();
        std::thread::spawn(move || {
            eprint!(
                "        Approve {stage}/{action}? [a]pprove / [r]eject / Enter to leave it waiting: "
            );
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() {
                return;
            }
            let approved = match line.trim().to_ascii_lowercase().as_str() {
                "a" | "approve" | "y" | "yes" => true,
                "r" | "reject" | "n" | "no" => false,
                _ => return,
            };
            let result = handle.block_on(api.put_approval_result(
                &pipeline,
                &stage,
                &action,
                &token,
                approved,
                "from the terminal",
            ));
            if let Err(error) = result {
                eprintln!("        {error}");
            }
        });
    }
    Ok(())
}

/// The failed action's summary and the last lines of its log.
async fn failure_details(
    api: &Pipewright,
    execution_id: &str,
    stage: &str,
    action: &str,
) -> Result<()> {
    let rows = api.action_execution_rows(execution_id).await?;
    let Some(row) = rows
        .iter()
        .rev()
        .find(|r| r.stage == stage && r.action == action)
    else {
        return Ok(());
    };
    if let Some(summary) = &row.summary {
        anstream::println!(
            "        {}{summary}{}",
            style::ERROR.render(),
            style::ERROR.render_reset()
        );
    }
    let lines = api.logs(&row.id, 0).await?;
    let tail = lines.len().saturating_sub(10);
    for line in &lines[tail..] {
        anstream::println!(
            "        {}│{} {}",
            style::DIM.render(),
            style::DIM.render_reset(),
            line.line
        );
    }
    Ok(())
}

pub async fn logs(
    api: &Pipewright,
    name: &str,
    execution_id: &str,
    only: Option<&str>,
    follow: bool,
) -> Result<ExitCode> {
    api.get_execution(name, execution_id).await?;
    let mut printed: HashMap<String, i64> = HashMap::new();
    loop {
        let rows = api.action_execution_rows(execution_id).await?;
        let selected: Vec<_> = rows
            .iter()
            .filter(|r| only.is_none_or(|o| o == format!("{}/{}", r.stage, r.action)))
            .collect();
        if selected.is_empty() && only.is_some() && !follow {
            anyhow::bail!(
                "no action {} ran in execution {execution_id}",
                only.unwrap_or_default()
            );
        }
        for row in &selected {
            let after = printed.entry(row.id.clone()).or_insert(0);
            let lines = api.logs(&row.id, *after).await?;
            for line in &lines {
                let prefix = format!("{}/{}", row.stage, row.action);
                let text = if line.stream == "pipewright" {
                    format!(
                        "{}{}{}",
                        style::DIM.render(),
                        line.line,
                        style::DIM.render_reset()
                    )
                } else {
                    line.line.clone()
                };
                anstream::println!(
                    "{}{prefix:<24}{} {text}",
                    style::RUNNING.render(),
                    style::RUNNING.render_reset()
                );
                *after = line.seq;
            }
        }
        let execution = api.execution_row(execution_id).await?;
        let running = execution.is_some_and(|e| e.ended_ms.is_none());
        if !follow || !running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(ExitCode::SUCCESS)
}
