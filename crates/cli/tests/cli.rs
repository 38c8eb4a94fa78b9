//! End-to-end tests of the `pipewright` binary, as a person uses it: real processes, a real
//! SQLite data directory, real shells, several processes sharing one data directory.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::*;

fn commands_pipeline(name: &str, commands: &[&str], extra: &str) -> String {
    let commands = serde_json::to_string(commands).expect("json");
    format!(
        r#"{{"name": "{name}", "pipelineType": "V2", "stages": [{{"name": "Work", "actions": [
            {{"name": "Run", "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}},
              "commands": {commands}{extra}}}]}}]}}"#
    )
}

#[test]
fn validate_reports_every_problem_with_its_path_and_fails() {
    let env = Env::new();
    let file = env.work.join("bad.json");
    write(
        &file,
        r#"{"name": "bad", "stages": [{"name": "S", "actions": [
            {"name": "A", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"}, "inputArtifacts": [{"name": "nothing"}]},
            {"name": "A", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["echo #{variables.missing}"],
             "outputArtifacts": [{"name": "out", "files": ["../../etc/passwd"]}]}]}]}"#,
    );
    let output = env.run(&env.work, &["validate", "bad.json", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    let found: Vec<(String, String)> = report["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_owned(),
                d["path"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for expected in [
        (
            "unknown-input-artifact",
            "/stages/0/actions/0/inputArtifacts/0",
        ),
        ("duplicate-action-name", "/stages/0/actions/1/name"),
        ("unknown-variable", "/stages/0/actions/1/commands/0"),
        (
            "artifact-path-escapes",
            "/stages/0/actions/1/outputArtifacts/0/files/0",
        ),
    ] {
        assert!(
            found
                .iter()
                .any(|(c, p)| c == expected.0 && p == expected.1),
            "missing {expected:?} in {found:?}"
        );
    }
}

#[test]
fn malformed_input_names_line_and_column() {
    let env = Env::new();
    write(
        &env.work.join("broken.json"),
        "{\n  \"name\": \"x\",\n  \"stages\": [\n    {\"name\": }\n  ]\n}\n",
    );
    let output = env.run(&env.work, &["validate", "broken.json"]);
    assert_eq!(output.status.code(), Some(1));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("broken.json: line 4, column 14"),
        "{message}"
    );
    write(
        &env.work.join("broken.yaml"),
        "name: x\nstages:\n  - name: [unclosed\n",
    );
    let output = env.run(&env.work, &["validate", "broken.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("broken.yaml: line "),
        "{}",
        text(&output)
    );
}

#[test]
fn validate_json_reports_files_it_cannot_read() {
    let env = Env::new();
    write(
        &env.work.join("broken.json"),
        "{\n  \"name\": \"x\",\n  \"stages\": [\n    {\"name\": }\n  ]\n}\n",
    );
    let report = |file: &str| {
        let output = env.run(&env.work, &["validate", file, "--json"]);
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
        assert!(report["pipeline"].is_string(), "the usual shape: {report}");
        let diagnostic = report["diagnostics"][0].clone();
        assert!(diagnostic["path"].is_string(), "the usual shape: {report}");
        assert_eq!(diagnostic["severity"], "error");
        diagnostic
    };
    let syntax = report("broken.json");
    assert_eq!(syntax["code"], "invalid-syntax");
    assert_eq!(
        (syntax["line"].as_u64(), syntax["column"].as_u64()),
        (Some(4), Some(14))
    );

    // A type error: where it is in the file, not only its JSON path.
    write(
        &env.work.join("typed.yaml"),
        "name: x\nstages:\n  - name: S\n    actions:\n      - name: A\n        runOrder: soon\n",
    );
    let typed = report("typed.yaml");
    assert_eq!(typed["code"], "invalid-structure");
    assert_eq!(typed["path"], "/stages/0/actions/0/runOrder");
    assert_eq!(
        (typed["line"].as_u64(), typed["column"].as_u64()),
        (Some(6), Some(19))
    );
    let output = env.run(&env.work, &["validate", "typed.yaml"]);
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("typed.yaml: line 6, column 19: at /stages/0/actions/0/runOrder"),
        "{}",
        text(&output)
    );

    // A device that never ends is refused after the size limit, not read until memory runs out.
    let endless = report("/dev/zero");
    assert_eq!(endless["code"], "unreadable-file");
    assert!(
        endless["message"]
            .as_str()
            .is_some_and(|m| m.contains("larger than 8 MiB")),
        "{endless}"
    );
    assert_eq!(report("missing.json")["code"], "unreadable-file");

    // A good pipeline whose settings file beside it is wrong.
    write(
        &env.work.join("fine.json"),
        &commands_pipeline("fine", &["true"], ""),
    );
    write(
        &env.work.join("fine.pipewright.yaml"),
        "actions: [not, a, map]\n",
    );
    let settings = report("fine.json");
    assert_eq!(settings["code"], "invalid-settings");
    assert!(
        settings["message"]
            .as_str()
            .is_some_and(|m| m.contains("fine.pipewright.yaml")),
        "{settings}"
    );
}

#[test]
fn at_most_max_parallel_actions_run_at_once() {
    let env = Env::new();
    let trace = env.work.join("trace");
    // Six actions of one run order, each marking its start and end in a shared file (appends of
    // a short line are atomic), so the trace tells how many ran at once.
    let actions: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"{{"name": "A{i}", "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}},
                   "commands": ["echo + >> {trace}", "sleep 0.3", "echo - >> {trace}"]}}"#,
                trace = trace.display()
            )
        })
        .collect();
    write(
        &env.work.join("wide.json"),
        &format!(
            r#"{{"name": "wide", "pipelineType": "V2", "stages": [{{"name": "Work", "actions": [{}]}}]}}"#,
            actions.join(",")
        ),
    );
    let most_at_once = |args: &[&str]| {
        let _ = std::fs::remove_file(&trace);
        let output = env.run(&env.work, args);
        assert!(output.status.success(), "{}", text(&output));
        let (mut running, mut most) = (0i32, 0i32);
        for mark in std::fs::read_to_string(&trace).expect("trace").lines() {
            running += if mark == "+" { 1 } else { -1 };
            most = most.max(running);
        }
        assert_eq!(running, 0, "every action ended");
        most
    };
    assert_eq!(
        most_at_once(&["run", "wide.json", "--max-parallel", "1"]),
        1
    );
    assert_eq!(most_at_once(&["run", "wide", "--max-parallel", "3"]), 3);
    let output = env.run(&env.work, &["run", "wide", "--max-parallel", "0"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--max-parallel"),
        "{}",
        text(&output)
    );
}

