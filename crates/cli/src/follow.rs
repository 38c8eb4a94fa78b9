//! Following an execution as it runs. On a terminal: a live view of every stage and action with
//! its status and elapsed time, redrawn in place. Elsewhere: one line per state change, or with
//! `--json` the events themselves as JSON lines. Either way: an approval's details (and, at a
//! terminal, a prompt to decide it), a failed action's last log lines, and an exit code that says
//! how the execution ended. Ctrl-C stops the execution, abandoning what runs, so no process is
//! left behind.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Result;
use pipewright_api::Pipewright;
use serde_json::Value;

use crate::live::LiveView;
use crate::output::{SIMULATED, status, style};

/// How often events stored by another process are looked for, and the live view redrawn.
pub(crate) const POLL: Duration = Duration::from_millis(100);
/// How long the follower lets events gather after being woken by one.
const GATHER: Duration = Duration::from_millis(15);

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
        "SKIPPED" => "Skipped",
        _ => "Unknown",
    }
}

/// When the event happened, from its EventBridge `time`.
fn event_ms(event: &Value) -> i64 {
    let text = event["time"].as_str().unwrap_or_default();
    pipewright_api::engine::clock::parse_rfc3339(text).unwrap_or(0)
}

/// Where the execution is shown.
enum Screen {
    Json,
    /// One line per state change; remembers when each stage and action started, and knows which
    /// actions (`Stage/Action`) are simulated.
    Lines {
        started: HashMap<String, i64>,
        simulated: HashSet<String>,
    },
    Live(LiveView),
}

impl Screen {
    /// Takes in an event; `places` says where each started action (`Stage/Action`) runs.
    fn event(&mut self, event: &Value, places: &HashMap<String, String>) {
        let detail = &event["detail"];
        let state = detail["state"].as_str().unwrap_or_default();
        let at = event_ms(event);
        let place = match (detail["stage"].as_str(), detail["action"].as_str()) {
            (Some(stage), Some(action)) => places.get(&format!("{stage}/{action}")),
            _ => None,
        };
        match self {
            Screen::Json => println!("{event}"),
            Screen::Live(view) => {
                view.apply(event, state_word(state), at, place.map(String::as_str))
            }
            Screen::Lines { started, simulated } => {
                let Some(stage) = detail["stage"].as_str() else {
                    return;
                };
                let (key, indent) = match detail["action"].as_str() {
                    Some(action) => (format!("{stage}/{action}"), "    "),
                    None => (stage.to_owned(), "  "),
                };
                let took = if matches!(state, "STARTED" | "RESUMED") {
                    started.insert(key.clone(), at);
                    place
                        .map(|place| {
                            format!(
                                "  {}on {place}{}",
                                style::DIM.render(),
                                style::DIM.render_reset()
                            )
                        })
                        .unwrap_or_default()
                } else {
                    started
                        .get(&key)
                        .map(|start| {
                            format!(
                                "  {}({:.2}s){}",
                                style::DIM.render(),
                                (at - start) as f64 / 1000.0,
                                style::DIM.render_reset()
                            )
                        })
                        .unwrap_or_default()
                };
                let time = event["time"]
                    .as_str()
                    .and_then(|t| t.get(11..19))
                    .unwrap_or_default();
                let width = 32 - indent.len();
                let label = if simulated.contains(&key) {
                    SIMULATED
                } else {
                    ""
                };
                anstream::println!(
                    "{}{time}{}{indent}{key:<width$} {}{label}{took}",
                    style::DIM.render(),
                    style::DIM.render_reset(),
                    status(state_word(state))
                );
            }
        }
    }

    /// Lines that stay on the screen: approval details, a failure's log.
    fn say(&mut self, lines: &[String], now_ms: i64) {
        match self {
            Screen::Json => {}
            Screen::Lines { .. } => lines.iter().for_each(|line| anstream::println!("{line}")),
            Screen::Live(view) => view.say(lines, now_ms),
        }
    }

    fn tick(&mut self, now_ms: i64) {
        if let Screen::Live(view) = self {
            view.draw(now_ms);
        }
    }

