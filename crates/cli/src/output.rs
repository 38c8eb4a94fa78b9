//! Terminal output: tables and coloured status words. Colour goes through anstream, which drops
//! it when the output is not a terminal or NO_COLOR is set.

use pipewright_api::model::{Diagnostic, Severity};
use pipewright_api::{
    GetPipelineStateOutput, ListActionExecutionsOutput, ListPipelineExecutionsOutput,
    ListPipelinesOutput, PendingApproval,
};

pub mod style {
    use anstyle::{AnsiColor, Style};

    pub const OK: Style = AnsiColor::Green.on_default();
    pub const RUNNING: Style = AnsiColor::Cyan.on_default();
    pub const WAITING: Style = AnsiColor::Yellow.on_default();
    pub const ERROR: Style = AnsiColor::Red.on_default().bold();
    pub const DIM: Style = Style::new().dimmed();
    pub const BOLD: Style = Style::new().bold();
}

pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Follows the status of an action the local settings mark simulated, in every view.
pub const SIMULATED: &str = " [simulated]";

/// A status word with its colour and symbol.
pub fn status(word: &str) -> String {
    status_cell(word, 0)
}

/// A status word with its colour and symbol, padded to `width` visible characters. The padding
/// is inside the colour codes, so columns line up whether or not the codes are shown.
pub fn status_cell(word: &str, width: usize) -> String {
    let (symbol, style) = match word {
        "Succeeded" => ("✔", style::OK),
        "InProgress" => ("●", style::RUNNING),
        "Stopping" | "Stopped" | "Superseded" | "Cancelled" | "Abandoned" | "Skipped" => {
            ("■", style::WAITING)
        }
        "Failed" => ("✘", style::ERROR),
        _ => ("○", style::DIM),
    };
    let text = format!("{symbol} {word}");
    format!("{}{text:<width$}{}", style.render(), style.render_reset())
}