#[test]
fn runs_parallel_run_orders_with_artifacts_and_variables() {
    let env = Env::new();
    let dir = env.example("parallel");
    let output = env.run(&dir, &["run", "pipeline.json", "--var", "greeting=bonjour"]);
    assert!(output.status.success(), "{}", text(&output));
    let site = std::fs::read_to_string(dir.join("out/site/dist/index.html")).expect("deployed");
    assert_eq!(site.trim(), "<h1>Hello from Pipewright 1.4.2</h1>");
    let executions = env.json(&["executions", "parallel-demo", "--json"]);
    let id = executions["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        executions["pipelineExecutionSummaries"][0]["status"],
        "Succeeded"
    );
    let build_id = std::fs::read_to_string(dir.join("out/site/dist/build-id")).expect("build id");
    assert_eq!(
        build_id.trim(),
        id,
        "#{{codepipeline.PipelineExecutionId}} resolved"
    );
    let logs = env.run(
        &env.work,
        &["logs", "parallel-demo", "--action", "Build/UnitTests"],
    );
    assert!(
        String::from_utf8_lossy(&logs.stdout).contains("bonjour: tests passed"),
        "{}",
        text(&logs)
    );
    // The two run-order-1 actions ran before Package (run order 2) started.
    let actions = env.json(&["actions", "parallel-demo", "--json"]);
    let details = actions["actionExecutionDetails"].as_array().expect("list");
    let time = |name: &str, field: &str| {
        details
            .iter()
            .find(|d| d["actionName"] == name)
            .and_then(|d| d[field].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(time("Package", "startTime") >= time("Version", "lastUpdateTime"));
    assert!(time("Package", "startTime") >= time("UnitTests", "lastUpdateTime"));
    let version = details
        .iter()
        .find(|d| d["actionName"] == "Version")
        .expect("Version ran");
    assert_eq!(version["output"]["outputVariables"]["APP_VERSION"], "1.4.2");
}

#[test]
fn runs_a_codebuild_buildspec() {
    let env = Env::new();
    let dir = env.example("codebuild");
    let output = env.run(&dir, &["run", "pipeline.yaml"]);
    assert!(output.status.success(), "{}", text(&output));
    let logs = env.run(
        &env.work,
        &["logs", "codebuild-demo", "--action", "Build/Smoke"],
    );
    let logs = String::from_utf8_lossy(&logs.stdout).into_owned();
    assert!(logs.contains("hello from the linux build"), "{logs}");
    assert!(logs.contains("build number 42"), "{logs}");
}

#[test]
fn in_parallel_mode_an_older_execution_s_approval_is_decided_by_its_id() {
    let env = Env::new();
    write(
        &env.work.join("gate.json"),
        r#"{"name": "gate", "pipelineType": "V2", "executionMode": "PARALLEL", "stages": [
          {"name": "Build", "actions": [{"name": "Make", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}, "commands": ["true"]}]},
          {"name": "Approve", "actions": [{"name": "Release", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]}"#,
    );
    assert!(
        env.run(&env.work, &["import", "gate.json"])
            .status
            .success()
    );
    let runs = [env.spawn(&env.work, &["run", "gate"]), {
        env.wait_for_state("gate", |s| {
            action_status(s, "Approve", "Release") == "InProgress"
        });
        env.spawn(&env.work, &["run", "gate"])
    }];
    let deadline = Instant::now() + Duration::from_secs(30);
    let waiting = loop {
        let pending = env.json(&["approvals", "--json"]);
        let ids: Vec<String> = pending
            .as_array()
            .expect("list")
            .iter()
            .map(|a| {
                a["pipelineExecutionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        if ids.len() == 2 {
            break ids;
        }
        assert!(
            Instant::now() < deadline,
            "two executions never waited: {pending}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let executions = env.json(&["executions", "gate", "--json"]);
    let oldest = executions["pipelineExecutionSummaries"][1]["pipelineExecutionId"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(waiting.contains(&oldest));
    let reject = env.run(
        &env.work,
        &[
            "reject",
            "gate",
            "Approve",
            "Release",
            "--execution",
            &oldest,
        ],
    );
    assert!(reject.status.success(), "{}", text(&reject));
    let pending = env.json(&["approvals", "--json"]);
    assert_eq!(pending.as_array().map(Vec::len), Some(1), "{pending}");
    assert_ne!(
        pending[0]["pipelineExecutionId"],
        oldest.as_str(),
        "the oldest was decided"
    );
    let wrong = env.run(
        &env.work,
        &[
            "approve",
            "gate",
            "Approve",
            "Release",
            "--execution",
            &oldest,
        ],
    );
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("is not waiting for approval"),
        "{}",
        text(&wrong)
    );
    assert!(
        env.run(&env.work, &["approve", "gate", "Approve", "Release"])
            .status
            .success()
    );
    let [older, newer] = runs.map(|run| run.wait_with_output().expect("run ends"));
    assert_eq!(older.status.code(), Some(1), "rejected: {}", text(&older));
    assert!(
        String::from_utf8_lossy(&older.stdout).contains(&format!(
            "pipewright approve gate Approve Release --execution {oldest}"
        )),
        "in PARALLEL mode the hint names the execution: {}",
        text(&older)
    );
    assert!(newer.status.success(), "approved: {}", text(&newer));
}

#[test]
fn an_approval_waits_until_approved_from_another_process_and_only_once() {
    let env = Env::new();
    let dir = env.example("approval");
    let run = env.spawn(&dir, &["run", "pipeline.json"]);
    let state = env.wait_for_state("approval-demo", |s| {
        action_status(s, "Approve", "Release") == "InProgress"
    });
    let pending = env.json(&["approvals", "--json"]);
    assert_eq!(
        pending[0]["customData"],
        "Release 1.4.2 to production? Check the staging smoke tests first."
    );
    assert_eq!(
        pending[0]["externalEntityLink"],
        "https://example.com/releases/1.4.2"
    );
    assert!(
        state
            .to_string()
            .contains(pending[0]["token"].as_str().expect("token"))
    );
    let approve = env.run(
        &env.work,
        &[
            "approve",
            "approval-demo",
            "Approve",
            "Release",
            "--summary",
            "looks good",
        ],
    );
    assert!(approve.status.success(), "{}", text(&approve));
    let output = run.wait_with_output().expect("run ends");
    assert!(output.status.success(), "{}", text(&output));
    let state = env.json(&["state", "approval-demo", "--json"]);
    assert_eq!(action_status(&state, "Deploy", "Ship"), "Succeeded");
    let again = env.run(
        &env.work,
        &["approve", "approval-demo", "Approve", "Release"],
    );
    assert!(
        !again.status.success(),
        "a decided approval cannot be decided again"
    );
    let history = env.json(&["history", "approval-demo", "--json"]);
    assert!(
        history
            .as_array()
            .expect("list")
            .iter()
            .any(|h| h["operation"] == "PutApprovalResult" && h["outcome"] == "ok")
    );
}

#[test]
fn a_failed_stage_is_retried_and_the_execution_succeeds() {
    let env = Env::new();
    let dir = env.example("retry");
    let first = env.run(&dir, &["run", "pipeline.json"]);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    assert!(String::from_utf8_lossy(&first.stdout).contains("first attempt: failing on purpose"));
    let state = env.json(&["state", "retry-demo", "--json"]);
    assert_eq!(action_status(&state, "Test", "Flaky"), "Failed");
    let lint_id =
        state["stageStates"][0]["actionStates"][1]["latestExecution"]["actionExecutionId"].clone();
    let retry = env.run(&dir, &["retry", "retry-demo", "Test"]);
    assert!(retry.status.success(), "{}", text(&retry));
    let state = env.json(&["state", "retry-demo", "--json"]);
    assert_eq!(action_status(&state, "Test", "Flaky"), "Succeeded");
    assert_eq!(
        state["stageStates"][0]["actionStates"][1]["latestExecution"]["actionExecutionId"], lint_id,
        "Lint succeeded and is not rerun with FAILED_ACTIONS"
    );
    let executions = env.json(&["executions", "retry-demo", "--json"]);
    assert_eq!(
        executions["pipelineExecutionSummaries"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

fn process_with_argument(marker: &str) -> bool {
    std::fs::read_dir("/proc")
        .expect("proc")
        .flatten()
        .any(|entry| {
            std::fs::read(entry.path().join("cmdline"))
                .is_ok_and(|cmd| String::from_utf8_lossy(&cmd).contains(marker))
        })
}

#[test]
fn stop_and_abandon_from_another_process_kills_the_action() {
    let env = Env::new();
    write(
        &env.work.join("slow.json"),
        &commands_pipeline("slow", &["sleep 71.5"], ""),
    );
    let run = env.spawn(&env.work, &["run", "slow.json"]);
    env.wait_for_state("slow", |s| action_status(s, "Work", "Run") == "InProgress");
    assert!(process_with_argument("71.5"));
    let stop = env.run(
        &env.work,
        &["stop", "slow", "--abandon", "--reason", "wrong branch"],
    );
    assert!(stop.status.success(), "{}", text(&stop));
    let output = run.wait_with_output().expect("run ends");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let state = env.json(&["state", "slow", "--json"]);
    assert_eq!(action_status(&state, "Work", "Run"), "Abandoned");
    assert!(
        !process_with_argument("71.5"),
        "the action's process tree was killed"
    );
    let executions = env.json(&["executions", "slow", "--json"]);
    assert_eq!(
        executions["pipelineExecutionSummaries"][0]["status"],
        "Stopped"
    );
    assert_eq!(
        executions["pipelineExecutionSummaries"][0]["stopTrigger"]["reason"],
        "wrong branch"
    );
}

#[test]
fn a_killed_run_is_settled_by_the_next_process_and_its_children_killed() {
    let env = Env::new();
    let marker = env.work.join("first-attempt");
    let command = format!(
        "if [ ! -e {m} ]; then touch {m}; sleep 83.25 & sleep 83.25; wait; fi",
        m = marker.display()
    );
    write(
        &env.work.join("crash.json"),
        &commands_pipeline("crash", &[command.as_str()], ""),
    );
    let mut run = env.spawn(&env.work, &["run", "crash.json"]);
    env.wait_for_state("crash", |s| action_status(s, "Work", "Run") == "InProgress");
    std::thread::sleep(Duration::from_millis(300));
    run.kill().expect("kill -9");
    run.wait().expect("reaped");
    assert!(
        process_with_argument("83.25"),
        "the orphaned action still runs before recovery"
    );
    let state = env.json(&["state", "crash", "--json"]);
    assert_eq!(action_status(&state, "Work", "Run"), "Failed");
    let summary = state["stageStates"][0]["actionStates"][0]["latestExecution"]["summary"]
        .as_str()
        .unwrap_or_default();
    assert!(summary.starts_with("Interrupted"), "{summary}");
    assert!(
        !process_with_argument("83.25"),
        "recovery killed the left-over processes"
    );
    let executions = env.json(&["executions", "crash", "--json"]);
    assert_eq!(
        executions["pipelineExecutionSummaries"][0]["status"],
        "Failed"
    );
    // The interrupted execution can be retried: the marker its first attempt left makes the
    // second one quick.
    let retry = env.run(&env.work, &["retry", "crash", "Work"]);
    assert!(retry.status.success(), "{}", text(&retry));
    let executions = env.json(&["executions", "crash", "--json"]);
    assert_eq!(
        executions["pipelineExecutionSummaries"][0]["status"],
        "Succeeded"
    );
}

#[test]
fn a_symlink_out_of_the_workspace_is_refused_as_an_output() {
    let env = Env::new();
    write(
        &env.work.join("leak.json"),
        &commands_pipeline(
            "leak",
            &["ln -s /etc/passwd leak"],
            r#", "outputArtifacts": [{"name": "out", "files": ["leak"]}]"#,
        ),
    );
    let output = env.run(&env.work, &["run", "leak.json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let state = env.json(&["state", "leak", "--json"]);
    let summary = state["stageStates"][0]["actionStates"][0]["latestExecution"]["summary"]
        .as_str()
        .unwrap_or_default();
    assert!(
        summary.contains("leak"),
        "the refusal names the file: {summary}"
    );
}

#[test]
fn an_action_cannot_change_an_artifact_other_actions_see() {
    let env = Env::new();
    let pipeline = r#"{"name": "guard", "pipelineType": "V2", "stages": [
      {"name": "Make", "actions": [{"name": "Produce", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
        "commands": ["echo original > file.txt"], "outputArtifacts": [{"name": "a", "files": ["file.txt"]}]}]},
      {"name": "Use", "actions": [
        {"name": "Vandal", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
         "inputArtifacts": [{"name": "a"}], "commands": ["echo vandalised >> file.txt", "chmod 000 file.txt"]},
        {"name": "Reader", "runOrder": 2, "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
         "inputArtifacts": [{"name": "a"}], "commands": ["test \"$(cat file.txt)\" = original"]}]}]}"#;
    write(&env.work.join("guard.json"), pipeline);
    let output = env.run(&env.work, &["run", "guard.json"]);
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn a_failed_stage_with_on_failure_rollback_runs_again_with_the_last_good_artifacts() {
    let env = Env::new();
    let deployed = env.work.join("deployed.log");
    let pipeline = format!(
        r#"{{"name": "rollback", "pipelineType": "V2", "variables": [{{"name": "release", "defaultValue": "1"}}], "stages": [
          {{"name": "Build", "actions": [{{"name": "Make", "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}},
            "commands": ["mkdir -p out", "echo release-#{{variables.release}} > out/version"], "outputArtifacts": [{{"name": "app", "files": ["out/**/*"]}}]}}]}},
          {{"name": "Deploy", "onFailure": {{"result": "ROLLBACK"}}, "actions": [{{"name": "Ship",
            "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}}, "inputArtifacts": [{{"name": "app"}}],
            "commands": ["v=$(cat out/version)", "if [ $v = release-bad ]; then echo cannot ship $v >&2; exit 1; fi", "echo $v >> {}"]}}]}}]}}"#,
        deployed.display()
    );
    write(&env.work.join("rollback.json"), &pipeline);
    let good = env.run(&env.work, &["run", "rollback.json"]);
    assert!(good.status.success(), "{}", text(&good));
    let bad = env.run(&env.work, &["run", "rollback.json", "--var", "release=bad"]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    let log = std::fs::read_to_string(&deployed).expect("deploy log");
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        ["release-1", "release-1"],
        "the rollback redeployed release 1"
    );
    let executions = env.json(&["executions", "rollback", "--json"]);
    let list = executions["pipelineExecutionSummaries"]
        .as_array()
        .expect("list");
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["executionType"], "ROLLBACK");
    assert_eq!(list[0]["status"], "Succeeded");
    assert_eq!(list[0]["trigger"]["triggerType"], "AutomatedRollback");
    assert_eq!(
        list[0]["trigger"]["triggerDetail"],
        list[2]["pipelineExecutionId"]
    );
    assert_eq!(list[1]["status"], "Failed");
    let summary = list[1]["statusSummary"].as_str().unwrap_or_default();
    assert!(summary.contains("rolled back"), "{summary}");
}

#[test]
fn a_failed_stage_with_on_failure_retry_runs_its_failed_actions_once_more() {
    let env = Env::new();
    let (tries, steady) = (env.work.join("tries"), env.work.join("steady"));
    // Flaky fails on its first try only; Steady succeeds and must not run again for the retry.
    let pipeline = format!(
        r#"{{"name": "flaky", "pipelineType": "V2", "stages": [
          {{"name": "Test", "onFailure": {{"result": "RETRY", "retryConfiguration": {{"retryMode": "FAILED_ACTIONS"}}}}, "actions": [
            {{"name": "Flaky", "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}},
              "commands": ["echo try >> {tries}", "test $(wc -l < {tries}) -gt 1"]}},
            {{"name": "Steady", "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}},
              "commands": ["echo run >> {steady}"]}}]}}]}}"#,
        tries = tries.display(),
        steady = steady.display()
    );
    write(&env.work.join("flaky.json"), &pipeline);
    let output = env.run(&env.work, &["run", "flaky.json"]);
    assert!(
        output.status.success(),
        "retried into success: {}",
        text(&output)
    );
    let count = |file: &Path| {
        std::fs::read_to_string(file)
            .expect("marker")
            .lines()
            .count()
    };
    assert_eq!(count(&tries), 2, "the failed action ran once more");
    assert_eq!(count(&steady), 1, "the action that succeeded did not");
    let actions = env.json(&["actions", "flaky", "--json"]);
    let flaky: Vec<&str> = actions["actionExecutionDetails"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|d| d["actionName"] == "Flaky")
        .map(|d| d["status"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(flaky, ["Succeeded", "Failed"], "newest first");

    // A second failure is not retried again: the execution fails.
    std::fs::write(&tries, "").expect("reset");
    let failing = pipeline.replace("-gt 1", "-gt 5");
    write(&env.work.join("flaky.json"), &failing);
    let output = env.run(&env.work, &["run", "flaky.json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert_eq!(count(&tries), 2, "retried once, not more");
}

#[test]
fn rollbacks_keep_to_aws_s_limits() {
    let env = Env::new();
    write(&env.work.join("src/page.html"), "v1\n");
    let pipeline = |deploy: &str| {
        format!(
            r#"{{"name": "rb", "pipelineType": "V2", "stages": [
              {{"name": "Source", "actions": [{{"name": "Src", "actionTypeId": {{"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}},
                "configuration": {{"S3Bucket": "b", "S3ObjectKey": "src.zip"}}, "outputArtifacts": [{{"name": "Site"}}]}}]}},
              {{"name": "Deploy", "actions": [{{"name": "Ship", "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}},
                "inputArtifacts": [{{"name": "Site"}}], "commands": ["{deploy}"]}}]}}]}}"#
        )
    };
    write(&env.work.join("rb.json"), &pipeline("cat page.html"));
    write(
        &env.work.join("rb.pipewright.yaml"),
        "actions: {Source/Src: {path: src}}\n",
    );
    let first = env.run(&env.work, &["run", "rb.json"]);
    assert!(first.status.success(), "{}", text(&first));
    let first_id = env.executions("rb")[0]["pipelineExecutionId"]
        .as_str()
        .expect("id")
        .to_owned();
    let refused = |args: &[&str], why: &str| {
        let output = env.run(&env.work, args);
        assert!(
            !output.status.success(),
            "{args:?} was refused: {}",
            text(&output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    };
    refused(
        &["rollback", "rb", "Source"],
        "a source stage cannot be rolled back",
    );

    let rolled = env.run(&env.work, &["rollback", "rb", "Deploy"]);
    assert!(rolled.status.success(), "{}", text(&rolled));
    let rollback_id = env.executions("rb")[0]["pipelineExecutionId"]
        .as_str()
        .expect("id")
        .to_owned();
    refused(
        &["rollback", "rb", "Deploy", "--target", &rollback_id],
        "is itself a rollback",
    );

    // A new version of the pipeline: executions of the old one are no rollback targets.
    write(&env.work.join("rb.json"), &pipeline("wc -c page.html"));
    assert!(env.run(&env.work, &["import", "rb.json"]).status.success());
    refused(
        &["rollback", "rb", "Deploy", "--target", &first_id],
        "ran version 1 of rb",
    );
    refused(
        &["rollback", "rb", "Deploy"],
        "no earlier execution of rb version 2 completed stage Deploy",
    );
}

/// Two executions held at a disabled transition, then let through: what each execution mode
/// does with them. Returns (execution ids in start order, lines the second stage logged, the
/// status of each execution).
fn two_executions_at_a_closed_transition(mode: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let env = Env::new();
    let log = env.work.join("second-stage.log");
    let pipeline = format!(
        r#"{{"name": "modes", "pipelineType": "V2", "executionMode": "{mode}", "stages": [
          {{"name": "First", "actions": [{{"name": "A", "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}}, "commands": ["true"]}}]}},
          {{"name": "Second", "actions": [{{"name": "B", "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}},
            "commands": ["echo start #{{codepipeline.PipelineExecutionId}} >> {log}", "sleep 0.3", "echo end #{{codepipeline.PipelineExecutionId}} >> {log}"]}}]}}]}}"#,
        log = log.display()
    );
    write(&env.work.join("modes.json"), &pipeline);
    assert!(
        env.run(&env.work, &["import", "modes.json"])
            .status
            .success()
    );
    let disable = env.run(
        &env.work,
        &[
            "transition",
            "modes",
            "Second",
            "disable",
            "--reason",
            "hold",
        ],
    );
    assert!(disable.status.success(), "{}", text(&disable));
    let first = env.spawn(&env.work, &["run", "modes"]);
    env.wait_for_state("modes", |s| action_status(s, "First", "A") == "Succeeded");
    let second = env.spawn(&env.work, &["run", "modes"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = env.json(&["executions", "modes", "--json"]);
        let list = list["pipelineExecutionSummaries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let waited = list.len() == 2 && {
            let state = env.json(&["state", "modes", "--json"]);
            state["stageStates"][0]["latestExecution"]["pipelineExecutionId"]
                == list[0]["pipelineExecutionId"]
                && action_status(&state, "First", "A") == "Succeeded"
        };
        if waited {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second execution never finished its first stage"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(!log.exists(), "nothing passes a disabled transition");
    let enable = env.run(&env.work, &["transition", "modes", "Second", "enable"]);
    assert!(enable.status.success(), "{}", text(&enable));
    for run in [first, second] {
        let output = run.wait_with_output().expect("run ends");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(
                "waiting to enter Second: its transition is disabled (hold); `pipewright transition modes Second enable` lets it in"
            ),
            "run says why it waits: {}",
            text(&output)
        );
    }
    let list = env.json(&["executions", "modes", "--json"]);
    let list = list["pipelineExecutionSummaries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ids: Vec<String> = list
        .iter()
        .rev()
        .map(|e| {
            e["pipelineExecutionId"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let statuses = list
        .iter()
        .rev()
        .map(|e| e["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    let lines = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    (ids, lines, statuses)
}

#[test]
fn superseded_mode_lets_only_the_newest_waiting_execution_through() {
    let (ids, lines, statuses) = two_executions_at_a_closed_transition("SUPERSEDED");
    assert_eq!(
        lines,
        [format!("start {}", ids[1]), format!("end {}", ids[1])]
    );
    assert_eq!(statuses, ["Superseded", "Succeeded"]);
}

#[test]
fn queued_mode_lets_waiting_executions_through_one_at_a_time_in_order() {
    let (ids, lines, statuses) = two_executions_at_a_closed_transition("QUEUED");
    let expected: Vec<String> = ids
        .iter()
        .flat_map(|id| [format!("start {id}"), format!("end {id}")])
        .collect();
    assert_eq!(
        lines, expected,
        "first come, first served, never both in the stage"
    );
    assert_eq!(statuses, ["Succeeded", "Succeeded"]);
}

#[test]
fn parallel_mode_lets_every_waiting_execution_through() {
    let (ids, mut lines, statuses) = two_executions_at_a_closed_transition("PARALLEL");
    lines.sort();
    let mut expected: Vec<String> = ids
        .iter()
        .flat_map(|id| [format!("start {id}"), format!("end {id}")])
        .collect();
    expected.sort();
    assert_eq!(lines, expected);
    assert_eq!(statuses, ["Succeeded", "Succeeded"]);
}

#[test]
fn stage_conditions_skip_a_stage_and_roll_back_when_a_check_fails() {
    let env = Env::new();
    let dir = env.example("conditions");
    let first = env.run(&dir, &["run", "pipeline.json"]);
    assert!(first.status.success(), "{}", text(&first));
    let state = env.json(&["state", "conditions-demo", "--json"]);
    let stage = |name: &str| {
        state["stageStates"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["stageName"] == name))
            .cloned()
            .unwrap_or_default()
    };
    let deploy = stage("Deploy");
    assert_eq!(deploy["latestExecution"]["status"], "Skipped");
    assert_eq!(
        deploy["beforeEntryConditionState"]["latestExecution"]["status"],
        "Failed"
    );
    let rule = &deploy["beforeEntryConditionState"]["conditionStates"][0]["ruleStates"][0];
    assert_eq!(rule["ruleName"], "OnlyProduction");
    assert_eq!(
        rule["latestExecution"]["summary"],
        "'staging' EQ 'production' fails"
    );
    assert!(
        deploy["actionStates"][0]["latestExecution"].is_null(),
        "a skipped stage runs nothing"
    );
    let verify = stage("Verify");
    let rules = verify["onSuccessConditionState"]["conditionStates"][0]["ruleStates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[1]["latestExecution"]["simulated"], true);
    assert_eq!(rules[1]["latestExecution"]["status"], "Succeeded");

    let production = env.run(
        &dir,
        &["run", "conditions-demo", "--var", "target=production"],
    );
    assert!(production.status.success(), "{}", text(&production));
    let state = env.json(&["state", "conditions-demo", "--json"]);
    assert_eq!(action_status(&state, "Deploy", "Ship"), "Succeeded");

    let failing = env.run(&dir, &["run", "conditions-demo", "--var", "smoke=fail"]);
    assert_eq!(failing.status.code(), Some(1), "{}", text(&failing));
    assert!(
        String::from_utf8_lossy(&failing.stdout).contains("on-success rule Smoke not met"),
        "{}",
        text(&failing)
    );
    let list = env.json(&["executions", "conditions-demo", "--json"]);
    let list = list["pipelineExecutionSummaries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(list[0]["executionType"], "ROLLBACK");
    assert_eq!(list[0]["status"], "Succeeded");
    assert_eq!(list[1]["status"], "Failed");
    assert_eq!(
        list[0]["trigger"]["triggerDetail"], list[2]["pipelineExecutionId"],
        "rolled back to the last good Verify"
    );
}

#[test]
fn a_rule_with_no_local_evaluator_must_be_mapped_before_a_run() {
    let env = Env::new();
    let dir = env.example("conditions");
    std::fs::remove_file(dir.join("pipeline.pipewright.yaml")).expect("remove settings");
    let validate = env.run(&dir, &["validate", "pipeline.json", "--json"]);
    let report: Value = serde_json::from_slice(&validate.stdout).expect("json");
    let unmapped = report["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let unmapped: Vec<_> = unmapped
        .iter()
        .filter(|d| d["code"] == "no-local-rule")
        .collect();
    assert_eq!(unmapped.len(), 1, "{report}");
    assert_eq!(
        unmapped[0]["path"],
        "/stages/2/onSuccess/conditions/0/rules/1"
    );
    let run = env.run(&dir, &["run", "pipeline.json"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("Verify/NoAlarm"),
        "{}",
        text(&run)
    );
}

#[test]
fn events_are_eventbridge_shaped_and_in_order_and_artifacts_export_as_zip() {
    let env = Env::new();
    let dir = env.example("parallel");
    let run = env.run(&dir, &["run", "pipeline.json"]);
    assert!(run.status.success(), "{}", text(&run));
    let output = env.run(&env.work, &["events", "parallel-demo", "--json"]);
    assert!(output.status.success(), "{}", text(&output));
    let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON event per line"))
        .collect();
    // 1 execution x 2 + 3 stages x 2 + 5 actions x 2 state changes.
    assert_eq!(events.len(), 18);
    assert!(
        events.iter().all(
            |e| e["source"] == "aws.codepipeline" && e["detail"]["pipeline"] == "parallel-demo"
        )
    );
    assert_eq!(
        events[0]["detail-type"],
        "CodePipeline Pipeline Execution State Change"
    );
    assert_eq!(events[0]["detail"]["state"], "STARTED");
    assert_eq!(events[17]["detail"]["state"], "SUCCEEDED");
    let action = events
        .iter()
        .find(|e| e["detail"]["action"] == "Package")
        .expect("an action event");
    assert_eq!(
        action["detail-type"],
        "CodePipeline Action Execution State Change"
    );
    assert_eq!(action["detail"]["type"]["provider"], "Commands");
    assert_eq!(action["detail"]["stage"], "Build");

    let zip = env.work.join("site.zip");
    let export = env.run(
        &env.work,
        &[
            "artifacts",
            "parallel-demo",
            "--export",
            "Site",
            "--output",
            zip.to_str().expect("utf-8"),
        ],
    );
    assert!(export.status.success(), "{}", text(&export));
    let listing = Command::new("unzip")
        .arg("-l")
        .arg(&zip)
        .output()
        .expect("unzip");
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("dist/index.html") && listing.contains("dist/build-id"),
        "{listing}"
    );
}

#[test]
fn a_script_larger_than_one_argument_may_be_still_runs() {
    let env = Env::new();
    // 50 commands of 3 KB: more than the 128 KiB Linux allows in one argument (`sh -c SCRIPT`).
    let long = format!("echo {} > /dev/null", "x".repeat(3000));
    let mut commands: Vec<&str> = vec![long.as_str(); 49];
    commands.push("echo done-with-the-long-script");
    write(
        &env.work.join("long.json"),
        &commands_pipeline("long", &commands, ""),
    );
    let output = env.run(&env.work, &["run", "long.json"]);
    assert!(output.status.success(), "{}", text(&output));
    let logs = env.run(&env.work, &["logs", "long"]);
    assert!(String::from_utf8_lossy(&logs.stdout).contains("done-with-the-long-script"));
}

#[test]
fn stop_and_wait_lets_the_running_action_finish_and_starts_nothing_more() {
    let env = Env::new();
    let marker = env.work.join("second-ran");
    let pipeline = format!(
        r#"{{"name": "wait", "pipelineType": "V2", "stages": [{{"name": "Work", "actions": [
          {{"name": "Slow", "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}}, "commands": ["sleep 1.5"]}},
          {{"name": "Next", "runOrder": 2, "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}}, "commands": ["touch {}"]}}]}}]}}"#,
        marker.display()
    );
    write(&env.work.join("wait.json"), &pipeline);
    let run = env.spawn(&env.work, &["run", "wait.json"]);
    env.wait_for_state("wait", |s| action_status(s, "Work", "Slow") == "InProgress");
    let stop = env.run(&env.work, &["stop", "wait"]);
    assert!(stop.status.success(), "{}", text(&stop));
    let again = env.run(&env.work, &["stop", "wait"]);
    assert!(
        !again.status.success(),
        "a second stop-and-wait is a duplicated request"
    );
    let output = run.wait_with_output().expect("run ends");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let state = env.json(&["state", "wait", "--json"]);
    assert_eq!(
        action_status(&state, "Work", "Slow"),
        "Succeeded",
        "the running action finished"
    );
    assert_eq!(
        state["stageStates"][0]["latestExecution"]["status"],
        "Stopped"
    );
    assert!(!marker.exists(), "nothing after the stop started");
    let executions = env.json(&["executions", "wait", "--json"]);
    assert_eq!(
        executions["pipelineExecutionSummaries"][0]["status"],
        "Stopped"
    );
}

#[test]
fn retry_all_runs_every_action_of_the_stage_again() {
    let env = Env::new();
    let dir = env.example("retry");
    let first = env.run(&dir, &["run", "pipeline.json"]);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    let before = env.json(&["state", "retry-demo", "--json"]);
    let lint_before =
        before["stageStates"][0]["actionStates"][1]["latestExecution"]["actionExecutionId"].clone();
    let retry = env.run(&dir, &["retry", "retry-demo", "Test", "--all"]);
    assert!(retry.status.success(), "{}", text(&retry));
    let after = env.json(&["state", "retry-demo", "--json"]);
    assert_eq!(action_status(&after, "Test", "Lint"), "Succeeded");
    assert_ne!(
        after["stageStates"][0]["actionStates"][1]["latestExecution"]["actionExecutionId"],
        lint_before,
        "Lint ran again with ALL_ACTIONS"
    );
    let actions = env.json(&["actions", "retry-demo", "--json"]);
    assert_eq!(
        actions["actionExecutionDetails"].as_array().map(Vec::len),
        Some(4),
        "two runs of two actions"
    );
}

#[test]
fn on_events_runs_a_rule_s_command_and_posts_to_its_webhook_for_matching_events() {
    use std::io::{BufRead, BufReader, Read, Write};

    let env = Env::new();
    std::fs::write(
        env.work.join("ok.json"),
        commands_pipeline("rules-ok", &["true"], ""),
    )
    .expect("write");
    std::fs::write(
        env.work.join("bad.json"),
        commands_pipeline("rules-bad", &["exit 1"], ""),
    )
    .expect("write");
    assert!(env.run(&env.work, &["run", "ok.json"]).status.success());
    assert!(!env.run(&env.work, &["run", "bad.json"]).status.success());

    // A webhook on loopback that keeps the one request it gets.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    let hook = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("a request");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("a header");
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().expect("a length");
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("the body");
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            .expect("answer");
        String::from_utf8(body).expect("utf-8")
    });

    let caught = env.work.join("caught.jsonl");
    let rules = format!(
        r#"rules:
  - name: failures
    pattern: {{detail-type: [CodePipeline Pipeline Execution State Change], detail: {{state: [FAILED]}}}}
    webhook: {url}
  - name: every-end
    pattern: {{detail-type: [CodePipeline Pipeline Execution State Change], detail: {{state: [{{anything-but: [STARTED]}}]}}}}
    command: cat >> {}; echo >> {}
"#,
        caught.display(),
        caught.display()
    );
    std::fs::write(env.work.join("rules.yaml"), rules).expect("write");
    let out = env.run(&env.work, &["on-events", "rules.yaml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("failures: posted to"), "{stdout}");

    let posted: Value = serde_json::from_str(&hook.join().expect("the webhook")).expect("json");
    assert_eq!(posted["detail"]["pipeline"], "rules-bad");
    assert_eq!(posted["detail"]["state"], "FAILED");
    let ends: Vec<Value> = std::fs::read_to_string(&caught)
        .expect("the command wrote")
        .lines()
        .map(|line| serde_json::from_str(line).expect("json"))
        .collect();
    let mut states: Vec<(&str, &str)> = ends
        .iter()
        .map(|e| {
            (
                e["detail"]["pipeline"].as_str().unwrap_or_default(),
                e["detail"]["state"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    states.sort_unstable();
    assert_eq!(states, [("rules-bad", "FAILED"), ("rules-ok", "SUCCEEDED")]);

    // A rule file with a mistake says where, and runs nothing.
    std::fs::write(
        env.work.join("broken.yaml"),
        "rules:\n  - name: x\n    pattern: {detail: {state: FAILED}}\n    command: 'true'\n",
    )
    .expect("write");
    let broken = env.run(&env.work, &["on-events", "broken.yaml"]);
    assert!(!broken.status.success());
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(
        stderr.contains("rules[0] (x): pattern/detail/state"),
        "{stderr}"
    );
}
