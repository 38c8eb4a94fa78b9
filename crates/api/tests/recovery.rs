//! Recovery never settles an execution that a live engine still runs, even when this process
//! cannot see that engine's process: one in another PID namespace (a container sharing the data
//! directory) is alive for as long as its heartbeat is fresh.

use std::time::{Duration, Instant};

use pipewright_api::Pipewright;
use pipewright_api::model::{Format, PipelineDocument};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_in_another_pid_namespace_keeps_its_executions_while_it_beats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Pipewright::open(dir.path(), "first").await.expect("open");
    let document = PipelineDocument::parse(
        r#"{"name": "gate", "pipelineType": "V2", "stages": [{"name": "Approve", "actions": [{"name": "Release",
            "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}]}"#,
        Format::Json,
    )
    .expect("pipeline");
    first.import(&document, None).await.expect("import");
    let id = first
        .start("gate", &Default::default(), None)
        .await
        .expect("start");
    let deadline = Instant::now() + Duration::from_secs(20);
    while first.pending_approvals().await.expect("pending").is_empty() {
        assert!(Instant::now() < deadline, "the approval never waited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // As another namespace sees it: a pid that means nothing here.
    sqlx::query("UPDATE engines SET pid = 2147480000, pid_namespace = 'pid:[1]' WHERE id = ?")
        .bind(first.engine().id())
        .execute(first.engine().store().pool())
        .await
        .expect("stage the engine row");

    // Opening the data directory runs recovery.
    let second = Pipewright::open(dir.path(), "second")
        .await
        .expect("open again");
    let execution = second.get_execution("gate", &id).await.expect("execution");
    assert_eq!(
        execution.pipeline_execution.status, "InProgress",
        "the first engine still beats, so its execution is left alone"
    );
    let pending = second.pending_approvals().await.expect("pending");
    assert_eq!(pending.len(), 1);
    second
        .put_approval_result("gate", "Approve", "Release", &pending[0].token, true, "ok")
        .await
        .expect("approve");
    first.engine().finished(&id).await;
    let execution = first.get_execution("gate", &id).await.expect("execution");
    assert_eq!(execution.pipeline_execution.status, "Succeeded");
    second.close().await.expect("close");
    first.close().await.expect("close");
}
