//! One function per CodePipeline operation: the input as the API reference names its members,
//! one facade call, the output as AWS shapes it.

use indexmap::IndexMap;
use pipewright_api::model::{PipelineDeclaration, catalog};
use pipewright_api::{Pipewright, with_epoch_seconds};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::WireError;

type Answer = Result<Value, WireError>;

pub async fn call(api: &Pipewright, operation: &str, input: Value) -> Answer {
    match operation {
        "CreatePipeline" => create_pipeline(api, parse(input)?).await,
        "GetPipeline" => get_pipeline(api, parse(input)?).await,
        "UpdatePipeline" => update_pipeline(api, parse(input)?).await,
        "ListPipelines" => list_pipelines(api, parse(input)?).await,
        "GetPipelineState" => get_pipeline_state(api, parse(input)?).await,
        "StartPipelineExecution" => start_pipeline_execution(api, parse(input)?).await,
        "StopPipelineExecution" => stop_pipeline_execution(api, parse(input)?).await,
        "GetPipelineExecution" => get_pipeline_execution(api, parse(input)?).await,
        "ListPipelineExecutions" => list_pipeline_executions(api, parse(input)?).await,
        "ListActionExecutions" => list_action_executions(api, parse(input)?).await,
        "PutApprovalResult" => put_approval_result(api, parse(input)?).await,
        "RetryStageExecution" => retry_stage_execution(api, parse(input)?).await,
        "RollbackStage" => rollback_stage(api, parse(input)?).await,
        "EnableStageTransition" => set_transition(api, parse(input)?, true).await,
        "DisableStageTransition" => set_transition(api, parse(input)?, false).await,
        "ListActionTypes" => list_action_types(parse(input)?),
        "DeletePipeline" => delete_pipeline(api, parse(input)?).await,
        "TagResource" => tag_resource(api, parse(input)?).await,
        "UntagResource" => untag_resource(api, parse(input)?).await,
        "ListTagsForResource" => list_tags_for_resource(api, parse(input)?).await,
        other => Err(WireError::client(
            "UnknownOperationException",
            format!("{other} is not an operation pipewright serve answers"),
        )),
    }
}

/// The input of an operation, or a SerializationException that says which member is wrong.
fn parse<T: DeserializeOwned>(input: Value) -> Result<T, WireError> {
    serde_path_to_error::deserialize(input).map_err(|error| {
        let path = error.path().to_string();
        let message = if path == "." {
            error.inner().to_string()
        } else {
            format!("{path}: {}", error.inner())
        };
        WireError::client("SerializationException", message)
    })
}

/// An answer, with timestamps as the protocol carries them.
fn answer(output: &impl Serialize) -> Answer {
    with_epoch_seconds(|| serde_json::to_value(output))
        .map_err(|e| WireError::from(pipewright_api::Error::new("InternalError", e.to_string())))
}

/// An answer built with `json!`, which serializes its parts as it builds: it must build inside
/// [`with_epoch_seconds`] for the timestamps in it to be epoch seconds.
fn answer_json(build: impl FnOnce() -> Value) -> Answer {
    Ok(with_epoch_seconds(build))
}

/// A page of an answer: its items under `key`, and the token of the next page when there is one.
fn paged_answer(key: &str, items: impl Serialize, next_token: Option<String>) -> Answer {
    let mut out = answer_json(|| json!({ key: items }))?;
    if let Some(token) = next_token {
        out["nextToken"] = json!(token);
    }
    Ok(out)
}

/// How a listed answer is ordered, which says where the page after a token starts.
#[derive(Clone, Copy)]
enum Order {
    /// Sorted by the key (pipelines by name, tags by key): the next page starts at the first key
    /// after the token's, so it goes on even when the item it names was deleted meanwhile.
    ByKey,
    /// Newest first (executions): the next page starts after the item the token names, so one
    /// started meanwhile at the front does not shift it.
    NewestFirst,
}

