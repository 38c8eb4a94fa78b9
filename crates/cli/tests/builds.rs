//! CodeBuild builds as CodeBuild runs them, through the real `pipewright` binary: buildspecs as
//! CodeBuild reads them (version 0.1, one string for a list, what is not done locally named),
//! and builds in container images with Podman: the environment CodeBuild gives, privileged
//! mode, credentials only when asked, the host fallback, and no container left behind by a
//! stop or a crash.
//!
//! The image is made here from Debian's busybox-static by `tests/images/busybox.sh` (no image
//! registry is reachable); `./pipewright.sh test` installs Podman and sets it up.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use common::*;

const IMAGE: &str = "localhost/pipewright-test-busybox:1";

/// A source folder and a pipeline whose CodeBuild action runs `buildspec`, with `settings` added
/// to the local settings (which map the source to the folder).
fn build_pipeline(env: &Env, name: &str, buildspec: &str, settings: &str) -> std::path::PathBuf {
    write(
        &env.work.join(format!("{name}-src/buildspec.yml")),
        buildspec,
    );
    write(
        &env.work.join(format!("{name}-src/input.txt")),
        "from the source\n",
    );
    let pipeline = format!(
        r#"name: {name}
pipelineType: V2
stages:
  - name: Source
    actions:
      - name: Src
        actionTypeId: {{category: Source, owner: AWS, provider: S3, version: '1'}}
        configuration: {{S3Bucket: b, S3ObjectKey: src.zip}}
        outputArtifacts: [{{name: Src}}]
  - name: Build
    actions:
      - name: Compile
        actionTypeId: {{category: Build, owner: AWS, provider: CodeBuild, version: '1'}}
        configuration: {{ProjectName: p}}
        inputArtifacts: [{{name: Src}}]
        outputArtifacts: [{{name: Out}}]
"#
    );
    let file = env.work.join(format!("{name}.yaml"));
    write(&file, &pipeline);
    write(
        &env.work.join(format!("{name}.pipewright.yaml")),
        &format!("actions:\n  Source/Src: {{path: {name}-src}}\n{settings}"),
    );
    file
}

/// Makes sure Podman can run the test image here (`tests/images/busybox.sh` makes it once).
/// Every test that calls this needs Podman, which `./pipewright.sh test` installs and sets up.
fn podman() {
    static READY: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    READY.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/images/busybox.sh");
        let output = Command::new("bash")
            .arg(&script)
            .arg(IMAGE)
            .output()
            .expect("bash runs");
        assert!(
            output.status.success(),
            "the test image could not be made (./pipewright.sh test installs and sets up Podman): {}",
            text(&output)
        );
    });
}

fn container_named(action_execution_id: &str) -> bool {
    Command::new("podman")
        .args([
            "container",
            "exists",
            &format!("pipewright-{action_execution_id}"),
        ])
        .status()
        .is_ok_and(|s| s.success())
}

const IN_IMAGE: &str = r#"version: 0.2
env:
  exported-variables: [WHERE]
phases:
  build:
    commands:
      - cat /etc/pipewright-test-image 2>/dev/null || echo "not in the image"
      - echo "src=$CODEBUILD_SRC_DIR pwd=$(pwd)"
      - echo "image=${CODEBUILD_BUILD_IMAGE:-none} initiator=$CODEBUILD_INITIATOR"
      - echo "key-length=${#AWS_SECRET_ACCESS_KEY}"
      - echo built > made.txt
      - export WHERE=$(cat /etc/pipewright-test-image 2>/dev/null || echo host)
artifacts:
  files: [made.txt, input.txt]
"#;

