//! The AWS backend driving executions through a real CodePipeline endpoint: `pipewright serve`,
//! started on loopback with a data directory of its own. The SDK signs, sends and parses exactly
//! as it would against AWS.

use std::time::{Duration, Instant};

use indexmap::IndexMap;
use pipewright_api::model::{PipelineDeclaration, PipelineDocument};
use pipewright_api::{Backend, Pipewright};
use pipewright_aws::AwsBackend;

struct Served {
    local: Pipewright,
    aws: AwsBackend,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve() -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = Pipewright::open(dir.path(), "test").await.expect("open");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let api = local.clone();
    let server = tokio::spawn(async move {
        let _ = pipewright_server::serve(api, listener, None).await;
    });
    let credentials =
        aws_sdk_codepipeline::config::Credentials::new("test", "test", None, None, "test");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(credentials)
        .load()
        .await;
    Served {
        local,
        aws: AwsBackend::with_config(&config, "aws:test@us-east-1".into()),
        _dir: dir,
        server,
    }
}

fn pipeline(name: &str, release: serde_json::Value) -> PipelineDeclaration {
    let text = serde_json::json!({
        "name": name,
        "pipelineType": "V2",
        "executionMode": "PARALLEL",
        "stages": [
            {"name": "Build", "actions": [{"name": "Make", "commands": ["echo built"],
              "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}}]},
            {"name": "Release", "actions": [release]},
        ]
    })
    .to_string();
    PipelineDocument::parse(&text, pipewright_api::model::Format::Json)
        .expect("a valid pipeline")
        .pipeline
}

async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_waiting_on_aws_is_listed_and_approved() {
    let served = serve().await;
    let approval = serde_json::json!({"name": "Approve", "configuration": {"CustomData": "Ship it?",
        "ExternalEntityLink": "https://example.com/change/7"},
        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}});
    served
        .local
        .create_pipeline(&pipeline("web", approval), &[])
        .await
        .expect("create");
    let aws = &served.aws;

    let listed = aws.list_pipelines().await.expect("list");
    assert_eq!(listed.pipelines.len(), 1);
    assert!(listed.pipelines[0].latest_execution.is_none());
    let stored = aws.get_pipeline("web", None).await.expect("get");
    assert_eq!(stored.pipeline.stages.len(), 2);
    assert!(
        stored.metadata.created.0 > 0,
        "epoch seconds read back as a time"
    );

    let id = aws
        .start("web", &IndexMap::new(), None)
        .await
        .expect("start");
    wait_for("the approval to wait", || async {
        aws.pending_approvals()
            .await
            .is_ok_and(|waiting| !waiting.is_empty())
    })
    .await;
    let waiting = aws.pending_approvals().await.expect("approvals");
    assert_eq!(waiting.len(), 1);
    let approval = &waiting[0];
    assert_eq!(approval.pipeline_execution_id, id);
    assert_eq!(approval.custom_data.as_deref(), Some("Ship it?"));
    assert_eq!(
        approval.external_entity_link.as_deref(),
        Some("https://example.com/change/7")
    );

    let wrong = aws
        .put_approval_result("web", "Release", "Approve", "not-the-token", true, "no")
        .await
        .expect_err("a wrong token");
    assert_eq!(wrong.code, "InvalidApprovalTokenException");
    aws.put_approval_result("web", "Release", "Approve", &approval.token, true, "ok")
        .await
        .expect("approve");
    wait_for("the execution to succeed", || async {
        aws.get_execution("web", &id)
            .await
            .is_ok_and(|e| e.pipeline_execution.status == "Succeeded")
    })
    .await;

    let executions = aws.list_executions("web", 10).await.expect("executions");
    assert_eq!(
        executions.pipeline_execution_summaries[0].pipeline_execution_id,
        id
    );
    let actions = aws
        .list_action_executions("web", Some(&id))
        .await
        .expect("actions");
    let mut names: Vec<(&str, &str)> = actions
        .action_execution_details
        .iter()
        .map(|a| (a.action_name.as_str(), a.status.as_str()))
        .collect();
    names.sort_unstable();
    assert_eq!(names, [("Approve", "Succeeded"), ("Make", "Succeeded")]);
    let latest = aws.list_pipelines().await.expect("list");
    assert_eq!(
        latest.pipelines[0]
            .latest_execution
            .as_ref()
            .map(|e| e.status.as_str()),
        Some("Succeeded")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_retry_and_transitions_go_through() {
    let served = serve().await;
    let sleep = serde_json::json!({"name": "Wait", "commands": ["sleep 60"],
        "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}});
    served
        .local
        .create_pipeline(&pipeline("slow", sleep), &[])
        .await
        .expect("create");
    let aws = &served.aws;
    let id = aws
        .start("slow", &IndexMap::new(), None)
        .await
        .expect("start");
    wait_for("the release stage to run", || async {
        aws.get_pipeline_state("slow").await.is_ok_and(|state| {
            state.stage_states[1]
                .latest_execution
                .as_ref()
                .is_some_and(|e| e.status == "InProgress")
        })
    })
    .await;
    aws.stop("slow", &id, true, Some("enough"))
        .await
        .expect("stop");
    wait_for("the execution to stop", || async {
        aws.get_execution("slow", &id)
            .await
            .is_ok_and(|e| e.pipeline_execution.status == "Stopped")
    })
    .await;
    // A stopped stage can be retried; the retry runs (and is stopped again).
    aws.retry("slow", "Release", &id, true)
        .await
        .expect("retry");
    wait_for("the retry to run", || async {
        aws.get_execution("slow", &id)
            .await
            .is_ok_and(|e| e.pipeline_execution.status == "InProgress")
    })
    .await;
    aws.stop("slow", &id, true, None).await.expect("stop again");
    // Stopped for good before the test ends, so no process of it outlives the test.
    wait_for("the retried execution to stop", || async {
        aws.get_execution("slow", &id)
            .await
            .is_ok_and(|e| e.pipeline_execution.status == "Stopped")
    })
    .await;

    aws.set_transition("slow", "Release", false, Some("freeze"))
        .await
        .expect("disable");
    let state = aws.get_pipeline_state("slow").await.expect("state");
    let gate = &state.stage_states[1].inbound_transition_state;
    assert!(!gate.enabled);
    assert_eq!(gate.disabled_reason.as_deref(), Some("freeze"));
    aws.set_transition("slow", "Release", true, None)
        .await
        .expect("enable");
}

#[tokio::test]
async fn errors_keep_their_aws_names() {
    let served = serve().await;
    let missing = served
        .aws
        .get_pipeline_state("no-such-pipeline")
        .await
        .expect_err("unknown pipeline");
    assert_eq!(missing.code, "PipelineNotFoundException");

    // Nothing listens on the endpoint: the error says AWS could not be reached.
    let credentials =
        aws_sdk_codepipeline::config::Credentials::new("test", "test", None, None, "test");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(credentials)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let nowhere = AwsBackend::with_config(&config, "aws:nowhere".into());
    let error = nowhere.list_pipelines().await.expect_err("nothing listens");
    assert_eq!(error.code, "ConnectionError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watching_turns_aws_state_into_the_engine_s_events() {
    let served = serve().await;
    let approval = serde_json::json!({"name": "Approve",
        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}});
    served
        .local
        .create_pipeline(&pipeline("watched", approval), &[])
        .await
        .expect("create");
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    let watcher = {
        let aws = served.aws.clone();
        tokio::spawn(async move {
            let pacing = pipewright_aws::watch::Pacing {
                busy: Duration::from_millis(100),
                idle: Duration::from_millis(200),
                max_backoff: Duration::from_secs(2),
                ..Default::default()
            };
            let _ = pipewright_aws::watch::watch(
                &aws,
                &["watched".to_owned()],
                pacing,
                None,
                |events| events.into_iter().all(|e| sender.send(e).is_ok()),
            )
            .await;
        })
    };
    // The first look is the baseline; the execution starts after it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = served
        .aws
        .start("watched", &IndexMap::new(), None)
        .await
        .expect("start");
    let mut seen = Vec::new();
    let mut next = async || -> serde_json::Value {
        let event = tokio::time::timeout(Duration::from_secs(30), received.recv())
            .await
            .expect("an event in time")
            .expect("the watcher runs");
        let detail = &event["detail"];
        seen.push(format!(
            "{} {}",
            detail["action"]
                .as_str()
                .or(detail["stage"].as_str())
                .unwrap_or("pipeline"),
            detail["state"].as_str().unwrap_or_default()
        ));
        event
    };
    loop {
        let event = next().await;
        if event["detail"]["action"] == "Approve" && event["detail"]["state"] == "STARTED" {
            assert_eq!(event["detail"]["execution-id"], id.as_str());
            assert_eq!(event["detail"]["type"]["provider"], "Manual");
            break;
        }
    }
    let waiting = served.aws.pending_approvals().await.expect("approvals");
    served
        .aws
        .put_approval_result(
            "watched",
            "Release",
            "Approve",
            &waiting[0].token,
            true,
            "ok",
        )
        .await
        .expect("approve");
    loop {
        let event = next().await;
        if event["detail-type"] == "CodePipeline Pipeline Execution State Change"
            && event["detail"]["state"] == "SUCCEEDED"
        {
            break;
        }
    }
    watcher.abort();
    assert!(seen.contains(&"Approve SUCCEEDED".to_owned()), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nudge_looks_at_that_pipeline_at_once() {
    let served = serve().await;
    let approval = serde_json::json!({"name": "Approve",
        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}});
    for name in ["quiet", "touched"] {
        served
            .local
            .create_pipeline(&pipeline(name, approval.clone()), &[])
            .await
            .expect("create");
    }
    let nudge = pipewright_aws::watch::Nudge::new();
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    let watcher = {
        let (aws, nudge) = (served.aws.clone(), nudge.clone());
        tokio::spawn(async move {
            // Idle pipelines would be looked at again only after ten minutes.
            let pacing = pipewright_aws::watch::Pacing {
                busy: Duration::from_millis(100),
                idle: Duration::from_secs(600),
                ..Default::default()
            };
            let _ = pipewright_aws::watch::watch(&aws, &[], pacing, Some(&nudge), |events| {
                events.into_iter().all(|e| sender.send(e).is_ok())
            })
            .await;
        })
    };
    // The first looks (the baseline) are done once both pipelines were listed and looked at.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let id = served
        .aws
        .start("touched", &IndexMap::new(), None)
        .await
        .expect("start");
    nudge.pipeline("touched");
    let event = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("the nudged pipeline told in time, not at its idle pace")
        .expect("the watcher runs");
    assert_eq!(event["detail"]["pipeline"], "touched");
    assert_eq!(event["detail"]["execution-id"], id.as_str());
    watcher.abort();
}

/// A `pipewright serve` behind faults: the next `throttle` requests get AWS's ThrottlingException,
/// and the next `drop` connections are closed as soon as they open. `calls` counts the requests
/// by operation.
struct Faulty {
    endpoint: String,
    throttle: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    calls: Calls,
    drop: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    local: Pipewright,
    _dir: tempfile::TempDir,
}

async fn faulty() -> Faulty {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let dir = tempfile::tempdir().expect("tempdir");
    let local = Pipewright::open(dir.path(), "test").await.expect("open");
    let throttle = Arc::new(AtomicUsize::new(0));
    let left = throttle.clone();
    let calls = Calls::default();
    let counted = calls.clone();
    let app = pipewright_server::router(local.clone(), None).layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let left = left.clone();
            counted.count(&request);
            async move {
                let throttled = left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if throttled {
                    let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
                    return axum::response::IntoResponse::into_response((
                        axum::http::StatusCode::BAD_REQUEST,
                        [("content-type", "application/x-amz-json-1.1")],
                        body,
                    ));
                }
                next.run(request).await
            }
        },
    ));
    let inner = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let inner_address = inner.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(inner, app).await;
    });
    // In front: a TCP relay that drops a connection as a request arrives on it, while told to
    // (the SDK keeps connections open, so a drop lands in the middle of its polling).
    let outer = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", outer.local_addr().expect("address"));
    let drop = Arc::new(AtomicUsize::new(0));
    let to_drop = drop.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = outer.accept().await {
            let to_drop = to_drop.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let Ok(server) = tokio::net::TcpStream::connect(inner_address).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let back = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
                let mut buffer = vec![0u8; 64 * 1024];
                while let Ok(read) = client_read.read(&mut buffer).await {
                    if read == 0 {
                        break;
                    }
                    let dropping = to_drop
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if dropping || server_write.write_all(&buffer[..read]).await.is_err() {
                        break;
                    }
                }
                back.abort();
            });
        }
    });
    Faulty {
        endpoint,
        throttle,
        calls,
        drop,
        local,
        _dir: dir,
    }
}

