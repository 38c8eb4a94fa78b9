//! The AWS backend: pipelines in an AWS account and region, driven through the AWS SDK's
//! CodePipeline client, behind the same [`Backend`] use cases, DTOs and status words as the local
//! engine, so every view and CLI command serves both.
//!
//! The SDK does what it is good at: credentials from the standard configuration (profiles,
//! SSO, the environment), signing, retries with back-off on throttling, endpoints, and errors with
//! their exception names. The answers are read from the response's JSON into the facade's DTOs,
//! which are shaped like AWS's responses already: a field AWS adds later is not lost on the way
//! (the same reason the model keeps unknown fields).
//!
//! Architecture invariant: AWS SDK types never leave this crate.

pub mod codebuild;
pub mod forward;
#[macro_use]
mod raw;
pub mod pull;
pub mod replay;
pub mod s3;
pub mod saved;
pub mod stored_values;
pub mod watch;

use std::sync::Arc;

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::types::{
    ApprovalResult, ApprovalStatus, PipelineVariable, StageRetryMode, StageTransitionType,
};
use futures::future::BoxFuture;
use indexmap::IndexMap;
use pipewright_api::model::PipelineDeclaration;
use pipewright_api::{
    Backend, BackendFuture, Error, GetPipelineExecutionOutput, GetPipelineOutput,
    GetPipelineStateOutput, ListActionExecutionsOutput, ListPipelineExecutionsOutput,
    ListPipelinesOutput, PendingApproval, PipelineSummary, Result,
};
use raw::{Capture, ReplaceBody, sdk_error};

/// Which AWS account and region, as the AWS CLI chooses them (`--profile`, `--region`,
/// `--endpoint-url`); the same as the local settings' `aws:` block.
pub use pipewright_api::engine::objects::AwsConnection;

/// A connection to CodePipeline in one account and region.
#[derive(Clone, Debug)]
pub struct AwsBackend {
    client: Client,
    name: Arc<str>,
}

impl AwsBackend {
    /// Connects with the standard AWS configuration, as the AWS CLI would with the same options.
    pub async fn connect(options: &AwsConnection) -> Result<AwsBackend> {
        let config = load_config(options).await?;
        let region = config.region().map(ToString::to_string).unwrap_or_default();
        let profile = options.profile.as_deref().unwrap_or("default");
        Ok(AwsBackend::with_config(
            &config,
            format!("aws:{profile}@{region}"),
        ))
    }

    /// A backend over an SDK configuration built elsewhere (tests give fixed credentials).
    pub fn with_config(config: &aws_config::SdkConfig, name: String) -> AwsBackend {
        AwsBackend {
            client: Client::new(config),
            name: name.into(),
        }
    }
}

/// The standard AWS configuration for `options`: credentials and region as the AWS CLI finds them.
pub(crate) async fn load_config(options: &AwsConnection) -> Result<aws_config::SdkConfig> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &options.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(Error::new(
            "MissingRegion",
            "no AWS region: give --region, set AWS_REGION, or set one in the profile",
        ));
    }
    Ok(config)
}

/// How many pipelines ListPipelines asks for per page (the API's maximum is 1,000).
const PAGE: i32 = 100;

impl Backend for AwsBackend {
    fn name(&self) -> String {
        self.name.to_string()
    }