#[test]
fn a_build_with_an_image_runs_in_a_container_as_codebuild_lays_it_out() {
    podman();
    let env = Env::new();
    let file = build_pipeline(
        &env,
        "inimage",
        IN_IMAGE,
        &format!("environment: {{image: '{IMAGE}'}}\n"),
    );
    let output = env
        .command(&env.work, &["run", &file.display().to_string()])
        .env("AWS_SECRET_ACCESS_KEY", "do-not-pass-me")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", text(&output));
    let shown = text(&output);
    assert!(
        shown.contains(&format!(
            "Build/Compile                ● InProgress  on image {IMAGE} (podman)"
        )),
        "the run says where the build runs: {shown}"
    );
    let log = env.logs("inimage", "Build/Compile");
    assert!(log.contains("inside the test image"), "{log}");
    assert!(
        log.contains(&format!("running on image {IMAGE} (podman)")),
        "{log}"
    );
    let src = log
        .lines()
        .find_map(|l| l.split_once("src=/").map(|(_, rest)| format!("/{rest}")))
        .expect("the src line");
    let (dir, pwd) = src.split_once(" pwd=").expect("pwd");
    assert!(dir.starts_with("/codebuild/output/src"), "{src}");
    assert!(dir.ends_with("/src"), "{src}");
    assert_eq!(dir, pwd, "the build starts in CODEBUILD_SRC_DIR");
    assert!(
        log.contains(&format!("image={IMAGE} initiator=codepipeline/inimage")),
        "{log}"
    );
    assert!(
        log.contains("key-length=0"),
        "no credentials unless the settings ask: {log}"
    );

    let state = env.json(&["state", "inimage", "--json"]);
    assert_eq!(
        latest(&state, "Build", "Compile")["ranOn"],
        format!("image {IMAGE} (podman)")
    );
    assert!(latest(&state, "Source", "Src")["ranOn"].is_null());
    let actions = env.json(&["actions", "inimage", "--json"]);
    let compile = actions["actionExecutionDetails"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["actionName"] == "Compile"))
        .expect("Compile");
    assert_eq!(
        compile["output"]["outputVariables"]["WHERE"],
        "inside the test image"
    );
    assert_eq!(compile["ranOn"], format!("image {IMAGE} (podman)"));

    // The build wrote into its own copy: the source folder is as it was.
    assert!(!env.work.join("inimage-src/made.txt").exists());
    let out = env.temp.path().join("out.zip");
    env.ok(&[
        "artifacts",
        "inimage",
        "--export",
        "Out",
        "--output",
        &out.display().to_string(),
    ]);
    let listing = Command::new("unzip")
        .arg("-l")
        .arg(&out)
        .output()
        .expect("unzip");
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("made.txt") && listing.contains("input.txt"),
        "{listing}"
    );
    assert!(!container_named(
        compile["actionExecutionId"].as_str().unwrap_or("")
    ));
}

#[test]
fn host_runs_the_same_build_on_this_machine_and_says_so() {
    podman();
    let env = Env::new();
    let file = build_pipeline(
        &env,
        "onhost",
        IN_IMAGE,
        &format!("environment: {{image: '{IMAGE}'}}\n"),
    );
    let output = env.run(&env.work, &["run", &file.display().to_string(), "--host"]);
    assert!(output.status.success(), "{}", text(&output));
    let log = env.logs("onhost", "Build/Compile");
    assert!(log.contains("not in the image"), "{log}");
    assert!(log.contains("running on this machine"), "{log}");
    let state = env.json(&["state", "onhost", "--json"]);
    assert_eq!(latest(&state, "Build", "Compile")["ranOn"], "this machine");
    let shown = env.ok(&["state", "onhost"]);
    assert!(shown.contains("on this machine"), "{shown}");
}

#[test]
fn credentials_reach_a_container_build_only_when_the_settings_say_so_and_never_the_log() {
    podman();
    let env = Env::new();
    let file = build_pipeline(
        &env,
        "creds",
        IN_IMAGE,
        &format!("environment: {{image: '{IMAGE}', awsCredentials: environment}}\n"),
    );
    let secret = "s3cr3t-value-0123456789";
    let output = env
        .command(&env.work, &["run", &file.display().to_string()])
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", text(&output));
    let log = env.logs("creds", "Build/Compile");
    assert!(
        log.contains(&format!("key-length={}", secret.len())),
        "{log}"
    );
    assert!(!log.contains(secret), "{log}");
    for entry in std::fs::read_dir(&env.data).expect("data dir").flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("pipewright.")
        {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the secret",
                entry.path().display()
            );
        }
    }
}

#[test]
fn privileged_mode_allows_what_a_plain_container_may_not() {
    podman();
    let env = Env::new();
    let buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted > made.txt\nartifacts:\n  files: [made.txt]\n";
    let file = build_pipeline(
        &env,
        "plain",
        buildspec,
        &format!("environment: {{image: '{IMAGE}'}}\n"),
    );
    let output = env.run(&env.work, &["run", &file.display().to_string()]);
    assert!(
        !output.status.success(),
        "mounting needs privileged mode: {}",
        text(&output)
    );

    let file = build_pipeline(
        &env,
        "privileged",
        buildspec,
        &format!("  Build/Compile: {{image: '{IMAGE}', privileged: true}}\n"),
    );
    let output = env.run(&env.work, &["run", &file.display().to_string()]);
    assert!(output.status.success(), "{}", text(&output));
    let state = env.json(&["state", "privileged", "--json"]);
    assert_eq!(
        latest(&state, "Build", "Compile")["ranOn"],
        format!("image {IMAGE} (podman, privileged)")
    );
}

