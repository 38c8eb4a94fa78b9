//! Where pipelines live and run: the local engine ([`Pipewright`]) or an AWS account and region
//! (`pipewright_aws::AwsBackend`). Both answer the same use cases with the same DTOs and the same
//! status words, so a front end that holds a `dyn Backend` serves both without knowing which.
//!
//! The futures are boxed so that front ends can hold backends of either kind behind one pointer.

use futures::future::BoxFuture;
use indexmap::IndexMap;
use pipewright_model::PipelineDeclaration;

use crate::{
    GetPipelineExecutionOutput, GetPipelineOutput, GetPipelineStateOutput,
    ListActionExecutionsOutput, ListPipelineExecutionsOutput, ListPipelinesOutput, PendingApproval,
    Pipewright, Result,
};

pub type BackendFuture<'a, T> = BoxFuture<'a, Result<T>>;

pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Where the pipelines are, as a person reads it: `local`, or `aws:PROFILE@REGION`.
    fn name(&self) -> String;
    fn list_pipelines(&self) -> BackendFuture<'_, ListPipelinesOutput>;
    fn get_pipeline<'a>(
        &'a self,
        name: &'a str,
        version: Option<i64>,
    ) -> BackendFuture<'a, GetPipelineOutput>;
    fn get_pipeline_state<'a>(&'a self, name: &'a str)
    -> BackendFuture<'a, GetPipelineStateOutput>;
    fn list_executions<'a>(
        &'a self,
        name: &'a str,
        limit: i64,
    ) -> BackendFuture<'a, ListPipelineExecutionsOutput>;
    fn get_execution<'a>(
        &'a self,
        name: &'a str,
        execution_id: &'a str,
    ) -> BackendFuture<'a, GetPipelineExecutionOutput>;
    fn list_action_executions<'a>(
        &'a self,
        name: &'a str,
        execution_id: Option<&'a str>,
    ) -> BackendFuture<'a, ListActionExecutionsOutput>;
    /// Starts an execution; its id.
    fn start<'a>(
        &'a self,
        name: &'a str,
        variables: &'a IndexMap<String, String>,
        client_token: Option<&'a str>,
    ) -> BackendFuture<'a, String>;
    fn stop<'a>(
        &'a self,
        name: &'a str,
        execution_id: &'a str,
        abandon: bool,
        reason: Option<&'a str>,
    ) -> BackendFuture<'a, ()>;
    fn retry<'a>(
        &'a self,
        name: &'a str,
        stage: &'a str,
        execution_id: &'a str,
        all_actions: bool,
    ) -> BackendFuture<'a, ()>;
    /// Rolls a stage back; the id of the rollback execution.
    fn rollback<'a>(
        &'a self,
        name: &'a str,
        stage: &'a str,
        target: Option<&'a str>,
    ) -> BackendFuture<'a, String>;
    fn set_transition<'a>(
        &'a self,
        name: &'a str,
        stage: &'a str,
        enabled: bool,
        reason: Option<&'a str>,
    ) -> BackendFuture<'a, ()>;
    #[allow(clippy::too_many_arguments)] // The members of PutApprovalResult, one each.
    fn put_approval_result<'a>(
        &'a self,
        name: &'a str,
        stage: &'a str,
        action: &'a str,
        token: &'a str,
        approved: bool,
        summary: &'a str,
    ) -> BackendFuture<'a, ()>;
    /// Every manual approval waiting for a decision.
    fn pending_approvals(&self) -> BackendFuture<'_, Vec<PendingApproval>>;
    /// CreatePipeline: the name and version 1. Refused when the name is taken.
    fn create_pipeline<'a>(
        &'a self,
        pipeline: &'a PipelineDeclaration,
        tags: &'a [(String, String)],
    ) -> BackendFuture<'a, (String, i64)>;
    /// UpdatePipeline: the name and the new version.
    fn update_pipeline<'a>(
        &'a self,
        pipeline: &'a PipelineDeclaration,
    ) -> BackendFuture<'a, (String, i64)>;
}