    fn list_pipelines(&self) -> BackendFuture<'_, ListPipelinesOutput> {
        Box::pin(async move {
            let mut pipelines = self.summaries().await?;
            // The latest execution of each, as the local backend gives it: one call per pipeline,
            // a few at a time (CodePipeline throttles bursts).
            for chunk in pipelines.chunks_mut(4) {
                let latest =
                    futures::future::join_all(chunk.iter().map(|p| self.latest_execution(&p.name)))
                        .await;
                for (pipeline, latest) in chunk.iter_mut().zip(latest) {
                    pipeline.latest_execution = latest?;
                }
            }
            Ok(ListPipelinesOutput { pipelines })
        })
    }

    fn get_pipeline<'a>(
        &'a self,
        name: &'a str,
        version: Option<i64>,
    ) -> BackendFuture<'a, GetPipelineOutput> {
        Box::pin(async move {
            read_answer!(
                self.client
                    .get_pipeline()
                    .name(name)
                    .set_version(version.map(|v| v as i32))
            )
        })
    }

    fn get_pipeline_state<'a>(
        &'a self,
        name: &'a str,
    ) -> BackendFuture<'a, GetPipelineStateOutput> {
        Box::pin(async move { read_answer!(self.client.get_pipeline_state().name(name)) })
    }

    fn list_executions<'a>(
        &'a self,
        name: &'a str,
        limit: i64,
    ) -> BackendFuture<'a, ListPipelineExecutionsOutput> {
        Box::pin(async move {
            let limit = usize::try_from(limit).unwrap_or(0);
            let summaries = paged("pipelineExecutionSummaries", limit, |token, capture| {
                Box::pin(async move {
                    send_captured!(
                        self.client
                            .list_pipeline_executions()
                            .pipeline_name(name)
                            .max_results(limit.clamp(1, 100) as i32)
                            .set_next_token(token)
                            .customize(),
                        capture
                    )
                })
            })
            .await?;
            Ok(ListPipelineExecutionsOutput {
                pipeline_execution_summaries: summaries,
            })
        })
    }

    fn get_execution<'a>(
        &'a self,
        name: &'a str,
        execution_id: &'a str,
    ) -> BackendFuture<'a, GetPipelineExecutionOutput> {
        Box::pin(async move {
            read_answer!(
                self.client
                    .get_pipeline_execution()
                    .pipeline_name(name)
                    .pipeline_execution_id(execution_id)
            )
        })
    }

    fn list_action_executions<'a>(
        &'a self,
        name: &'a str,
        execution_id: Option<&'a str>,
    ) -> BackendFuture<'a, ListActionExecutionsOutput> {
        Box::pin(async move {
            let details = self
                .action_executions(name, execution_id, usize::MAX)
                .await?;
            Ok(ListActionExecutionsOutput {
                action_execution_details: details,
            })
        })
    }

    fn start<'a>(
        &'a self,
        name: &'a str,
        variables: &'a IndexMap<String, String>,
        client_token: Option<&'a str>,
    ) -> BackendFuture<'a, String> {
        Box::pin(async move {
            let variables = variables
                .iter()
                .map(|(name, value)| {
                    PipelineVariable::builder()
                        .name(name)
                        .value(value)
                        .build()
                        .map_err(|e| Error::new("ValidationException", e.to_string()))
                })
                .collect::<Result<Vec<_>>>()?;
            let out = self
                .client
                .start_pipeline_execution()
                .name(name)
                .set_variables((!variables.is_empty()).then_some(variables))
                .set_client_request_token(client_token.map(str::to_owned))
                .send()
                .await
                .map_err(sdk_error)?;
            Ok(out.pipeline_execution_id().unwrap_or_default().to_owned())
        })
    }

    fn stop<'a>(
        &'a self,
        name: &'a str,
        execution_id: &'a str,
        abandon: bool,
        reason: Option<&'a str>,
    ) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            self.client
                .stop_pipeline_execution()
                .pipeline_name(name)
                .pipeline_execution_id(execution_id)
                .abandon(abandon)
                .set_reason(reason.map(str::to_owned))
                .send()
                .await
                .map_err(sdk_error)?;
            Ok(())
        })
    }

    fn retry<'a>(
        &'a self,
        name: &'a str,
        stage: &'a str,
        execution_id: &'a str,
        all_actions: bool,
    ) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            let mode = if all_actions {
                StageRetryMode::AllActions
            } else {
                StageRetryMode::FailedActions
            };
            self.client
                .retry_stage_execution()
                .pipeline_name(name)
                .stage_name(stage)
                .pipeline_execution_id(execution_id)
                .retry_mode(mode)
                .send()
                .await
                .map_err(sdk_error)?;
            Ok(())
        })
    }

    fn rollback<'a>(
        &'a self,
        name: &'a str,
        stage: &'a str,
        target: Option<&'a str>,
    ) -> BackendFuture<'a, String> {
        Box::pin(async move {
            let Some(target) = target else {
                return Err(Error::new(
                    "ValidationException",
                    "RollbackStage on AWS needs the execution to roll back to (--target)",
                ));
            };
            let out = self
                .client
                .rollback_stage()
                .pipeline_name(name)
                .stage_name(stage)
                .target_pipeline_execution_id(target)
                .send()
                .await
                .map_err(sdk_error)?;
            Ok(out.pipeline_execution_id().to_owned())
        })
    }

    fn set_transition<'a>(
        &'a self,
        name: &'a str,
        stage: &'a str,
        enabled: bool,
        reason: Option<&'a str>,
    ) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            if enabled {
                self.client
                    .enable_stage_transition()
                    .pipeline_name(name)
                    .stage_name(stage)
                    .transition_type(StageTransitionType::Inbound)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            } else {
                self.client
                    .disable_stage_transition()
                    .pipeline_name(name)
                    .stage_name(stage)
                    .transition_type(StageTransitionType::Inbound)
                    .set_reason(reason.map(str::to_owned))
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            Ok(())
        })
    }

    fn put_approval_result<'a>(
        &'a self,
        name: &'a str,
        stage: &'a str,
        action: &'a str,
        token: &'a str,
        approved: bool,
        summary: &'a str,
    ) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            let status = if approved {
                ApprovalStatus::Approved
            } else {
                ApprovalStatus::Rejected
            };
            let result = ApprovalResult::builder()
                .summary(summary)
                .status(status)
                .build()
                .map_err(|e| Error::new("ValidationException", e.to_string()))?;
            self.client
                .put_approval_result()
                .pipeline_name(name)
                .stage_name(stage)
                .action_name(action)
                .token(token)
                .result(result)
                .send()
                .await
                .map_err(sdk_error)?;
            Ok(())
        })
    }

    fn pending_approvals(&self) -> BackendFuture<'_, Vec<PendingApproval>> {
        Box::pin(async move {
            let pipelines = self.list_pipelines().await?.pipelines;
            let mut waiting = Vec::new();
            for pipeline in pipelines {
                waiting.extend(self.approvals_of(&pipeline).await?);
            }
            Ok(waiting)
        })
    }

    fn create_pipeline<'a>(
        &'a self,
        pipeline: &'a PipelineDeclaration,
        tags: &'a [(String, String)],
    ) -> BackendFuture<'a, (String, i64)> {
        Box::pin(async move {
            let mut body = serde_json::json!({"pipeline": without_version(pipeline)});
            if !tags.is_empty() {
                body["tags"] = tags
                    .iter()
                    .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
                    .collect();
            }
            let stored: raw::StoredPipeline = read_answer!(
                self.client
                    .create_pipeline()
                    .pipeline(placeholder(&pipeline.name)?),
                ReplaceBody(body.to_string().into_bytes())
            )?;
            Ok(stored.name_and_version())
        })
    }

    fn update_pipeline<'a>(
        &'a self,
        pipeline: &'a PipelineDeclaration,
    ) -> BackendFuture<'a, (String, i64)> {
        Box::pin(async move {
            let body = serde_json::json!({"pipeline": without_version(pipeline)});
            let stored: raw::StoredPipeline = read_answer!(
                self.client
                    .update_pipeline()
                    .pipeline(placeholder(&pipeline.name)?),
                ReplaceBody(body.to_string().into_bytes())
            )?;
            Ok(stored.name_and_version())
        })
    }
}

