//! Batch builds through the binary: a build matrix whose every combination runs, each with its
//! identifier and variables, its artifacts combined into the action's one output (a folder per
//! build); a build graph whose dependency fails, so what depends on it does not run and the
//! action fails, while a failure with ignore-failure does not count; fast-fail stopping a
//! build still running; stopping the action stopping its builds; each build's own id and number;
//! and artifacts matched to builds by name when they are not combined.

mod common;

use std::time::Instant;

use common::{Env, text, write};

fn pipeline(
    env: &Env,
    name: &str,
    buildspec: &str,
    configuration: serde_json::Value,
    outputs: &[&str],
) -> std::path::PathBuf {
    let dir = env.work.join(name);
    write(&dir.join("src/buildspec.yml"), buildspec);
    write(&dir.join("src/input.txt"), "from the source\n");
    let mut configuration = configuration;
    configuration["ProjectName"] = serde_json::json!("batched");
    configuration["BatchEnabled"] = serde_json::json!("true");
    let file = dir.join("pipeline.json");
    write(
        &file,
        &serde_json::json!({
            "name": name, "pipelineType": "V2",
            "stages": [
                {"name": "Source", "actions": [{"name": "Src",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "b", "S3ObjectKey": "src.zip"},
                    "outputArtifacts": [{"name": "Src"}]}]},
                {"name": "Build", "actions": [{"name": "Many",
                    "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "configuration": configuration,
                    "inputArtifacts": [{"name": "Src"}],
                    "outputArtifacts": outputs.iter().map(|o| serde_json::json!({"name": o})).collect::<Vec<_>>()}]}
            ]
        })
        .to_string(),
    );
    write(
        &dir.join("pipeline.pipewright.yaml"),
        "actions:\n  Source/Src: {path: src}\n",
    );
    file
}

