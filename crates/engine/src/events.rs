//! EventBridge-shaped state-change events, field for field as CodePipeline sends them
//! (source `aws.codepipeline`, the three detail-types, `detail` with pipeline, version,
//! execution-id, state, and stage/action fields where they apply).

use serde_json::{Value, json};

use crate::status::{ActionStatus, ExecutionStatus, StageStatus};

pub const PIPELINE_DETAIL_TYPE: &str = "CodePipeline Pipeline Execution State Change";
pub const STAGE_DETAIL_TYPE: &str = "CodePipeline Stage Execution State Change";
pub const ACTION_DETAIL_TYPE: &str = "CodePipeline Action Execution State Change";

/// The local engine's stand-ins for an account and a region, used in ARNs and events.
pub const LOCAL_ACCOUNT: &str = "000000000000";
pub const LOCAL_REGION: &str = "local";

pub fn pipeline_arn(pipeline: &str) -> String {
    format!("arn:aws:codepipeline:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{pipeline}")
}

pub fn execution_state(status: ExecutionStatus, resumed: bool) -> &'static str {
    match status {
        ExecutionStatus::InProgress if resumed => "RESUMED",
        ExecutionStatus::InProgress => "STARTED",
        ExecutionStatus::Stopping => "STOPPING",
        ExecutionStatus::Stopped => "STOPPED",
        ExecutionStatus::Succeeded => "SUCCEEDED",
        ExecutionStatus::Superseded => "SUPERSEDED",
        ExecutionStatus::Failed => "FAILED",
        ExecutionStatus::Cancelled => "CANCELED",
    }
}

pub fn stage_state(status: StageStatus, resumed: bool) -> &'static str {
    match status {
        StageStatus::InProgress if resumed => "RESUMED",
        StageStatus::InProgress => "STARTED",
        StageStatus::Stopping => "STOPPING",
        StageStatus::Stopped => "STOPPED",
        StageStatus::Succeeded => "SUCCEEDED",
        StageStatus::Failed => "FAILED",
        StageStatus::Cancelled => "CANCELED",
        StageStatus::Skipped => "SKIPPED",
    }
}

pub fn action_state(status: ActionStatus) -> &'static str {
    match status {
        ActionStatus::InProgress => "STARTED",
        ActionStatus::Succeeded => "SUCCEEDED",
        ActionStatus::Failed => "FAILED",
        ActionStatus::Abandoned => "ABANDONED",
    }
}

/// Where an event happened.
#[derive(Clone, Debug)]
pub struct Subject<'a> {
    pub pipeline: &'a str,
    pub version: i64,
    pub execution_id: &'a str,
}

/// The whole EventBridge envelope.
pub fn envelope(
    detail_type: &str,
    subject: &Subject<'_>,
    time_rfc3339: &str,
    detail: Value,
) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": detail_type,
        "source": "aws.codepipeline",
        "account": LOCAL_ACCOUNT,
        "time": time_rfc3339,
        "region": LOCAL_REGION,
        "resources": [pipeline_arn(subject.pipeline)],
        "detail": detail,
    })
}

pub fn pipeline_detail(subject: &Subject<'_>, state: &str) -> Value {
    json!({
        "pipeline": subject.pipeline,
        "version": subject.version,
        "execution-id": subject.execution_id,
        "state": state,
    })
}

pub fn stage_detail(subject: &Subject<'_>, stage: &str, state: &str) -> Value {
    json!({
        "pipeline": subject.pipeline,
        "version": subject.version,
        "execution-id": subject.execution_id,
        "stage": stage,
        "state": state,
    })
}

pub fn action_detail(
    subject: &Subject<'_>,
    stage: &str,
    action: &str,
    state: &str,
    type_id: &pipewright_model::ActionTypeId,
) -> Value {
    json!({
        "pipeline": subject.pipeline,
        "version": subject.version,
        "execution-id": subject.execution_id,
        "stage": stage,
        "action": action,
        "state": state,
        "region": LOCAL_REGION,
        "type": {
            "owner": type_id.owner.as_str(),
            "category": type_id.category.as_str(),
            "provider": type_id.provider,
            "version": type_id.version,
        },
    })
}