/// Starts a build that sleeps, and waits until its container runs. Returns the run and the
/// action execution's id.
fn start_sleeping_build(env: &Env, name: &str) -> (std::process::Child, String) {
    let buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300\n";
    let file = build_pipeline(
        env,
        name,
        buildspec,
        &format!("environment: {{image: '{IMAGE}'}}\n"),
    );
    let child = env.spawn(&env.work, &["run", &file.display().to_string()]);
    let state = env.wait_for_state(name, |s| {
        action_status(s, "Build", "Compile") == "InProgress"
    });
    let id = latest(&state, "Build", "Compile")["actionExecutionId"]
        .as_str()
        .expect("id")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !container_named(&id) {
        assert!(Instant::now() < deadline, "the container never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, id)
}

#[test]
fn stop_and_abandon_removes_the_build_container() {
    podman();
    let env = Env::new();
    let (mut child, id) = start_sleeping_build(&env, "stopped");
    env.ok(&["stop", "stopped", "--abandon", "--reason", "test"]);
    let status = child.wait().expect("run ends");
    assert!(!status.success());
    let state = env.json(&["state", "stopped", "--json"]);
    assert_eq!(action_status(&state, "Build", "Compile"), "Abandoned");
    assert!(!container_named(&id), "the container outlived its action");
}

#[test]
fn recovery_removes_the_containers_of_a_dead_engine() {
    podman();
    let env = Env::new();
    let (mut child, id) = start_sleeping_build(&env, "crashed");
    // SIGKILL: the engine gets no chance to clean up; conmon keeps the container running.
    child.kill().expect("kill");
    let _ = child.wait();
    assert!(
        container_named(&id),
        "the container runs on after its engine died"
    );
    // Any command opens an engine, which recovers what the dead one left.
    env.ok(&["executions", "crashed"]);
    assert!(
        !container_named(&id),
        "recovery left the dead engine's container"
    );
    let state = env.json(&["state", "crashed", "--json"]);
    assert_eq!(action_status(&state, "Build", "Compile"), "Failed");
}

#[test]
fn version_0_1_runs_each_command_in_its_own_shell_and_one_string_is_a_list() {
    let env = Env::new();
    let buildspec = "version: 0.1\nphases:\n  build:\n    commands:\n      - cd /tmp && export GONE=yes\n      - echo \"pwd-is-src=$([ \"$(pwd)\" = \"$CODEBUILD_SRC_DIR\" ] && echo yes) gone=${GONE:-no}\"\n      - echo built > made.txt\n  post_build:\n    commands: echo one string\nartifacts:\n  files: made.txt\nreports:\n  unit:\n    files: ['**/*.xml']\nsteps: [make]\n";
    let file = build_pipeline(&env, "old", buildspec, "");
    let output = env.run(&env.work, &["run", &file.display().to_string()]);
    assert!(output.status.success(), "{}", text(&output));
    let log = env.logs("old", "Build/Compile");
    assert!(log.contains("Buildspec version 0.1"), "{log}");
    assert!(log.contains("pwd-is-src=yes gone=no"), "{log}");
    assert!(log.contains("one string"), "{log}");
    assert!(
        log.contains("Report group unit: no files matched **/*.xml"),
        "{log}"
    );
    // Named before the first command runs.
    let notes = log.find("Not done locally: /steps").expect(&log);
    assert!(
        notes < log.find("Entering phase BUILD").expect(&log),
        "{log}"
    );
}

#[test]
fn a_windows_shell_and_a_batch_only_buildspec_without_batch_builds_are_refused_before_anything_runs()
 {
    let env = Env::new();
    let file = build_pipeline(
        &env,
        "windows",
        "version: 0.2\nenv:\n  shell: powershell.exe\nphases:\n  build:\n    commands: [dir]\n",
        "",
    );
    let output = env.run(&env.work, &["run", &file.display().to_string()]);
    assert!(!output.status.success());
    let state = env.json(&["state", "windows", "--json"]);
    let summary = action_summary(&state, "Build", "Compile");
    assert!(
        summary.contains("Windows builds do not run here"),
        "{summary}"
    );

    let file = build_pipeline(
        &env,
        "onlybatch",
        "version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n",
        "",
    );
    let output = env.run(&env.work, &["run", &file.display().to_string()]);
    assert!(!output.status.success());
    let state = env.json(&["state", "onlybatch", "--json"]);
    let summary = action_summary(&state, "Build", "Compile");
    assert!(summary.contains("BatchEnabled"), "{summary}");
}

#[test]
fn stored_values_come_from_the_settings_masked_and_a_missing_one_is_named() {
    let env = Env::new();
    let buildspec = r#"version: 0.2
env:
  parameter-store:
    DB_HOST: /app/db-host
    NOT_HERE: /app/not-in-settings
  secrets-manager:
    DB_PASSWORD: prod/db:password
phases:
  build:
    commands:
      - echo "host=$DB_HOST password=$DB_PASSWORD token=$TOKEN"
      - '[ "$DB_PASSWORD" = hunter2-s3cret ] && [ "$TOKEN" = t0ken-value ] && echo "secrets set"'
      - echo "not-here=${NOT_HERE:-unset}"
artifacts:
  files: input.txt
"#;
    let file = build_pipeline(
        &env,
        "stored",
        buildspec,
        "parameterStore: {/app/db-host: db.internal}\n\
         secretsManager:\n  prod/db: '{\"password\": \"hunter2-s3cret\"}'\n  api/token: {env: PW_TEST_TOKEN}\n",
    );
    // The action's EnvironmentVariables may name stored values too (type SECRETS_MANAGER).
    let pipeline = std::fs::read_to_string(&file).expect("pipeline").replace(
        "configuration: {ProjectName: p}",
        r#"configuration: {ProjectName: p, EnvironmentVariables: '[{"name": "TOKEN", "value": "api/token", "type": "SECRETS_MANAGER"}]'}"#,
    );
    write(&file, &pipeline);
    let output = env
        .command(&env.work, &["run", &file.display().to_string()])
        .env("PW_TEST_TOKEN", "t0ken-value")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", text(&output));
    let log = env.logs("stored", "Build/Compile");
    assert!(log.contains("host=*** password=*** token=***"), "{log}");
    assert!(log.contains("secrets set"), "{log}");
    assert!(log.contains("not-here=unset"), "{log}");
    let note = log
        .lines()
        .find(|l| l.contains("Not done locally: /env: NOT_HERE"))
        .unwrap_or_else(|| panic!("the missing value is named: {log}"));
    let first_command = log.find("host=").expect("the build ran");
    assert!(
        log.find(note).is_some_and(|at| at < first_command),
        "named before the first command: {log}"
    );
    // A value written in the settings is stored with them; one read from the environment is not.
    for entry in std::fs::read_dir(&env.data).expect("data dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("readable");
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("t0ken-value"),
                "{} holds the secret from the environment",
                path.display()
            );
        }
    }
}