impl Backend for Pipewright {
    fn name(&self) -> String {
        "local".to_owned()
    }

    fn list_pipelines(&self) -> BackendFuture<'_, ListPipelinesOutput> {
        Box::pin(Pipewright::list_pipelines(self))
    }

    fn get_pipeline<'a>(
        &'a self,
        name: &'a str,
        version: Option<i64>,
    ) -> BackendFuture<'a, GetPipelineOutput> {
        Box::pin(Pipewright::get_pipeline(self, name, version))
    }

    fn get_pipeline_state<'a>(
        &'a self,
        name: &'a str,
    ) -> BackendFuture<'a, GetPipelineStateOutput> {
        Box::pin(Pipewright::get_pipeline_state(self, name))
    }

    fn list_executions<'a>(
        &'a self,
        name: &'a str,
        limit: i64,
    ) -> BackendFuture<'a, ListPipelineExecutionsOutput> {
        Box::pin(Pipewright::list_executions(self, name, limit))
    }

    fn get_execution<'a>(
        &'a self,
        name: &'a str,
        execution_id: &'a str,
    ) -> BackendFuture<'a, GetPipelineExecutionOutput> {
        Box::pin(Pipewright::get_execution(self, name, execution_id))
    }

    fn list_action_executions<'a>(
        &'a self,
        name: &'a str,
        execution_id: Option<&'a str>,
    ) -> BackendFuture<'a, ListActionExecutionsOutput> {
        Box::pin(Pipewright::list_action_executions(self, name, execution_id))
    }

    fn start<'a>(
        &'a self,
        name: &'a str,
        variables: &'a IndexMap<String, String>,
        client_token: Option<&'a str>,
    ) -> BackendFuture<'a, String> {
        Box::pin(Pipewright::start(self, name, variables, client_token))
    }

    fn stop<'a>(
        &'a self,
        name: &'a str,
        execution_id: &'a str,
        abandon: bool,
        reason: Option<&'a str>,
    ) -> BackendFuture<'a, ()> {
        Box::pin(Pipewright::stop(self, name, execution_id, abandon, reason))
    }

    fn retry<'a>(
        &'a self,
        name: &'a str,
        stage: &'a str,
        execution_id: &'a str,
        all_actions: bool,
    ) -> BackendFuture<'a, ()> {
        Box::pin(Pipewright::retry(
            self,
            name,
            stage,
            execution_id,
            all_actions,
        ))
    }

    fn rollback<'a>(
        &'a self,
        name: &'a str,
        stage: &'a str,
        target: Option<&'a str>,
    ) -> BackendFuture<'a, String> {
        Box::pin(Pipewright::rollback(self, name, stage, target))
    }

    fn set_transition<'a>(
        &'a self,
        name: &'a str,
        stage: &'a str,
        enabled: bool,
        reason: Option<&'a str>,
    ) -> BackendFuture<'a, ()> {
        Box::pin(Pipewright::set_transition(
            self, name, stage, enabled, reason,
        ))
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
        Box::pin(Pipewright::put_approval_result(
            self, name, stage, action, token, approved, summary,
        ))
    }

    fn pending_approvals(&self) -> BackendFuture<'_, Vec<PendingApproval>> {
        Box::pin(Pipewright::pending_approvals(self))
    }

    fn create_pipeline<'a>(
        &'a self,
        pipeline: &'a PipelineDeclaration,
        tags: &'a [(String, String)],
    ) -> BackendFuture<'a, (String, i64)> {
        Box::pin(Pipewright::create_pipeline(self, pipeline, tags))
    }

    fn update_pipeline<'a>(
        &'a self,
        pipeline: &'a PipelineDeclaration,
    ) -> BackendFuture<'a, (String, i64)> {
        Box::pin(Pipewright::update_pipeline(self, pipeline))
    }
}
