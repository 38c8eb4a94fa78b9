//! `pipewright logs`: an execution's action logs (and its batch builds' logs), each line labelled
//! with the action it came from; with `--follow`, until the execution ends.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use pipewright_api::Pipewright;

use crate::output::style;

/// Prints the logs of `execution_id` (only `only`'s, a `Stage/Action`, when given).
pub async fn logs(
    api: &Pipewright,
    name: &str,
    execution_id: &str,
    only: Option<&str>,
    follow: bool,
    json: bool,
) -> Result<ExitCode> {
    api.get_execution(name, execution_id).await?;
    let mut printed: HashMap<String, i64> = HashMap::new();
    let mut last_pass = false;
    loop {
        let rows = api.action_execution_rows(execution_id).await?;
        let batch = api.batch_build_rows(execution_id).await?;
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
        // Each action's log, then its batch builds' logs (each labelled with its identifier).
        let logs: Vec<(&pipewright_api::ActionExecutionRow, String, Option<&str>)> = selected
            .iter()
            .flat_map(|row| {
                let key = format!("{}/{}", row.stage, row.action);
                std::iter::once((*row, row.id.clone(), None)).chain(
                    batch
                        .iter()
                        .filter(move |(k, b)| *k == key && b.action_execution_id == row.id)
                        .map(move |(_, b)| (*row, b.id.clone(), Some(b.identifier.as_str()))),
                )
            })
            .collect();
        for (row, log_id, part) in &logs {
            let after = printed.entry(log_id.clone()).or_insert(0);
            let lines = api.logs(log_id, *after).await?;
            for line in &lines {
                *after = line.seq;
                if json {
                    let mut record = serde_json::json!({
                        "stage": row.stage, "action": row.action, "actionExecutionId": row.id,
                        "seq": line.seq, "time": line.time,
                        "stream": line.stream, "line": line.line,
                    });
                    if let Some(part) = part {
                        record["batchBuild"] = serde_json::json!(part);
                    }
                    println!("{record}");
                    continue;
                }
                let prefix = match part {
                    Some(part) => format!("{}/{}[{part}]", row.stage, row.action),
                    None => format!("{}/{}", row.stage, row.action),
                };
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
            }
        }
        if last_pass {
            break;
        }
        let execution = api.execution_row(execution_id).await?;
        let running = execution.is_some_and(|e| e.ended_ms.is_none());
        if !follow || !running {
            // Lines stored with the execution's end are read by one more pass.
            if !follow {
                break;
            }
            last_pass = true;
            continue;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(ExitCode::SUCCESS)
}