fn batch_builds(env: &Env, name: &str) -> Vec<(String, String)> {
    let actions = env.json(&["actions", name, "--json"]);
    let many = actions["actionExecutionDetails"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["actionName"] == "Many")
        .expect("the batch action")
        .clone();
    many["batchBuilds"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|b| {
            (
                b["identifier"].as_str().unwrap_or_default().to_owned(),
                b["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_matrix_runs_every_combination_and_combines_their_artifacts() {
    let env = Env::new();
    let buildspec = r#"version: 0.2
batch:
  build-matrix:
    static:
      env:
        variables:
          COMMON: "3.10"
    dynamic:
      env:
        variables:
          OS: [linux, mac]
          MODE: [debug, release]
phases:
  build:
    commands:
      - mkdir -p out
      - echo "$CODEBUILD_BATCH_BUILD_IDENTIFIER $OS $MODE $COMMON" > out/built.txt
artifacts:
  files: out/built.txt
"#;
    let file = pipeline(
        &env,
        "matrix",
        buildspec,
        serde_json::json!({"CombineArtifacts": "true"}),
        &["All"],
    );
    let output = env.run(&env.work, &["run", file.to_str().expect("utf-8")]);
    assert!(output.status.success(), "{}", text(&output));
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("batch build build4"),
        "the run shows each build: {shown}"
    );

    let builds = batch_builds(&env, "matrix");
    assert_eq!(
        builds,
        [
            ("build1", "Succeeded"),
            ("build2", "Succeeded"),
            ("build3", "Succeeded"),
            ("build4", "Succeeded")
        ]
        .map(|(i, s)| (i.to_owned(), s.to_owned()))
    );
    let logs = env.logs("matrix", "Build/Many");
    assert!(
        logs.contains("Batch build (build-matrix): 4 builds"),
        "{logs}"
    );
    assert!(
        logs.contains("Build/Many[build3]"),
        "each build's log is shown under its identifier: {logs}"
    );
    let listed = env.ok(&["actions", "matrix"]);
    assert!(listed.contains("batch build build2"), "{listed}");

    let zip = env.work.join("all.zip");
    env.ok(&[
        "artifacts",
        "matrix",
        "--export",
        "All",
        "--output",
        zip.to_str().expect("utf-8"),
    ]);
    let mut lines = Vec::new();
    for build in ["build1", "build2", "build3", "build4"] {
        let inside = std::process::Command::new("unzip")
            .args([
                "-p",
                zip.to_str().expect("utf-8"),
                &format!("{build}/out/built.txt"),
            ])
            .output()
            .expect("unzip");
        lines.push(String::from_utf8_lossy(&inside.stdout).trim().to_owned());
    }
    lines.sort();
    assert_eq!(
        lines,
        [
            "build1 linux debug 3.10",
            "build2 linux release 3.10",
            "build3 mac debug 3.10",
            "build4 mac release 3.10"
        ]
    );
}

#[test]
fn a_graph_runs_in_order_and_a_failed_dependency_stops_what_depends_on_it() {
    let env = Env::new();
    write(
        &env.work.join("graph/src/ci/package.yml"),
        "version: 0.2\nphases:\n  build:\n    commands: [echo packaged]\n",
    );
    let buildspec = r#"version: 0.2
batch:
  build-graph:
    - identifier: compile
      env:
        variables: {STEP: compile}
    - identifier: lint
      ignore-failure: true
      env:
        variables: {STEP: lint, FAIL: "yes"}
    - identifier: test
      depend-on: [compile]
      env:
        variables: {STEP: test, FAIL: "yes"}
    - identifier: package
      buildspec: ci/package.yml
      depend-on: [test]
phases:
  build:
    commands:
      - echo "step $STEP"
      - if [ "$FAIL" = yes ]; then exit 1; fi
"#;
    let file = pipeline(&env, "graph", buildspec, serde_json::json!({}), &[]);
    let output = env.run(&env.work, &["run", file.to_str().expect("utf-8")]);
    assert!(!output.status.success(), "test failed: {}", text(&output));
    let builds = batch_builds(&env, "graph");
    assert_eq!(
        builds,
        [
            ("compile", "Succeeded"),
            ("lint", "Failed"),
            ("test", "Failed"),
            ("package", "Stopped")
        ]
        .map(|(i, s)| (i.to_owned(), s.to_owned()))
    );
    let state = env.json(&["state", "graph", "--json"]);
    let summary = common::action_summary(&state, "Build", "Many");
    assert!(
        summary.contains("4 builds, 1 succeeded, 2 not (test, package)"),
        "lint's failure is ignored: {summary}"
    );
}

#[test]
fn fast_fail_stops_the_builds_still_running() {
    let env = Env::new();
    let buildspec = r#"version: 0.2
batch:
  fast-fail: true
  build-list:
    - identifier: quick
      env:
        variables: {FAIL: "yes"}
    - identifier: slow
      env:
        variables: {SLEEP: "30"}
phases:
  build:
    commands:
      - if [ "$FAIL" = yes ]; then sleep 0.3; exit 1; fi
      - sleep "${SLEEP:-0}"
"#;
    let file = pipeline(&env, "fast", buildspec, serde_json::json!({}), &[]);
    let started = Instant::now();
    // Two at a time, so slow is running (not waiting) when quick fails, on any machine.
    let output = env.run(
        &env.work,
        &["run", file.to_str().expect("utf-8"), "--max-parallel", "2"],
    );
    assert!(!output.status.success());
    assert!(
        started.elapsed().as_secs() < 25,
        "slow did not run its 30 s"
    );
    let builds = batch_builds(&env, "fast");
    assert_eq!(
        builds,
        [("quick", "Failed"), ("slow", "Stopped")].map(|(i, s)| (i.to_owned(), s.to_owned()))
    );
    let logs = env.logs("fast", "Build/Many");
    assert!(
        logs.contains("Batch build slow started"),
        "slow was running when it was stopped: {logs}"
    );
}

#[test]
fn stopping_the_action_stops_its_builds_and_starts_no_more() {
    let env = Env::new();
    let buildspec = r#"version: 0.2
batch:
  build-list:
    - identifier: one
    - identifier: two
    - identifier: three
    - identifier: four
phases:
  build:
    commands:
      - echo "running $CODEBUILD_BATCH_BUILD_IDENTIFIER"
      - sleep 60
"#;
    let file = pipeline(&env, "halted", buildspec, serde_json::json!({}), &[]);
    let mut child = env.spawn(
        &env.work,
        &["run", file.to_str().expect("utf-8"), "--max-parallel", "2"],
    );
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    let running = || {
        env.wait_for_state("halted", |s| {
            common::action_status(s, "Build", "Many") == "InProgress"
        });
        batch_builds(&env, "halted")
            .iter()
            .filter(|(_, status)| status == "InProgress")
            .count()
    };
    while running() < 2 {
        assert!(Instant::now() < deadline, "two builds never ran");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let started = Instant::now();
    env.ok(&["stop", "halted", "--abandon", "--reason", "test"]);
    let status = child.wait().expect("the run ends");
    assert!(!status.success());
    assert!(
        started.elapsed().as_secs() < 30,
        "the builds did not sleep on"
    );
    assert_eq!(
        batch_builds(&env, "halted"),
        [
            ("one", "Stopped"),
            ("two", "Stopped"),
            ("three", "Stopped"),
            ("four", "Stopped")
        ]
        .map(|(i, s)| (i.to_owned(), s.to_owned()))
    );
    let logs = env.logs("halted", "Build/Many");
    assert!(
        !logs.contains("running three") && !logs.contains("running four"),
        "no build started after the stop: {logs}"
    );
}

#[test]
fn each_build_of_a_batch_has_its_own_build_id_and_number() {
    let env = Env::new();
    let buildspec = r#"version: 0.2
batch:
  build-list:
    - identifier: first
    - identifier: second
phases:
  build:
    commands:
      - echo "id=$CODEBUILD_BUILD_ID number=$CODEBUILD_BUILD_NUMBER arn=$CODEBUILD_BUILD_ARN"
"#;
    let file = pipeline(&env, "numbered", buildspec, serde_json::json!({}), &[]);
    let output = env.run(&env.work, &["run", file.to_str().expect("utf-8")]);
    assert!(output.status.success(), "{}", text(&output));
    let logs = env.logs("numbered", "Build/Many");
    let seen: Vec<(String, String, String)> = logs
        .lines()
        .filter_map(|line| line.split_once("id=").map(|(_, rest)| rest))
        .filter(|rest| !rest.starts_with('$'))
        .map(|rest| {
            let mut words = rest.split_whitespace();
            let id = words.next().unwrap_or_default().to_owned();
            let number = words.next().unwrap_or_default().to_owned();
            let arn = words.next().unwrap_or_default().to_owned();
            (id, number, arn)
        })
        .collect();
    assert_eq!(seen.len(), 2, "both builds printed: {logs}");
    assert_ne!(seen[0].0, seen[1].0, "each build has its own id");
    assert_ne!(seen[0].1, seen[1].1, "each build has its own number");
    for (id, number, arn) in &seen {
        assert!(id.starts_with("batched:"), "{id}");
        assert!(arn.ends_with(&format!("build/{id}")), "{arn}");
        let number: u32 = number
            .trim_start_matches("number=")
            .parse()
            .expect("a number");
        assert!(number >= 2, "the batch's own number comes first: {number}");
    }
}

#[test]
fn outputs_not_combined_are_the_builds_of_their_names() {
    let env = Env::new();
    let buildspec = r#"version: 0.2
batch:
  build-list:
    - identifier: web
      env:
        variables: {PART: web}
    - identifier: api
      env:
        variables: {PART: api}
phases:
  build:
    commands:
      - echo "$PART" > part.txt
artifacts:
  files: part.txt
"#;
    let file = pipeline(
        &env,
        "parts",
        buildspec,
        serde_json::json!({}),
        &["api", "web"],
    );
    let output = env.run(&env.work, &["run", file.to_str().expect("utf-8")]);
    assert!(output.status.success(), "{}", text(&output));
    for part in ["web", "api"] {
        let zip = env.work.join(format!("{part}.zip"));
        env.ok(&[
            "artifacts",
            "parts",
            "--export",
            part,
            "--output",
            zip.to_str().expect("utf-8"),
        ]);
        let inside = std::process::Command::new("unzip")
            .args(["-p", zip.to_str().expect("utf-8"), "part.txt"])
            .output()
            .expect("unzip");
        assert_eq!(String::from_utf8_lossy(&inside.stdout), format!("{part}\n"));
    }
    let file = pipeline(
        &env,
        "unmatched",
        buildspec,
        serde_json::json!({}),
        &["web", "docs"],
    );
    let output = env.run(&env.work, &["run", file.to_str().expect("utf-8")]);
    assert!(!output.status.success());
    let state = env.json(&["state", "unmatched", "--json"]);
    assert!(
        common::action_summary(&state, "Build", "Many").contains("docs matches no batch build"),
        "{state}"
    );
}