/// Requests by operation (`X-Amz-Target` without its prefix).
#[derive(Clone, Debug, Default)]
struct Calls(std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>);

impl Calls {
    fn count(&self, request: &axum::extract::Request) {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("(none)")
            .to_owned();
        if let Ok(mut calls) = self.0.lock() {
            *calls.entry(target).or_default() += 1;
        }
    }

    /// The counts so far, and zero again.
    fn take(&self) -> std::collections::BTreeMap<String, u64> {
        self.0
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }
}

async fn backend_at(endpoint: &str) -> AwsBackend {
    let credentials =
        aws_sdk_codepipeline::config::Credentials::new("test", "test", None, None, "test");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .load()
        .await;
    AwsBackend::with_config(&config, "aws:faulty".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_dropped_connections_are_ridden_out_and_pages_followed() {
    use std::sync::atomic::Ordering;

    let faulty = faulty().await;
    for n in 0..130 {
        let make = serde_json::json!({"name": "Make", "commands": ["true"],
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}});
        faulty
            .local
            .create_pipeline(&pipeline(&format!("p{n:03}"), make), &[])
            .await
            .expect("create");
    }
    let aws = backend_at(&faulty.endpoint).await;

    // More pipelines than one page holds (100), read through the pages.
    assert_eq!(aws.pipeline_names().await.expect("names").len(), 130);

    // The SDK retries a throttled call with back-off: two throttles in a row still succeed.
    faulty.throttle.store(2, Ordering::SeqCst);
    aws.get_pipeline_state("p000")
        .await
        .expect("answered after two throttles");
    assert_eq!(
        faulty.throttle.load(Ordering::SeqCst),
        0,
        "both throttles were met"
    );

    // The watcher rides out throttling and dropped connections mid-poll and still tells the end.
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    let watcher = {
        let aws = aws.clone();
        tokio::spawn(async move {
            let pacing = pipewright_aws::watch::Pacing {
                busy: Duration::from_millis(50),
                idle: Duration::from_millis(100),
                max_backoff: Duration::from_millis(400),
                ..Default::default()
            };
            let _ =
                pipewright_aws::watch::watch(&aws, &["p001".to_owned()], pacing, None, |events| {
                    events.into_iter().all(|e| sender.send(e).is_ok())
                })
                .await;
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = aws
        .start("p001", &IndexMap::new(), None)
        .await
        .expect("start");
    faulty.throttle.store(10, Ordering::SeqCst);
    faulty.drop.store(3, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let event = tokio::time::timeout_at(deadline.into(), received.recv())
            .await
            .expect("the end of the execution, told in time")
            .expect("the watcher runs");
        if event["detail-type"] == "CodePipeline Pipeline Execution State Change"
            && event["detail"]["execution-id"] == id.as_str()
            && event["detail"]["state"] == "SUCCEEDED"
        {
            break;
        }
    }
    watcher.abort();
    assert_eq!(
        faulty.throttle.load(Ordering::SeqCst),
        0,
        "the throttles were met"
    );
    assert_eq!(faulty.drop.load(Ordering::SeqCst), 0, "the drops were met");
}

/// Benchmark (opt-in, prints figures, asserts nothing): API calls per minute while the watcher, as
/// the app runs it (every pipeline, default pacing), watches 100 idle pipelines and 5 whose
/// executions run (wait for an approval).
/// `cargo test -p pipewright-aws --test against_serve -- --ignored --nocapture watching_cost`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: about 80 s"]
async fn watching_cost_benchmark() {
    let faulty = faulty().await;
    let make = serde_json::json!({"name": "Ship", "commands": ["true"],
        "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}});
    let approval = serde_json::json!({"name": "Approve",
        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}});
    for n in 0..105 {
        let release = if n < 100 {
            make.clone()
        } else {
            approval.clone()
        };
        let name = format!("p{n:03}");
        let local = &faulty.local;
        local
            .create_pipeline(&pipeline(&name, release), &[])
            .await
            .expect("create");
        local
            .start(&name, &IndexMap::new(), None)
            .await
            .expect("start");
    }
    wait_for("the idle pipelines' executions to end", || async {
        let approvals = faulty.local.pending_approvals().await.expect("approvals");
        let pipelines = faulty.local.list_pipelines().await.expect("list").pipelines;
        approvals.len() == 5
            && pipelines
                .iter()
                .filter(|p| {
                    p.latest_execution
                        .as_ref()
                        .is_some_and(|e| e.status == "Succeeded")
                })
                .count()
                == 100
    })
    .await;
    let aws = backend_at(&faulty.endpoint).await;
    let watcher = tokio::spawn(async move {
        let pacing = pipewright_aws::watch::Pacing::default();
        let _ = pipewright_aws::watch::watch(&aws, &[], pacing, None, |_| true).await;
    });
    tokio::time::sleep(Duration::from_secs(15)).await;
    let first = faulty.calls.take();
    let window = Duration::from_secs(60);
    tokio::time::sleep(window).await;
    let steady = faulty.calls.take();
    watcher.abort();
    let total = |calls: &std::collections::BTreeMap<String, u64>| calls.values().sum::<u64>();
    println!(
        "watching 100 idle + 5 running pipelines, default pacing (busy 3 s, idle 30 s, list every minute):"
    );
    println!(
        "  first 15 s (first looks: state and declaration of each): {} calls {first:?}",
        total(&first)
    );
    println!(
        "  then {} calls in {} s = {:.0} calls/minute {steady:?}",
        total(&steady),
        window.as_secs(),
        total(&steady) as f64 * 60.0 / window.as_secs_f64()
    );
}