#[test]
fn a_container_build_s_cache_keeps_its_absolute_folders_between_runs() {
    podman();
    let env = Env::new();
    let buildspec = r#"version: 0.2
phases:
  build:
    commands:
      - mkdir -p /root/.deps
      - |
        if [ -f /root/.deps/fetched ]; then
          echo "deps from the cache: $(cat /root/.deps/fetched)"
        else
          echo fetched-once > /root/.deps/fetched; echo fetched
        fi
      - echo built > made.txt
cache:
  paths:
    - /root/.deps/**/*
artifacts:
  files: made.txt
"#;
    let file = build_pipeline(
        &env,
        "cached",
        buildspec,
        &format!("  Build/Compile: {{image: \"{IMAGE}\"}}\n"),
    );
    for round in 0..2 {
        let output = env.run(&env.work, &["run", &file.display().to_string()]);
        assert!(output.status.success(), "round {round}: {}", text(&output));
    }
    let executions = env.executions("cached");
    let second = executions[0]["pipelineExecutionId"].as_str().expect("id");
    let log = env.ok(&[
        "logs",
        "cached",
        "--execution",
        second,
        "--action",
        "Build/Compile",
    ]);
    assert!(
        log.contains("Cache: restored 1 files from the project's cache"),
        "{log}"
    );
    assert!(log.contains("deps from the cache: fetched-once"), "{log}");
}

#[test]
fn a_build_knows_its_number_its_project_and_the_commit_it_builds() {
    let env = Env::new();
    let repo = env.work.join("repo");
    write(
        &repo.join("buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"number=$CODEBUILD_BUILD_NUMBER id=$CODEBUILD_BUILD_ID resolved=$CODEBUILD_RESOLVED_SOURCE_VERSION ci=$CODEBUILD_CI\"\n",
    );
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    let file = env.work.join("numbered.json");
    write(
        &file,
        &serde_json::json!({"name": "numbered", "pipelineType": "V2", "stages": [
            {"name": "Source", "actions": [{"name": "App",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                "configuration": {"BranchName": "main"}, "outputArtifacts": [{"name": "Code"}]}]},
            {"name": "Build", "actions": [{"name": "Make",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "numbered-build"}, "inputArtifacts": [{"name": "Code"}]}]}
        ]})
        .to_string(),
    );
    write(
        &env.work.join("numbered.pipewright.yaml"),
        "actions:\n  Source/App: {path: repo}\n",
    );
    for expected in 1..=2 {
        let output = env.run(&env.work, &["run", &file.display().to_string()]);
        assert!(output.status.success(), "{}", text(&output));
        let log = env.logs("numbered", "Build/Make");
        assert!(
            log.contains(&format!("number={expected} id=numbered-build:"))
                && log.contains(&format!("resolved={commit} ci=true")),
            "{log}"
        );
    }
}
