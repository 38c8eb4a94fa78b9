//! The live view of `pipewright run` on a terminal: every stage and action with its status and
//! elapsed time, redrawn in place as the execution moves. Messages (an approval's custom data, a
//! failed action's log) are printed above the view, which is then drawn again below them.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pipewright_api::model::PipelineDeclaration;
use serde_json::Value;

use crate::output::{SIMULATED, status, style};

#[derive(Debug)]
struct Row {
    stage: String,
    /// None for the stage's own row.
    action: Option<String>,
    run_order: u32,
    status: Option<String>,
    started_ms: Option<i64>,
    ended_ms: Option<i64>,
    /// The local settings mark the action simulated: it succeeds without running anything.
    simulated: bool,
    /// Where it runs (an image, or this machine), once it started; None for what runs no commands.
    place: Option<String>,
    /// A batch build's row, under its action: its identifier.
    batch: Option<String>,
    /// While it runs in a container: the latest line of its log (an image being pulled).
    activity: Option<String>,
}

#[derive(Debug)]
pub struct LiveView {
    rows: Vec<Row>,
    /// Lines of the view currently on the screen, so the next draw can move back over them.
    drawn: usize,
    width: usize,
    /// Colours are dropped with NO_COLOR; the cursor movements that redraw the view are not.
    colour: bool,
    /// Lines the terminal moved down since the last draw without us (a person typing an answer
    /// to the approval prompt and pressing Enter).
    typed: Arc<AtomicUsize>,
}