pub fn diagnostics(file: &str, diagnostics: &[Diagnostic]) {
    if diagnostics.is_empty() {
        anstream::println!(
            "{}✔ {file} is valid{}",
            style::OK.render(),
            style::OK.render_reset()
        );
        return;
    }
    for d in diagnostics {
        let (label, style) = match d.severity {
            Severity::Error => ("error", style::ERROR),
            Severity::Aws => ("aws", style::WAITING),
            Severity::Warning => ("warning", style::WAITING),
        };
        anstream::println!(
            "{}{label}{}[{}] {file}#{}: {}",
            style.render(),
            style.render_reset(),
            d.code,
            d.path,
            d.message
        );
        if let Some(hint) = &d.hint {
            anstream::println!(
                "    {}hint: {hint}{}",
                style::DIM.render(),
                style::DIM.render_reset()
            );
        }
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let aws = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Aws)
        .count();
    let warnings = diagnostics.len() - errors - aws;
    println!("{errors} errors, {aws} rejected by AWS only (fine locally), {warnings} warnings");
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

pub fn pipelines(list: &ListPipelinesOutput) {
    if list.pipelines.is_empty() {
        println!("No pipelines yet: `pipewright import FILE` or `pipewright run FILE`.");
        return;
    }
    anstream::println!(
        "{}{:<28} {:>7}  {:<22} {:<10} LAST RUN{}",
        style::BOLD.render(),
        "NAME",
        "VERSION",
        "STATUS",
        "EXECUTION",
        style::BOLD.render_reset()
    );
    for p in &list.pipelines {
        let (status, id, when) = match &p.latest_execution {
            Some(e) => (
                status_cell(&e.status, 22),
                short(&e.pipeline_execution_id).to_owned(),
                serde_json::to_value(e.start_time)
                    .unwrap_or_default()
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            None => (status_cell("never run", 22), "-".to_owned(), "-".to_owned()),
        };
        anstream::println!(
            "{:<28} {:>7}  {} {:<10} {when}",
            p.name,
            p.version,
            status,
            id
        );
    }
}

pub fn state(state: &GetPipelineStateOutput) {
    anstream::println!(
        "{}{} (version {}){}",
        style::BOLD.render(),
        state.pipeline_name,
        state.pipeline_version,
        style::BOLD.render_reset()
    );
    for stage in &state.stage_states {
        if !stage.inbound_transition_state.enabled {
            anstream::println!(
                "  {}⛔ transition disabled: {}{}",
                style::WAITING.render(),
                stage
                    .inbound_transition_state
                    .disabled_reason
                    .as_deref()
                    .unwrap_or(""),
                style::WAITING.render_reset()
            );
        }
        let stage_status = stage
            .latest_execution
            .as_ref()
            .map(|e| e.status.as_str())
            .unwrap_or("-");
        let execution = stage
            .latest_execution
            .as_ref()
            .map(|e| short(&e.pipeline_execution_id))
            .unwrap_or("");
        anstream::println!(
            "  {:<24} {}  {}{execution}{}",
            stage.stage_name,
            status(stage_status),
            style::DIM.render(),
            style::DIM.render_reset()
        );
        let kinds = [
            ("entry", &stage.before_entry_condition_state),
            ("on success", &stage.on_success_condition_state),
            ("on failure", &stage.on_failure_condition_state),
        ];
        for (label, conditions) in kinds {
            for rule in conditions
                .iter()
                .flat_map(|c| &c.condition_states)
                .flat_map(|c| &c.rule_states)
            {
                let e = &rule.latest_execution;
                let simulated = if e.simulated { SIMULATED } else { "" };
                anstream::println!(
                    "      {}{label} rule{} {:<12} {}{simulated}  {}{}{}",
                    style::DIM.render(),
                    style::DIM.render_reset(),
                    rule.rule_name,
                    status(&e.status),
                    style::DIM.render(),
                    e.summary.as_deref().unwrap_or(""),
                    style::DIM.render_reset()
                );
            }
        }
        for action in &stage.action_states {
            let (word, summary, simulated) = match &action.latest_execution {
                Some(e) => (
                    e.status.as_str(),
                    e.summary.clone().unwrap_or_default(),
                    e.simulated,
                ),
                None => ("-", String::new(), false),
            };
            let ran_on = action
                .latest_execution
                .as_ref()
                .and_then(|e| e.ran_on.as_deref())
                .map(|place| format!(" on {place}"))
                .unwrap_or_default();
            let waiting = action
                .latest_execution
                .as_ref()
                .is_some_and(|e| e.token.is_some());
            let note = if waiting {
                "waiting for approval".to_owned()
            } else {
                summary
            };
            let label = if simulated { SIMULATED } else { "" };
            anstream::println!(
                "      {:<22} {}{label}  {}{note}{ran_on}{}",
                action.action_name,
                status(word),
                style::DIM.render(),
                style::DIM.render_reset()
            );
        }
    }
}

pub fn executions(list: &ListPipelineExecutionsOutput) {
    if list.pipeline_execution_summaries.is_empty() {
        println!("No executions yet.");
        return;
    }
    anstream::println!(
        "{}{:<38} {:<22} {:<26} TRIGGER{}",
        style::BOLD.render(),
        "EXECUTION",
        "STATUS",
        "STARTED",
        style::BOLD.render_reset()
    );
    for e in &list.pipeline_execution_summaries {
        let started = serde_json::to_value(e.start_time).unwrap_or_default();
        anstream::println!(
            "{:<38} {} {:<26} {}",
            e.pipeline_execution_id,
            status_cell(&e.status, 22),
            started.as_str().unwrap_or_default(),
            e.trigger.trigger_type
        );
        for revision in &e.source_revisions {
            anstream::println!(
                "    {}{}{}",
                style::DIM.render(),
                revision.one_line(),
                style::DIM.render_reset()
            );
        }
        if let Some(summary) = &e.status_summary {
            anstream::println!(
                "    {}{summary}{}",
                style::DIM.render(),
                style::DIM.render_reset()
            );
        }
    }
}

pub fn actions(list: &ListActionExecutionsOutput) {
    for a in &list.action_execution_details {
        let summary = a
            .output
            .execution_result
            .external_execution_summary
            .clone()
            .unwrap_or_default();
        let ran_on = a
            .ran_on
            .as_deref()
            .map(|place| format!(" on {place}"))
            .unwrap_or_default();
        anstream::println!(
            "{}  {:<30} {}  {}{summary}{ran_on}{}",
            short(&a.pipeline_execution_id),
            format!("{}/{}", a.stage_name, a.action_name),
            status(&a.status),
            style::DIM.render(),
            style::DIM.render_reset()
        );
        for build in &a.batch_builds {
            anstream::println!(
                "          {:<30} {}  {}{}{}",
                format!("  batch build {}", build.identifier),
                status(&build.status),
                style::DIM.render(),
                build.summary.as_deref().unwrap_or_default(),
                style::DIM.render_reset()
            );
        }
    }
}

pub fn approvals(pending: &[PendingApproval]) {
    if pending.is_empty() {
        println!("No approvals waiting.");
        return;
    }
    for a in pending {
        anstream::println!(
            "{}{}/{}/{}{}  execution {}",
            style::BOLD.render(),
            a.pipeline_name,
            a.stage_name,
            a.action_name,
            style::BOLD.render_reset(),
            short(&a.pipeline_execution_id)
        );
        for revision in &a.artifact_revisions {
            println!("    {}", revision.one_line());
            if let Some(url) = &revision.revision_url {
                println!("      {url}");
            }
        }
        if let Some(data) = &a.custom_data {
            println!("    {data}");
        }
        if let Some(link) = &a.external_entity_link {
            println!("    {link}");
        }
        println!(
            "    pipewright approve {} {} {}",
            a.pipeline_name, a.stage_name, a.action_name
        );
    }
}

pub fn history(rows: &[pipewright_api::AuditRow]) {
    for row in rows.iter().rev() {
        let when = pipewright_api::engine::clock::rfc3339(row.time_ms);
        let outcome = if row.outcome == "ok" {
            status("Succeeded")
        } else {
            status("Failed") + " " + &row.outcome
        };
        anstream::println!(
            "{when}  {:<24} {:<26} {}  {}",
            row.operation,
            row.actor,
            outcome,
            row.parameters
        );
        if let Some(message) = &row.message {
            anstream::println!(
                "    {}{message}{}",
                style::DIM.render(),
                style::DIM.render_reset()
            );
        }
    }
}

/// A plan, one line per change: `+` added, `-` removed, `~` changed (with the fields), `>` moved.
pub fn plan(plan: &pipewright_api::PipelinePlan, backend: &str) {
    match plan.deployed_version {
        None => println!("{} is not on {backend}: pushing creates it", plan.pipeline),
        Some(version) if plan.changes.is_empty() => {
            println!(
                "{} on {backend} (version {version}) is up to date",
                plan.pipeline
            );
            return;
        }
        Some(version) => println!(
            "{} on {backend} (version {version}): {} changes",
            plan.pipeline,
            plan.changes.len()
        ),
    }
    for change in &plan.changes {
        let (mark, style) = match change.kind.as_str() {
            "add" => ("+", style::OK),
            "remove" => ("-", style::ERROR),
            "move" => (">", style::RUNNING),
            _ => ("~", style::WAITING),
        };
        let detail = if change.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", change.detail)
        };
        anstream::println!(
            "  {}{mark} {}{}{detail}",
            style.render(),
            change.subject,
            style.render_reset()
        );
    }
}

/// Asks a yes/no question on the terminal (on stderr, so stdout stays the command's output);
/// off a terminal the answer is no.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