/// Every page of a paged call, up to `limit` items: `send` sends the request for one page (given
/// the token the page before gave), keeping its body in the capture it is given; the items are
/// read from the body's `items_key` list.
async fn paged<'a, T: serde::de::DeserializeOwned>(
    items_key: &str,
    limit: usize,
    mut send: impl FnMut(Option<String>, Capture) -> BoxFuture<'a, Result<()>>,
) -> Result<Vec<T>> {
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let capture = Capture::new();
        send(token.take(), capture.clone()).await?;
        let (page, next) = capture.page::<T>(items_key)?;
        items.extend(page);
        match next {
            Some(next) if items.len() < limit => token = Some(next),
            _ => break,
        }
    }
    items.truncate(limit);
    Ok(items)
}

/// The SDK wants a declaration of its own type to serialize; the real one replaces it on the
/// wire (`ReplaceBody`), so this one only has to be complete enough to build.
fn placeholder(name: &str) -> Result<aws_sdk_codepipeline::types::PipelineDeclaration> {
    aws_sdk_codepipeline::types::PipelineDeclaration::builder()
        .name(name)
        .role_arn("replaced")
        .set_stages(Some(Vec::new()))
        .build()
        .map_err(|e| Error::new("InternalError", e.to_string()))
}

/// A declaration as Create/UpdatePipeline take it: the version is AWS's to set.
fn without_version(pipeline: &PipelineDeclaration) -> PipelineDeclaration {
    let mut pipeline = pipeline.clone();
    pipeline.version = None;
    pipeline
}