/// A page of at most `max` items after the opaque `next_token`: the key of the last item the page
/// before gave (a name or an id), not a count.
fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> &str,
    order: Order,
    next_token: Option<&str>,
    max: Option<usize>,
    default_max: usize,
) -> Result<(Vec<T>, Option<String>), WireError> {
    let invalid = |why: &str| {
        WireError::client(
            "InvalidNextTokenException",
            format!("{} {why}", next_token.unwrap_or_default()),
        )
    };
    let after = next_token
        .map(|token| token_key(token).ok_or_else(|| invalid("is not a token this server gave")))
        .transpose()?;
    let start = match (after, order) {
        (None, _) => 0,
        (Some(after), Order::ByKey) => items.partition_point(|item| key(item) <= after.as_str()),
        (Some(after), Order::NewestFirst) => {
            items
                .iter()
                .position(|item| key(item) == after)
                .ok_or_else(|| {
                    invalid("points after an item that is gone; list again from the start")
                })?
                + 1
        }
    };
    let max = max.unwrap_or(default_max).max(1);
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let next = if start + items.len() < total {
        items.last().map(|last| key_token(key(last)))
    } else {
        None
    };
    Ok((items, next))
}

/// What a paging token looks like: a mark of this server's, then the key in hexadecimal, so any
/// key fits and a token nobody gave is told apart.
const TOKEN_MARK: &str = "pw1.";

fn key_token(key: &str) -> String {
    let mut token = String::with_capacity(TOKEN_MARK.len() + key.len() * 2);
    token.push_str(TOKEN_MARK);
    for byte in key.bytes() {
        token.push_str(&format!("{byte:02x}"));
    }
    token
}

fn token_key(token: &str) -> Option<String> {
    let hex = token.strip_prefix(TOKEN_MARK)?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    pipeline: PipelineDeclaration,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize, Serialize)]
struct Tag {
    key: String,
    value: String,
}

fn pairs(tags: Vec<Tag>) -> Vec<(String, String)> {
    tags.into_iter().map(|t| (t.key, t.value)).collect()
}

fn tag_list(pairs: Vec<(String, String)>) -> Vec<Tag> {
    pairs
        .into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect()
}