    /// Takes in the batch builds' states: the view shows them under their action; off a
    /// terminal, a line for each change.
    fn batch(
        &mut self,
        builds: &[(String, pipewright_api::BatchBuildRow)],
        seen: &mut HashMap<String, String>,
    ) {
        for (key, build) in builds {
            if seen.get(&build.id) == Some(&build.status) {
                continue;
            }
            seen.insert(build.id.clone(), build.status.clone());
            match self {
                Screen::Json => {}
                Screen::Live(view) => view.batch_build(key, build),
                Screen::Lines { .. } => {
                    let took = match (build.started_ms, build.ended_ms) {
                        (Some(start), Some(end)) => format!(
                            "  {}({:.2}s){}",
                            style::DIM.render(),
                            (end - start) as f64 / 1000.0,
                            style::DIM.render_reset()
                        ),
                        _ => String::new(),
                    };
                    anstream::println!(
                        "{}{:8}{}      {key:<26} batch build {} {}{took}",
                        style::DIM.render(),
                        "",
                        style::DIM.render_reset(),
                        build.identifier,
                        status(&build.status)
                    );
                }
            }
        }
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
    let interactive = !json && std::io::stdin().is_terminal();
    let simulated = if json {
        HashSet::new()
    } else {
        simulated_actions(api, name, execution_id).await?
    };
    let mut screen = if json {
        Screen::Json
    } else if std::io::stdout().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
    {
        let version = api.execution_row(execution_id).await?.map(|e| e.version);
        let pipeline = api.get_pipeline(name, version).await?.pipeline;
        let mut view = LiveView::new(&pipeline, &simulated);
        for row in api.action_execution_rows(execution_id).await? {
            view.seed(
                &row.stage,
                &row.action,
                &row.status,
                row.started_ms,
                row.ended_ms,
            );
        }
        Screen::Live(view)
    } else {
        Screen::Lines {
            started: HashMap::new(),
            simulated,
        }
    };
    if !json {
        anstream::println!(
            "{}▶ {name}{} execution {execution_id}",
            style::BOLD.render(),
            style::BOLD.render_reset()
        );
    }
    let clock = api.engine().clock().clone();
    let mut failed_stage = None;
    let mut watch = api.engine().event_watch();
    let mut waiting = None;
    let mut waiting_checked = std::time::Instant::now();
    let mut batch_seen: HashMap<String, String> = HashMap::new();
    let mut activity_seen: HashMap<String, i64> = HashMap::new();
    let final_status = loop {
        let events = api.events_after(after, Some(execution_id)).await?;
        // Nothing happened to this execution for a while: say once why it waits, if it waits
        // before a stage. (Other executions' events may keep the process busy meanwhile.)
        if events.is_empty() && waiting_checked.elapsed() >= POLL {
            waiting_checked = std::time::Instant::now();
            let now = api.waiting(execution_id).await?;
            if now != waiting {
                if let Some(line) = now.as_ref().and_then(|w| waiting_line(name, w)) {
                    screen.say(&[line], clock.now_ms());
                }
                waiting = now;
            }
        }
        let mut finished = None;
        let places = if json {
            HashMap::new()
        } else {
            places_of_started(api, execution_id, &events).await?
        };
        // Read after the events, so they hold every build's state up to the last event read.
        let builds = if json {
            Vec::new()
        } else {
            api.batch_build_rows(execution_id).await?
        };
        for (seq, event) in events {
            after = seq;
            // A batch's builds end before their action does, and are shown so.
            let detail = &event["detail"];
            if event["detail-type"] == pipewright_api::engine::events::ACTION_DETAIL_TYPE
                && detail["state"] != "STARTED"
            {
                let key = format!(
                    "{}/{}",
                    detail["stage"].as_str().unwrap_or_default(),
                    detail["action"].as_str().unwrap_or_default()
                );
                let own: Vec<_> = builds.iter().filter(|(k, _)| *k == key).cloned().collect();
                screen.batch(&own, &mut batch_seen);
            }
            screen.event(&event, &places);
            if !json {
                let typed = match &screen {
                    Screen::Live(view) => Some(view.typed_lines()),
                    _ => None,
                };
                let lines = details(api, &event, interactive, typed).await?;
                if !lines.is_empty() {
                    screen.say(&lines, clock.now_ms());
                }
            }
            if event["detail-type"] == pipewright_api::engine::events::STAGE_DETAIL_TYPE
                && detail["state"] == "FAILED"
            {
                failed_stage = detail["stage"].as_str().map(str::to_owned);
            }
            if event["detail-type"] == pipewright_api::engine::events::PIPELINE_DETAIL_TYPE {
                let state = detail["state"].as_str().unwrap_or_default();
                if !matches!(state, "STARTED" | "RESUMED" | "STOPPING") {
                    finished = Some(state_word(state).to_owned());
                }
            }
        }
        screen.batch(&builds, &mut batch_seen);
        if let Screen::Live(view) = &mut screen {
            show_activity(api, execution_id, view, &mut activity_seen).await?;
        }
        screen.tick(clock.now_ms());
        if let Some(status) = finished {
            api.engine().finished(execution_id).await;
            break status;
        }
        tokio::select! {
            // A change wakes the follower, which then lets a few more gather: one read per
            // burst instead of one per commit (a wide stage commits hundreds of times a second).
            _ = watch.changed() => tokio::time::sleep(GATHER).await,
            () = tokio::time::sleep(POLL) => {}
            _ = tokio::signal::ctrl_c() => {
                let note = format!("{}Interrupted: stopping the execution and abandoning its running actions{}", style::WAITING.render(), style::WAITING.render_reset());
                screen.say(&[note], clock.now_ms());
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
        if let (true, Some(stage)) = (final_status == "Failed", &failed_stage) {
            println!(
                "Retry with: pipewright retry {name} {stage}   (add --all to run every action again)"
            );
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

/// The latest log line of each action running in a container, beside it in the view: what a
/// first image pull (or a long build) is doing while the action seems to wait.
async fn show_activity(
    api: &Pipewright,
    execution_id: &str,
    view: &mut LiveView,
    seen: &mut HashMap<String, i64>,
) -> Result<()> {
    for row in api.action_execution_rows(execution_id).await? {
        let in_container = row
            .ran_on
            .as_deref()
            .is_some_and(|p| p.starts_with("image"));
        if row.status != "InProgress" || !in_container {
            continue;
        }
        let after = seen.entry(row.id.clone()).or_insert(0);
        let lines = api.logs(&row.id, *after).await?;
        if let Some(last) = lines.last() {
            *after = last.seq;
            view.activity(&format!("{}/{}", row.stage, row.action), &last.line);
        }
    }
    Ok(())
}

/// What holds an execution before a stage, when something does (an execution that just
/// reached a free stage waits for a moment too, with nothing to say).
fn waiting_line(pipeline: &str, waiting: &pipewright_api::Waiting) -> Option<String> {
    let stage = &waiting.stage;
    let why = match (&waiting.transition_disabled, &waiting.occupied_by) {
        (Some(reason), _) => format!(
            "its transition is disabled ({reason}); `pipewright transition {pipeline} {stage} enable` lets it in"
        ),
        (None, Some(other)) => format!("execution {other} is in it"),
        (None, None) => return None,
    };
    let (on, off) = (style::WAITING.render(), style::WAITING.render_reset());
    Some(format!("{on}⏸ waiting to enter {stage}: {why}{off}"))
}

/// Where the actions that `events` start run (`Stage/Action` to "image X (podman)" or "this
/// machine"), as the engine recorded it when it started them: one read for a burst of events.
async fn places_of_started(
    api: &Pipewright,
    execution_id: &str,
    events: &[(i64, Value)],
) -> Result<HashMap<String, String>> {
    let starts = events.iter().any(|(_, event)| {
        event["detail-type"] == pipewright_api::engine::events::ACTION_DETAIL_TYPE
            && event["detail"]["state"] == "STARTED"
    });
    if !starts {
        return Ok(HashMap::new());
    }
    // Oldest first, so a retried action's latest attempt is the one kept.
    Ok(api
        .action_execution_rows(execution_id)
        .await?
        .into_iter()
        .filter_map(|row| {
            let place = row.ran_on?;
            Some((format!("{}/{}", row.stage, row.action), place))
        })
        .collect())
}

/// The actions (`Stage/Action`) the local settings of the execution's version mark simulated.
async fn simulated_actions(
    api: &Pipewright,
    name: &str,
    execution_id: &str,
) -> Result<HashSet<String>> {
    let version = api.execution_row(execution_id).await?.map(|e| e.version);
    let (pipeline, settings, _) = api.pipeline_version(name, version).await?;
    Ok(pipeline
        .stages
        .iter()
        .flat_map(|stage| stage.actions.iter().map(move |action| (stage, action)))
        .filter(|(stage, action)| {
            settings
                .action(&stage.name, &action.name)
                .is_some_and(|s| s.simulate)
        })
        .map(|(stage, action)| format!("{}/{}", stage.name, action.name))
        .collect())
}

/// What a person needs to read about an event beyond its status: an approval's details, or a
/// failed action's summary and last log lines.
async fn details(
    api: &Pipewright,
    event: &Value,
    interactive: bool,
    typed: Option<Arc<AtomicUsize>>,
) -> Result<Vec<String>> {
    let detail = &event["detail"];
    let Some(stage) = detail["stage"].as_str() else {
        return Ok(Vec::new());
    };
    let Some(action) = detail["action"].as_str() else {
        // A stage that failed or was skipped by its conditions: say which rule decided it.
        let state = detail["state"].as_str().unwrap_or_default();
        if matches!(state, "FAILED" | "SKIPPED") {
            let execution_id = detail["execution-id"].as_str().unwrap_or_default();
            return rule_failures(api, execution_id, stage).await;
        }
        return Ok(Vec::new());
    };
    let state = detail["state"].as_str().unwrap_or_default();
    let execution_id = detail["execution-id"].as_str().unwrap_or_default();
    let pipeline = detail["pipeline"].as_str().unwrap_or_default();
    if state == "STARTED" && detail["type"]["provider"] == "Manual" {
        let place = (pipeline, stage, action, execution_id);
        return approval_waiting(api, place, interactive, typed).await;
    }
    if state == "FAILED" {
        return failure_details(api, execution_id, stage, action).await;
    }
    Ok(Vec::new())
}

/// The details of a waiting approval; at a terminal, also a prompt to decide it. `place` is
/// (pipeline, stage, action, execution id).
async fn approval_waiting(
    api: &Pipewright,
    place: (&str, &str, &str, &str),
    interactive: bool,
    typed: Option<Arc<AtomicUsize>>,
) -> Result<Vec<String>> {
    let (pipeline, stage, action, execution_id) = place;
    let pending = api.pending_approvals().await?;
    let Some(approval) = pending.into_iter().find(|a| {
        a.pipeline_execution_id == execution_id && a.stage_name == stage && a.action_name == action
    }) else {
        return Ok(Vec::new());
    };
    let (on, off) = (style::WAITING.render(), style::WAITING.render_reset());
    let mut lines = vec![format!(
        "{on}⏸ {stage}/{action} is waiting for approval{off}"
    )];
    if let Some(data) = &approval.custom_data {
        lines.push(format!("    {data}"));
    }
    if let Some(link) = &approval.external_entity_link {
        lines.push(format!("    {link}"));
    }
    // In PARALLEL mode several executions may wait here; without --execution the newest's
    // approval would be decided.
    let (declaration, _, _) = api.pipeline_version(pipeline, None).await?;
    let which = if declaration.execution_mode() == pipewright_api::model::ExecutionMode::Parallel {
        format!(" --execution {execution_id}")
    } else {
        String::new()
    };
    lines.push(format!(
        "    pipewright approve {pipeline} {stage} {action}{which}   (or reject)"
    ));
    if interactive {
        lines.push(format!(
            "    {on}or type a (approve) or r (reject) and Enter here{off}"
        ));
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
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() {
                return;
            }
            if let Some(typed) = typed {
                typed.fetch_add(1, Ordering::SeqCst);
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
                eprintln!("{error}");
            }
        });
    }
    Ok(lines)
}

/// The condition rules of a stage that failed, with why.
async fn rule_failures(api: &Pipewright, execution_id: &str, stage: &str) -> Result<Vec<String>> {
    let rows = api.rule_execution_rows(execution_id).await?;
    Ok(rows
        .iter()
        .filter(|r| r.stage == stage && r.status == "Failed")
        .map(|r| {
            let moment = match r.condition_type.as_str() {
                "BEFORE_ENTRY" => "entry",
                "ON_SUCCESS" => "on-success",
                _ => "on-failure",
            };
            format!(
                "{}■ {stage}: {moment} rule {} not met: {}{}",
                style::WAITING.render(),
                r.rule,
                r.summary.as_deref().unwrap_or(""),
                style::WAITING.render_reset()
            )
        })
        .collect())
}

/// The failed action's summary and the last lines of its log.
async fn failure_details(
    api: &Pipewright,
    execution_id: &str,
    stage: &str,
    action: &str,
) -> Result<Vec<String>> {
    let rows = api.action_execution_rows(execution_id).await?;
    let Some(row) = rows
        .iter()
        .rev()
        .find(|r| r.stage == stage && r.action == action)
    else {
        return Ok(Vec::new());
    };
    let mut out = vec![format!(
        "{}✘ {stage}/{action}: {}{}",
        style::ERROR.render(),
        row.summary.as_deref().unwrap_or("failed"),
        style::ERROR.render_reset()
    )];
    let lines = api.logs(&row.id, 0).await?;
    let tail = lines.len().saturating_sub(10);
    for line in &lines[tail..] {
        out.push(format!(
            "    {}│{} {}",
            style::DIM.render(),
            style::DIM.render_reset(),
            line.line
        ));
    }
    Ok(out)
}
