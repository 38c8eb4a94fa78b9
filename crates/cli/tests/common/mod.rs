//! What the end-to-end test binaries share: a temporary data directory and work folder, the
//! real `pipewright` binary run in them, and readers for its JSON output.
//!
//! Each test binary uses a part of this, so the rest is dead code from its point of view.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Env {
    pub temp: tempfile::TempDir,
    pub data: PathBuf,
    pub work: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let temp = tempfile::tempdir().expect("tempdir");
        let data = temp.path().join("data");
        let work = temp.path().join("work");
        std::fs::create_dir_all(&work).expect("work dir");
        Env { temp, data, work }
    }

    /// A copy of an example folder, so runs write their outputs into the temp dir.
    pub fn example(&self, name: &str) -> PathBuf {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name);
        let to = self.work.join(name);
        let status = Command::new("cp")
            .arg("-r")
            .arg(&from)
            .arg(&to)
            .status()
            .expect("cp");
        assert!(status.success());
        to
    }

    pub fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pipewright"));
        command
            .args(args)
            .current_dir(dir)
            .env("PIPEWRIGHT_DATA_DIR", &self.data)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        self.command(dir, args).output().expect("pipewright runs")
    }

    pub fn spawn(&self, dir: &Path, args: &[&str]) -> Child {
        self.command(dir, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pipewright starts")
    }

    /// Runs a command that must succeed, from the work dir, and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(&self.work, args);
        assert!(output.status.success(), "{args:?}: {}", text(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let output = self.ok(args);
        serde_json::from_str(&output).expect("json output")
    }

    /// Polls until `check` holds on `state --json`, or fails after 30 s.
    pub fn wait_for_state(&self, pipeline: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let output = self.run(&self.work, &["state", pipeline, "--json"]);
            if output.status.success() {
                let state: Value = serde_json::from_slice(&output.stdout).expect("json");
                if check(&state) {
                    return state;
                }
            }
            assert!(
                Instant::now() < deadline,
                "state never matched: {}",
                text(&output)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn executions(&self, pipeline: &str) -> Vec<Value> {
        self.json(&["executions", pipeline, "--json"])["pipelineExecutionSummaries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn logs(&self, pipeline: &str, action: &str) -> String {
        self.ok(&["logs", pipeline, "--action", action])
    }
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn latest<'a>(state: &'a Value, stage: &str, action: &str) -> &'a Value {
    state["stageStates"]
        .as_array()
        .and_then(|stages| stages.iter().find(|s| s["stageName"] == stage))
        .and_then(|s| s["actionStates"].as_array())
        .and_then(|actions| actions.iter().find(|a| a["actionName"] == action))
        .map(|a| &a["latestExecution"])
        .unwrap_or(&Value::Null)
}

pub fn action_status<'a>(state: &'a Value, stage: &str, action: &str) -> &'a str {
    latest(state, stage, action)["status"]
        .as_str()
        .unwrap_or("")
}

pub fn action_summary<'a>(state: &'a Value, stage: &str, action: &str) -> &'a str {
    latest(state, stage, action)["summary"]
        .as_str()
        .unwrap_or("")
}

pub fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("parent dir");
    }
    std::fs::write(path, text).expect("write");
}

/// Runs a tool that must succeed and returns its trimmed stdout.
pub fn tool(dir: &Path, program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

pub fn git(repo: &Path, args: &[&str]) -> String {
    let mut all = vec![
        "-c",
        "user.name=Pipewright Test",
        "-c",
        "user.email=test@example.com",
        "-c",
        "commit.gpgsign=false",
    ];
    all.extend_from_slice(args);
    tool(repo, "git", &all)
}