impl AwsBackend {
    /// ListActionExecutions, newest first, page after page up to `limit` details: of one
    /// execution, or of the pipeline's latest ones.
    pub(crate) async fn action_executions(
        &self,
        name: &str,
        execution_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<pipewright_api::ActionExecutionDetail>> {
        let filter = execution_id.map(|id| {
            aws_sdk_codepipeline::types::ActionExecutionFilter::builder()
                .pipeline_execution_id(id)
                .build()
        });
        let filter = &filter;
        paged("actionExecutionDetails", limit, |token, capture| {
            Box::pin(async move {
                send_captured!(
                    self.client
                        .list_action_executions()
                        .pipeline_name(name)
                        .set_filter(filter.clone())
                        .max_results(100)
                        .set_next_token(token)
                        .customize(),
                    capture
                )
            })
        })
        .await
    }

    /// The names of every pipeline: ListPipelines alone, without the latest execution of each.
    pub async fn pipeline_names(&self) -> Result<Vec<String>> {
        Ok(self
            .summaries()
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect())
    }

    /// Every page of ListPipelines.
    async fn summaries(&self) -> Result<Vec<PipelineSummary>> {
        paged("pipelines", usize::MAX, |token, capture| {
            Box::pin(async move {
                send_captured!(
                    self.client
                        .list_pipelines()
                        .max_results(PAGE)
                        .set_next_token(token)
                        .customize(),
                    capture
                )
            })
        })
        .await
    }

    fn latest_execution(
        &self,
        name: &str,
    ) -> BoxFuture<'_, Result<Option<pipewright_api::PipelineExecutionSummary>>> {
        let name = name.to_owned();
        Box::pin(async move {
            let latest = self.list_executions(&name, 1).await?;
            Ok(latest.pipeline_execution_summaries.into_iter().next())
        })
    }

    /// The approvals of one pipeline that wait: a Manual approval action whose latest execution
    /// runs and carries a token. Its custom data and link come from the declaration.
    async fn approvals_of(&self, pipeline: &PipelineSummary) -> Result<Vec<PendingApproval>> {
        let state = self.get_pipeline_state(&pipeline.name).await?;
        let declaration = self.get_pipeline(&pipeline.name, None).await?.pipeline;
        let mut waiting = Vec::new();
        for stage in &state.stage_states {
            for action in &stage.action_states {
                let Some(latest) = &action.latest_execution else {
                    continue;
                };
                let (Some(token), "InProgress") = (&latest.token, latest.status.as_str()) else {
                    continue;
                };
                let declared = declaration
                    .stage(&stage.stage_name)
                    .and_then(|s| s.action(&action.action_name));
                if !declared.is_some_and(|a| a.is_manual_approval()) {
                    continue;
                }
                let config = |key: &str| declared.and_then(|a| a.config(key)).map(str::to_owned);
                let execution_id = stage
                    .latest_execution
                    .as_ref()
                    .map(|e| e.pipeline_execution_id.clone())
                    .unwrap_or_default();
                // What the approver approves: the commits the execution carries. Only context:
                // a role that may not read executions, or a throttled call, must not hide the
                // approval itself, so the commits are left out then.
                let artifact_revisions = match execution_id.as_str() {
                    "" => Vec::new(),
                    id => self
                        .get_execution(&pipeline.name, id)
                        .await
                        .map(|e| e.pipeline_execution.artifact_revisions)
                        .unwrap_or_default(),
                };
                waiting.push(PendingApproval {
                    pipeline_name: pipeline.name.clone(),
                    stage_name: stage.stage_name.clone(),
                    action_name: action.action_name.clone(),
                    pipeline_execution_id: execution_id,
                    token: token.clone(),
                    waiting_since: latest.last_status_change,
                    expires: None,
                    custom_data: config("CustomData"),
                    external_entity_link: config("ExternalEntityLink"),
                    artifact_revisions,
                });
            }
        }
        Ok(waiting)
    }
}