async fn create_pipeline(api: &Pipewright, input: CreateInput) -> Answer {
    let (name, _) = api
        .create_pipeline(&input.pipeline, &pairs(input.tags))
        .await?;
    let stored = api.get_pipeline(&name, None).await?;
    let tags = tag_list(api.list_tags(&stored.metadata.pipeline_arn).await?);
    answer_json(|| json!({"pipeline": stored.pipeline, "tags": tags}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PipelineInput {
    pipeline: PipelineDeclaration,
}

async fn update_pipeline(api: &Pipewright, input: PipelineInput) -> Answer {
    let (name, _) = api.update_pipeline(&input.pipeline).await?;
    let stored = api.get_pipeline(&name, None).await?;
    answer_json(|| json!({"pipeline": stored.pipeline}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetPipelineInput {
    name: String,
    version: Option<i64>,
}

async fn get_pipeline(api: &Pipewright, input: GetPipelineInput) -> Answer {
    answer(&api.get_pipeline(&input.name, input.version).await?)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    next_token: Option<String>,
    max_results: Option<usize>,
}

async fn list_pipelines(api: &Pipewright, input: ListInput) -> Answer {
    let all = api.pipeline_summaries().await?;
    let (pipelines, next_token) = page(
        all,
        |p| p.name.as_str(),
        Order::ByKey,
        input.next_token.as_deref(),
        input.max_results,
        100,
    )?;
    paged_answer("pipelines", pipelines, next_token)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NameInput {
    name: String,
}

async fn get_pipeline_state(api: &Pipewright, input: NameInput) -> Answer {
    answer(&api.get_pipeline_state(&input.name).await?)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartInput {
    name: String,
    #[serde(default)]
    variables: Vec<VariableInput>,
    client_request_token: Option<String>,
    #[serde(default)]
    source_revisions: Vec<SourceRevisionInput>,
}

#[derive(Deserialize)]
struct VariableInput {
    name: String,
    value: String,
}

/// A SourceRevisionOverride: which revision a source action reads in this execution.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SourceRevisionInput {
    action_name: String,
    revision_type: String,
    revision_value: String,
}

async fn start_pipeline_execution(api: &Pipewright, input: StartInput) -> Answer {
    let variables: IndexMap<String, String> = input
        .variables
        .into_iter()
        .map(|v| (v.name, v.value))
        .collect();
    let mut revisions = IndexMap::new();
    for revision in input.source_revisions {
        // Git sources run here; S3 object versions and image digests have no local source.
        if revision.revision_type != "COMMIT_ID" {
            return Err(pipewright_api::Error::new(
                "ValidationException",
                format!(
                    "sourceRevisions: {} gives a {} revision; the local engine takes COMMIT_ID for git sources only",
                    revision.action_name, revision.revision_type
                ),
            )
            .into());
        }
        revisions.insert(
            revision.action_name,
            pipewright_api::engine::SourceRevision::commit(revision.revision_value),
        );
    }
    let id = api
        .start_with(
            &input.name,
            &variables,
            input.client_request_token.as_deref(),
            &revisions,
            None,
        )
        .await?;
    Ok(json!({"pipelineExecutionId": id}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopInput {
    pipeline_name: String,
    pipeline_execution_id: String,
    #[serde(default)]
    abandon: bool,
    reason: Option<String>,
}

async fn stop_pipeline_execution(api: &Pipewright, input: StopInput) -> Answer {
    api.stop(
        &input.pipeline_name,
        &input.pipeline_execution_id,
        input.abandon,
        input.reason.as_deref(),
    )
    .await?;
    Ok(json!({"pipelineExecutionId": input.pipeline_execution_id}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionInput {
    pipeline_name: String,
    pipeline_execution_id: String,
}

async fn get_pipeline_execution(api: &Pipewright, input: ExecutionInput) -> Answer {
    answer(
        &api.get_execution(&input.pipeline_name, &input.pipeline_execution_id)
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListExecutionsInput {
    pipeline_name: String,
    next_token: Option<String>,
    max_results: Option<usize>,
}

/// How many executions ListPipelineExecutions looks through at most (AWS keeps 12 months).
const EXECUTION_HISTORY: i64 = 10_000;

async fn list_pipeline_executions(api: &Pipewright, input: ListExecutionsInput) -> Answer {
    let all = api
        .list_executions(&input.pipeline_name, EXECUTION_HISTORY)
        .await?
        .pipeline_execution_summaries;
    let (summaries, next_token) = page(
        all,
        |e| e.pipeline_execution_id.as_str(),
        Order::NewestFirst,
        input.next_token.as_deref(),
        input.max_results,
        100,
    )?;
    paged_answer("pipelineExecutionSummaries", summaries, next_token)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListActionExecutionsInput {
    pipeline_name: String,
    filter: Option<ActionExecutionFilter>,
    next_token: Option<String>,
    max_results: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionExecutionFilter {
    pipeline_execution_id: Option<String>,
}

async fn list_action_executions(api: &Pipewright, input: ListActionExecutionsInput) -> Answer {
    let execution = input.filter.and_then(|f| f.pipeline_execution_id);
    let all = api
        .list_action_executions(&input.pipeline_name, execution.as_deref())
        .await?
        .action_execution_details;
    let (details, next_token) = page(
        all,
        |d| d.action_execution_id.as_str(),
        Order::NewestFirst,
        input.next_token.as_deref(),
        input.max_results,
        100,
    )?;
    paged_answer("actionExecutionDetails", details, next_token)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApprovalInput {
    pipeline_name: String,
    stage_name: String,
    action_name: String,
    result: ApprovalResult,
    token: String,
}

#[derive(Deserialize)]
struct ApprovalResult {
    summary: String,
    status: String,
}

async fn put_approval_result(api: &Pipewright, input: ApprovalInput) -> Answer {
    let approved = match input.result.status.as_str() {
        "Approved" => true,
        "Rejected" => false,
        other => {
            return Err(WireError::client(
                "ValidationException",
                format!("result.status must be Approved or Rejected, not {other}"),
            ));
        }
    };
    api.put_approval_result(
        &input.pipeline_name,
        &input.stage_name,
        &input.action_name,
        &input.token,
        approved,
        &input.result.summary,
    )
    .await?;
    let now = pipewright_api::Timestamp(api.engine().clock().now_ms());
    answer_json(|| json!({"approvedAt": now}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetryInput {
    pipeline_name: String,
    stage_name: String,
    pipeline_execution_id: String,
    retry_mode: String,
}

async fn retry_stage_execution(api: &Pipewright, input: RetryInput) -> Answer {
    let all_actions = match input.retry_mode.as_str() {
        "FAILED_ACTIONS" => false,
        "ALL_ACTIONS" => true,
        other => {
            return Err(WireError::client(
                "ValidationException",
                format!("retryMode must be FAILED_ACTIONS or ALL_ACTIONS, not {other}"),
            ));
        }
    };
    api.retry(
        &input.pipeline_name,
        &input.stage_name,
        &input.pipeline_execution_id,
        all_actions,
    )
    .await?;
    Ok(json!({"pipelineExecutionId": input.pipeline_execution_id}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RollbackInput {
    pipeline_name: String,
    stage_name: String,
    target_pipeline_execution_id: String,
}

async fn rollback_stage(api: &Pipewright, input: RollbackInput) -> Answer {
    let id = api
        .rollback(
            &input.pipeline_name,
            &input.stage_name,
            Some(&input.target_pipeline_execution_id),
        )
        .await?;
    Ok(json!({"pipelineExecutionId": id}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransitionInput {
    pipeline_name: String,
    stage_name: String,
    transition_type: String,
    reason: Option<String>,
}

/// An Inbound transition is the gate into the stage; an Outbound one is the gate out of it, which
/// is the next stage's way in.
async fn set_transition(api: &Pipewright, input: TransitionInput, enabled: bool) -> Answer {
    let stage = match input.transition_type.as_str() {
        "Inbound" => input.stage_name,
        "Outbound" => {
            let stored = api.get_pipeline(&input.pipeline_name, None).await?.pipeline;
            let at = stored
                .stages
                .iter()
                .position(|s| s.name == input.stage_name)
                .ok_or_else(|| {
                    WireError::client(
                        "StageNotFoundException",
                        format!("the pipeline has no stage {}", input.stage_name),
                    )
                })?;
            match stored.stages.get(at + 1) {
                Some(next) => next.name.clone(),
                None => {
                    return Err(WireError::client(
                        "ValidationException",
                        format!(
                            "{} is the last stage: it has no outbound transition",
                            input.stage_name
                        ),
                    ));
                }
            }
        }
        other => {
            return Err(WireError::client(
                "ValidationException",
                format!("transitionType must be Inbound or Outbound, not {other}"),
            ));
        }
    };
    api.set_transition(
        &input.pipeline_name,
        &stage,
        enabled,
        input.reason.as_deref(),
    )
    .await?;
    Ok(json!({}))
}

async fn delete_pipeline(api: &Pipewright, input: NameInput) -> Answer {
    api.delete_pipeline(&input.name).await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagInput {
    resource_arn: String,
    tags: Vec<Tag>,
}

async fn tag_resource(api: &Pipewright, input: TagInput) -> Answer {
    api.tag_resource(&input.resource_arn, &pairs(input.tags))
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UntagInput {
    resource_arn: String,
    tag_keys: Vec<String>,
}

async fn untag_resource(api: &Pipewright, input: UntagInput) -> Answer {
    api.untag_resource(&input.resource_arn, &input.tag_keys)
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListTagsInput {
    resource_arn: String,
    next_token: Option<String>,
    max_results: Option<usize>,
}

async fn list_tags_for_resource(api: &Pipewright, input: ListTagsInput) -> Answer {
    let all = tag_list(api.list_tags(&input.resource_arn).await?);
    let (tags, next_token) = page(
        all,
        |t| t.key.as_str(),
        Order::ByKey,
        input.next_token.as_deref(),
        input.max_results,
        50,
    )?;
    paged_answer("tags", tags, next_token)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListActionTypesInput {
    action_owner_filter: Option<String>,
    next_token: Option<String>,
}

/// The action types of the catalog (`pipewright_model::catalog`), in ListActionTypes' shape.
fn list_action_types(input: ListActionTypesInput) -> Answer {
    if input.next_token.is_some() {
        return Err(WireError::client(
            "InvalidNextTokenException",
            "ListActionTypes answers in one page",
        ));
    }
    let wanted = input.action_owner_filter.as_deref();
    let types: Vec<Value> = catalog::action_types()
        .iter()
        .filter(|spec| wanted.is_none_or(|owner| owner == spec.owner))
        .map(|spec| {
            let properties: Vec<Value> = spec
                .properties
                .iter()
                .map(|p| {
                    json!({
                        "name": p.name, "required": p.required, "key": p.key, "secret": p.secret,
                        "queryable": p.queryable, "description": p.description, "type": p.kind,
                    })
                })
                .collect();
            json!({
                "id": {"category": spec.category, "owner": spec.owner, "provider": spec.provider, "version": spec.version},
                "settings": {},
                "actionConfigurationProperties": properties,
                "inputArtifactDetails": spec.input_artifacts,
                "outputArtifactDetails": spec.output_artifacts,
            })
        })
        .collect();
    Ok(json!({"actionTypes": types}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_one_another_to_the_end_even_when_items_come_first_meanwhile() {
        fn key(item: &String) -> &str {
            item
        }
        let newest = Order::NewestFirst;
        let items: Vec<String> = ["e5", "e4", "e3", "e2", "e1"].map(String::from).to_vec();
        let (first, next) = page(items.clone(), key, newest, None, Some(2), 100).expect("page");
        assert_eq!(
            (first, next.as_deref()),
            (
                vec!["e5".into(), "e4".into()],
                Some(key_token("e4").as_str())
            )
        );
        // A new execution starts between two pages: the next page is still the one after e4.
        let mut newer = items.clone();
        newer.insert(0, "e6".to_owned());
        let (second, next) = page(
            newer.clone(),
            key,
            newest,
            Some(&key_token("e4")),
            Some(2),
            100,
        )
        .expect("page");
        assert_eq!(
            (second, next.as_deref()),
            (
                vec!["e3".into(), "e2".into()],
                Some(key_token("e2").as_str())
            )
        );
        let (last, next) =
            page(newer, key, newest, Some(&key_token("e2")), Some(2), 100).expect("page");
        assert_eq!((last, next), (vec!["e1".to_owned()], None));
        let error = page(items.clone(), key, newest, Some("x"), None, 100)
            .expect_err("a token we never gave");
        assert_eq!(error.kind, "InvalidNextTokenException");
        let gone = page(items, key, newest, Some(&key_token("e9")), None, 100)
            .expect_err("a token after an execution that is gone");
        assert_eq!(gone.kind, "InvalidNextTokenException");
        assert_eq!(token_key(&key_token("név/ü")).as_deref(), Some("név/ü"));
    }

    #[test]
    fn pages_by_name_go_on_when_the_last_named_item_is_deleted() {
        fn key(item: &String) -> &str {
            item
        }
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let (first, next) =
            page(names.clone(), key, Order::ByKey, None, Some(2), 100).expect("page");
        assert_eq!(
            (first, next.as_deref()),
            (vec!["a".into(), "b".into()], Some(key_token("b").as_str()))
        );
        let without_b: Vec<String> = ["a", "c", "d"].map(String::from).to_vec();
        let (rest, next) = page(
            without_b,
            key,
            Order::ByKey,
            Some(&key_token("b")),
            Some(2),
            100,
        )
        .expect("page");
        assert_eq!((rest, next), (vec!["c".to_owned(), "d".to_owned()], None));
    }

    #[test]
    fn timestamps_in_built_answers_are_epoch_seconds() {
        let at = pipewright_api::Timestamp(1_700_000_000_500);
        let out = answer_json(|| json!({"approvedAt": at})).expect("answer");
        assert_eq!(out["approvedAt"], json!(1_700_000_000.5));
        let summary = pipewright_api::PipelineSummary {
            created: at,
            ..Default::default()
        };
        let paged = paged_answer("items", vec![summary], Some("2".into())).expect("answer");
        assert!(paged["items"][0]["created"].is_f64(), "{paged}");
        assert_eq!(paged["nextToken"], "2");
    }

    #[test]
    fn a_wrong_member_type_is_named() {
        let error = parse::<StopInput>(json!({"pipelineName": "p", "pipelineExecutionId": 3}))
            .err()
            .expect("a number is not an execution id");
        assert_eq!(error.kind, "SerializationException");
        assert!(
            error.message.contains("pipelineExecutionId"),
            "{}",
            error.message
        );
    }
}
