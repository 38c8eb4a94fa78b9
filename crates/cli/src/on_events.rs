//! `pipewright on-events RULES`: local rules with EventBridge event patterns. Each stored event is
//! matched against every rule; a match runs the rule's command (`sh -c`, the event as JSON on
//! stdin and in `PIPEWRIGHT_EVENT`) or posts the event to its webhook.
//!
//! The rules file (JSON or YAML):
//!
//! ```yaml
//! rules:
//!   - name: tell-the-channel
//!     pattern: {detail-type: [CodePipeline Pipeline Execution State Change], detail: {state: [FAILED]}}
//!     webhook: https://hooks.example.com/pipelines
//!   - name: page-me
//!     pattern: {detail: {pipeline: [{prefix: prod-}], state: [FAILED]}}
//!     command: notify-send "Pipeline failed" "$(jq -r .detail.pipeline)"
//! ```

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Result, bail};
use pipewright_api::Pipewright;
use pipewright_api::engine::pattern;
use pipewright_api::model::{Format, parse_value};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    name: String,
    pattern: Value,
    command: Option<String>,
    webhook: Option<String>,
}

/// How long a webhook may take to answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

fn load(file: &Path) -> Result<Vec<Rule>> {
    let name = file.display().to_string();
    let text = crate::read_text(file)?;
    let value = parse_value(&text, Format::guess(&name, &text))
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let rules: RulesFile = serde_path_to_error::deserialize(value)
        .map_err(|e| anyhow::anyhow!("{name}: at {}: {}", e.path(), e.inner()))?;
    for (at, rule) in rules.rules.iter().enumerate() {
        let here = format!("{name}: rules[{at}] ({})", rule.name);
        pattern::check(&rule.pattern).map_err(|e| anyhow::anyhow!("{here}: pattern{e}"))?;
        if rule.command.is_some() == rule.webhook.is_some() {
            bail!("{here}: give either a command or a webhook");
        }
    }
    Ok(rules.rules)
}

/// Matches the stored events after `after`, and with `follow` the new ones until Ctrl-C.
pub async fn run(api: &Pipewright, file: &Path, after: i64, follow: bool) -> Result<()> {
    let rules = load(file)?;
    let filter = pipewright_api::EventFilter {
        execution_id: None,
        pipeline: None,
    };
    let mut feed = crate::events::EventFeed::new(api, filter, after, follow);
    while let Some(batch) = feed.next_batch().await? {
        for (seq, event) in batch {
            for rule in rules
                .iter()
                .filter(|r| pattern::matches(&r.pattern, &event))
            {
                let outcome = act(rule, &event).await;
                println!("{seq:>6}  {}: {outcome}", rule.name);
            }
        }
    }
    Ok(())
}

/// Runs a rule's action for one event; what happened, for the log line.
async fn act(rule: &Rule, event: &Value) -> String {
    let body = event.to_string();
    if let Some(command) = &rule.command {
        let command = command.clone();
        let run =
            tokio::task::spawn_blocking(move || -> std::io::Result<std::process::ExitStatus> {
                let mut child = Command::new("/bin/sh")
                    .arg("-c")
                    .arg(&command)
                    .env("PIPEWRIGHT_EVENT", &body)
                    .stdin(Stdio::piped())
                    .spawn()?;
                if let Some(mut stdin) = child.stdin.take() {
                    // A command that does not read its stdin closes it early; that is fine.
                    let _ = stdin.write_all(body.as_bytes());
                }
                child.wait()
            });
        return match run.await {
            Ok(Ok(status)) if status.success() => "ran the command".to_owned(),
            Ok(Ok(status)) => format!("the command failed ({status})"),
            Ok(Err(error)) => format!("the command could not start: {error}"),
            Err(error) => format!("the command could not run: {error}"),
        };
    }
    let Some(url) = rule.webhook.clone() else {
        return "nothing to do".to_owned();
    };
    let posted = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(WEBHOOK_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        agent
            .post(&url)
            .header("content-type", "application/json")
            .send(body.as_bytes())
            .map(|response| (url, response.status().as_u16()))
            .map_err(|error| error.to_string())
    });
    match posted.await {
        Ok(Ok((url, status))) if (200..300).contains(&status) => {
            format!("posted to {url} ({status})")
        }
        Ok(Ok((url, status))) => format!("{url} answered {status}"),
        Ok(Err(error)) => format!("the webhook failed: {error}"),
        Err(error) => format!("the webhook could not run: {error}"),
    }
}
