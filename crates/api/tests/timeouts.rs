//! Timeouts, with the engine's clock under the test's control: an approval that waits longer
//! than its timeoutInMinutes (seven days without one) fails as expired, and an action that runs
//! longer than its timeout is killed, without the test waiting minutes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pipewright_api::Pipewright;
use pipewright_api::engine::EngineOptions;
use pipewright_api::engine::clock::ManualClock;
use pipewright_api::model::{Format, PipelineDocument};

async fn open(clock: Arc<ManualClock>) -> (tempfile::TempDir, Pipewright) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = EngineOptions::new(dir.path());
    options.clock = Some(clock);
    let api = Pipewright::open_with(options, "test").await.expect("open");
    (dir, api)
}

async fn import(api: &Pipewright, json: &str) {
    let document = PipelineDocument::parse(json, Format::Json).expect("pipeline");
    api.import(&document, None).await.expect("import");
}

/// Polls until `check` says yes about the latest action execution of `action`, for 20 s.
async fn wait_for_action(
    api: &Pipewright,
    pipeline: &str,
    action: &str,
    check: impl Fn(&str) -> bool,
) -> pipewright_api::ActionExecutionDetail {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = api
            .list_action_executions(pipeline, None)
            .await
            .expect("actions");
        if let Some(detail) = list
            .action_execution_details
            .into_iter()
            .find(|d| d.action_name == action)
            && check(&detail.status)
        {
            return detail;
        }
        assert!(
            Instant::now() < deadline,
            "{action} never reached the expected status"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_expires_after_its_timeout() {
    approval_expires_after(Some(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_without_a_timeout_waits_seven_days() {
    approval_expires_after(None).await;
}

/// An approval with `timeoutInMinutes` (or none: seven days) still waits a minute before it
/// expires, and fails as expired a minute after.
async fn approval_expires_after(timeout_in_minutes: Option<u64>) {
    let clock = ManualClock::new();
    let (_dir, api) = open(clock.clone()).await;
    let timeout = timeout_in_minutes
        .map(|m| format!(r#", "timeoutInMinutes": {m}"#))
        .unwrap_or_default();
    import(&api, &format!(r#"{{"name": "gate", "pipelineType": "V2", "stages": [{{"name": "Approve", "actions": [{{"name": "Release",
        "actionTypeId": {{"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}{timeout}}}]}}]}}"#)).await;
    let id = api
        .start("gate", &Default::default(), None)
        .await
        .expect("start");
    wait_for_action(&api, "gate", "Release", |s| s == "InProgress").await;
    let pending = api.pending_approvals().await.expect("pending");
    let minutes = timeout_in_minutes.unwrap_or(7 * 24 * 60);
    assert_eq!(
        pending[0].expires.expect("expiry").0 - pending[0].waiting_since.0,
        minutes as i64 * 60_000
    );
    clock.advance(Duration::from_secs((minutes - 1) * 60));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        api.pending_approvals().await.expect("pending").len(),
        1,
        "still waiting a minute before the timeout"
    );
    clock.advance(Duration::from_secs(2 * 60));
    let detail = wait_for_action(&api, "gate", "Release", |s| s == "Failed").await;
    let error = detail
        .output
        .execution_result
        .error_details
        .expect("error details");
    assert_eq!(error.code, "ApprovalExpired");
    api.engine().finished(&id).await;
    let execution = api.get_execution("gate", &id).await.expect("execution");
    assert_eq!(execution.pipeline_execution.status, "Failed");
    api.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_that_outlives_its_timeout_is_killed() {
    let clock = ManualClock::new();
    let (_dir, api) = open(clock.clone()).await;
    import(&api, r#"{"name": "slow", "pipelineType": "V2", "stages": [{"name": "Work", "actions": [{"name": "Hang",
        "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
        "commands": ["setsid sleep 98.25 > /dev/null 2>&1 < /dev/null &", "sleep 97.125"], "timeoutInMinutes": 1}]}]}"#).await;
    let id = api
        .start("slow", &Default::default(), None)
        .await
        .expect("start");
    wait_for_action(&api, "slow", "Hang", |s| s == "InProgress").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !process_with_argument("97.125") || !process_with_argument("98.25") {
        assert!(
            Instant::now() < deadline,
            "the action's processes never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    clock.advance(Duration::from_secs(61));
    let detail = wait_for_action(&api, "slow", "Hang", |s| s == "Failed").await;
    let error = detail
        .output
        .execution_result
        .error_details
        .expect("error details");
    assert_eq!(error.code, "ActionTimedOut", "{}", error.message);
    assert!(
        !process_with_argument("97.125"),
        "the timed-out action's processes are gone"
    );
    // While the engine still runs: one that left the action's process group is gone too.
    assert!(
        !process_with_argument("98.25"),
        "the process that left the action's group (setsid) is gone"
    );
    api.engine().finished(&id).await;
    api.close().await.expect("close");
}

/// Whether a live process has `argument` in its command line. A killed process that is not yet
/// reaped (a zombie) has an empty command line, so it does not count.
fn process_with_argument(argument: &str) -> bool {
    std::fs::read_dir("/proc")
        .expect("proc")
        .flatten()
        .any(|entry| {
            std::fs::read(entry.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(argument))
        })
}

/// The same for a build in a container: the timeout kills the container, which is then gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_build_that_outlives_its_timeout_is_removed() {
    const IMAGE: &str = "localhost/pipewright-test-busybox:1";
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/images/busybox.sh");
    let made = std::process::Command::new("bash")
        .arg(&script)
        .arg(IMAGE)
        .status()
        .expect("bash runs");
    assert!(
        made.success(),
        "the test image (./pipewright.sh test sets Podman up)"
    );
    let clock = ManualClock::new();
    let (dir, api) = open(clock.clone()).await;
    let document = PipelineDocument::parse(r#"{"name": "slowbox", "pipelineType": "V2", "stages": [{"name": "Work", "actions": [{"name": "Hang",
        "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
        "commands": ["sleep 96.5"], "timeoutInMinutes": 1}]}]}"#, Format::Json).expect("pipeline");
    let settings = pipewright_api::engine::settings::LocalSettings::parse(
        &format!("environment: {{image: '{IMAGE}'}}\n"),
        "slowbox.pipewright.yaml",
        dir.path(),
    )
    .expect("settings");
    api.import(&document, Some(&settings))
        .await
        .expect("import");
    let id = api
        .start("slowbox", &Default::default(), None)
        .await
        .expect("start");
    let running = wait_for_action(&api, "slowbox", "Hang", |s| s == "InProgress").await;
    assert!(
        running
            .ran_on
            .as_deref()
            .is_some_and(|on| on.contains(IMAGE)),
        "runs in the image: {:?}",
        running.ran_on
    );
    let container = format!("pipewright-{}", running.action_execution_id);
    let deadline = Instant::now() + Duration::from_secs(30);
    // The runtime's own process carries the command too, before its container exists.
    while !(container_exists(&container) && process_with_argument("96.5")) {
        assert!(
            Instant::now() < deadline,
            "the build's container never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    clock.advance(Duration::from_secs(61));
    let detail = wait_for_action(&api, "slowbox", "Hang", |s| s == "Failed").await;
    let error = detail
        .output
        .execution_result
        .error_details
        .expect("error details");
    assert_eq!(error.code, "ActionTimedOut", "{}", error.message);
    assert!(
        !container_exists(&container),
        "the timed-out build's container is gone"
    );
    assert!(!process_with_argument("96.5"), "and its processes with it");
    api.engine().finished(&id).await;
    api.close().await.expect("close");
}

fn container_exists(name: &str) -> bool {
    std::process::Command::new("podman")
        .args(["container", "exists", name])
        .status()
        .is_ok_and(|s| s.success())
}