impl LiveView {
    pub fn new(pipeline: &PipelineDeclaration, simulated: &HashSet<String>) -> LiveView {
        let mut rows = Vec::new();
        for stage in &pipeline.stages {
            rows.push(Row {
                stage: stage.name.clone(),
                action: None,
                run_order: 0,
                status: None,
                started_ms: None,
                ended_ms: None,
                simulated: false,
                place: None,
                batch: None,
                activity: None,
            });
            for (_, members) in stage.run_order_groups() {
                for index in members {
                    let action = &stage.actions[index];
                    rows.push(Row {
                        stage: stage.name.clone(),
                        action: Some(action.name.clone()),
                        run_order: action.run_order(),
                        status: None,
                        started_ms: None,
                        ended_ms: None,
                        simulated: simulated.contains(&format!("{}/{}", stage.name, action.name)),
                        place: None,
                        batch: None,
                        activity: None,
                    });
                }
            }
        }
        let width = rows
            .iter()
            .map(|r| {
                r.action
                    .as_ref()
                    .map_or(r.stage.chars().count(), |a| a.chars().count() + 4)
            })
            .max()
            .unwrap_or(10)
            + 2;
        let colour =
            anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
        LiveView {
            rows,
            drawn: 0,
            width,
            colour,
            typed: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Shows an action's status from before the view started (a retried stage's actions that
    /// succeeded earlier and will not run again).
    pub fn seed(
        &mut self,
        stage: &str,
        action: &str,
        status_word: &str,
        started_ms: i64,
        ended_ms: Option<i64>,
    ) {
        if let Some(row) = self
            .rows
            .iter_mut()
            .find(|r| r.stage == stage && r.action.as_deref() == Some(action) && r.batch.is_none())
        {
            row.status = Some(status_word.to_owned());
            row.started_ms = Some(started_ms);
            row.ended_ms = ended_ms;
        }
    }

    /// Takes a state-change event into the view, with where the action runs if it started.
    pub fn apply(&mut self, event: &Value, status_word: &str, at_ms: i64, place: Option<&str>) {
        let detail = &event["detail"];
        let Some(stage) = detail["stage"].as_str() else {
            return;
        };
        let action = detail["action"].as_str();
        let Some(row) = self
            .rows
            .iter_mut()
            .find(|r| r.stage == stage && r.action.as_deref() == action && r.batch.is_none())
        else {
            return;
        };
        if status_word == "InProgress" {
            row.started_ms = Some(at_ms);
            row.ended_ms = None;
            if let Some(place) = place {
                row.place = Some(place.to_owned());
            }
        } else {
            row.ended_ms = Some(at_ms);
            row.activity = None;
        }
        row.status = Some(status_word.to_owned());
    }

    /// Shows the latest line of a running action's log beside it (`Stage/Action`).
    pub fn activity(&mut self, key: &str, line: &str) {
        let Some((stage, action)) = key.split_once('/') else {
            return;
        };
        if let Some(row) = self
            .rows
            .iter_mut()
            .find(|r| r.stage == stage && r.action.as_deref() == Some(action) && r.batch.is_none())
            && row.status.as_deref() == Some("InProgress")
        {
            let line = line.trim();
            let mut shown: String = line.chars().take(60).collect();
            if shown.len() < line.len() {
                shown.push('…');
            }
            row.activity = Some(shown);
        }
    }

    /// Shows a batch build of an action (`Stage/Action`) under it, as it is now.
    pub fn batch_build(&mut self, key: &str, build: &pipewright_api::BatchBuildRow) {
        let Some((stage, action)) = key.split_once('/') else {
            return;
        };
        let existing = self.rows.iter().position(|r| {
            r.stage == stage
                && r.action.as_deref() == Some(action)
                && r.batch.as_deref() == Some(&build.identifier)
        });
        let index = match existing {
            Some(index) => index,
            None => {
                let Some(parent) = self.rows.iter().position(|r| {
                    r.stage == stage && r.action.as_deref() == Some(action) && r.batch.is_none()
                }) else {
                    return;
                };
                let after = self.rows[parent + 1..]
                    .iter()
                    .take_while(|r| r.batch.is_some())
                    .count();
                let row = Row {
                    stage: stage.to_owned(),
                    action: Some(action.to_owned()),
                    run_order: self.rows[parent].run_order,
                    status: None,
                    started_ms: None,
                    ended_ms: None,
                    simulated: false,
                    place: None,
                    batch: Some(build.identifier.clone()),
                    activity: None,
                };
                self.rows.insert(parent + 1 + after, row);
                parent + 1 + after
            }
        };
        let row = &mut self.rows[index];
        row.status = (build.status != "Waiting").then(|| build.status.clone());
        row.started_ms = build.started_ms;
        row.ended_ms = build.ended_ms;
        row.place = build.ran_on.clone();
    }

    fn line(&self, row: &Row, now_ms: i64) -> String {
        let word = row.status.as_deref().unwrap_or("-");
        let elapsed = match (row.started_ms, row.ended_ms, row.status.as_deref()) {
            (Some(start), Some(end), _) => format!("{:.2}s", (end - start) as f64 / 1000.0),
            (Some(start), None, Some("InProgress" | "Stopping")) => {
                format!("{:.1}s", (now_ms - start) as f64 / 1000.0)
            }
            _ => String::new(),
        };
        let mut status = if row.status.is_some() {
            status(word)
        } else {
            status("waiting")
        };
        if row.simulated {
            status.push_str(SIMULATED);
        }
        let mut place = row
            .place
            .as_ref()
            .map(|place| format!("  on {place}"))
            .unwrap_or_default();
        if let Some(activity) = &row.activity {
            place.push_str(&format!("  › {activity}"));
        }
        if let Some(identifier) = &row.batch {
            return format!(
                "        {:<w$} {}  {}{elapsed}{place}{}",
                identifier,
                status,
                style::DIM.render(),
                style::DIM.render_reset(),
                w = self.width
            );
        }
        match &row.action {
            None => format!(
                "  {}{:<w$}{}      {}  {}{elapsed}{}",
                style::BOLD.render(),
                row.stage,
                style::BOLD.render_reset(),
                status,
                style::DIM.render(),
                style::DIM.render_reset(),
                w = self.width
            ),
            Some(action) => format!(
                "      {:<w$} {}{:>3}{}  {}  {}{elapsed}{place}{}",
                action,
                style::DIM.render(),
                row.run_order,
                style::DIM.render_reset(),
                status,
                style::DIM.render(),
                style::DIM.render_reset(),
                w = self.width - 4
            ),
        }
    }

    /// A counter for whoever reads a typed line from the terminal while the view is shown.
    pub fn typed_lines(&self) -> Arc<AtomicUsize> {
        self.typed.clone()
    }

    /// Moves back to the top of the view and clears it and everything below.
    fn clear(&mut self, out: &mut impl Write) {
        let up = self.drawn + self.typed.swap(0, Ordering::SeqCst);
        if up > 0 {
            let _ = write!(out, "\x1b[{up}A\r\x1b[J");
        }
        self.drawn = 0;
    }

    fn text(&self, line: &str) -> String {
        if self.colour {
            line.to_owned()
        } else {
            anstream::adapter::strip_str(line).to_string()
        }
    }

    /// Draws the view again with elapsed times as of `now_ms`.
    pub fn draw(&mut self, now_ms: i64) {
        let mut out = std::io::stdout().lock();
        self.clear(&mut out);
        let lines: Vec<String> = self
            .rows
            .iter()
            .map(|r| self.text(&self.line(r, now_ms)))
            .collect();
        for line in &lines {
            let _ = writeln!(out, "{line}");
        }
        self.drawn = lines.len();
        let _ = out.flush();
    }

    /// Prints lines above the view (they stay on the screen) and draws the view below them.
    pub fn say(&mut self, lines: &[String], now_ms: i64) {
        {
            let mut out = std::io::stdout().lock();
            self.clear(&mut out);
            for line in lines {
                let _ = writeln!(out, "{}", self.text(line));
            }
        }
        self.draw(now_ms);
    }
}
