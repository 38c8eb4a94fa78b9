//! Reading answers as AWS sent them: an interceptor keeps the response body, which is parsed
//! into the facade's DTOs; and the SDK's errors turned into the facade's `{code, message}`.

use std::error::Error as StdError;
use std::sync::{Arc, Mutex};

use aws_sdk_codepipeline::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_codepipeline::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_codepipeline::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_types::body::SdkBody;
use pipewright_api::{Error, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Sends a fluent request with a [`Capture`] and reads the answer's body as the type the caller
/// expects (`?` inside: use it in a function that returns `Result`).
macro_rules! read_answer {
    ($request:expr) => {{
        let capture = $crate::raw::Capture::new();
        send_captured!($request.customize(), capture.clone())?;
        capture.json()
    }};
    // With another interceptor first (the body that replaces the SDK's).
    ($request:expr, $interceptor:expr) => {{
        let capture = $crate::raw::Capture::new();
        send_captured!(
            $request.customize().interceptor($interceptor),
            capture.clone()
        )?;
        capture.json()
    }};
}

/// Sends a customized request, keeping its answer's body in `capture`; `Result<()>`.
macro_rules! send_captured {
    ($customized:expr, $capture:expr) => {
        $customized
            .interceptor($capture)
            .send()
            .await
            .map(drop)
            .map_err($crate::raw::sdk_error)
    };
}

/// Keeps the body of the response to the one call it is given to.
#[derive(Clone, Debug, Default)]
pub struct Capture(Arc<Mutex<Option<Vec<u8>>>>);

impl Capture {
    pub fn new() -> Capture {
        Capture::default()
    }

    /// The kept body as `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let body = self
            .0
            .lock()
            .ok()
            .and_then(|mut kept| kept.take())
            .ok_or_else(|| Error::new("InternalError", "the AWS answer's body was not kept"))?;
        serde_json::from_slice(&body).map_err(|e| {
            Error::new(
                "InternalError",
                format!("the AWS answer does not read as expected: {e}"),
            )
        })
    }
}

impl Capture {
    /// The kept body as one page of a paged answer: the items of its `items_key` list, and the
    /// token of the next page.
    pub fn page<T: DeserializeOwned>(&self, items_key: &str) -> Result<(Vec<T>, Option<String>)> {
        let mut body: serde_json::Value = self.json()?;
        let items = match body.get_mut(items_key).map(serde_json::Value::take) {
            Some(items) => serde_json::from_value(items).map_err(|e| {
                Error::new(
                    "InternalError",
                    format!("the AWS answer's {items_key} do not read as expected: {e}"),
                )
            })?,
            None => Vec::new(),
        };
        let next = body["nextToken"].as_str().map(str::to_owned);
        Ok((items, next))
    }
}

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "pipewright::Capture"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), Box<dyn StdError + Send + Sync>> {
        if let Some(bytes) = context.response().body().bytes()
            && let Ok(mut kept) = self.0.lock()
        {
            *kept = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// Sends `body` in place of the request body the SDK serialized, before it is signed: a pipeline
/// declaration goes to AWS whole, with fields the SDK's model does not have (the same reason the
/// answers are read raw).
#[derive(Clone, Debug)]
pub struct ReplaceBody(pub Vec<u8>);

impl Intercept for ReplaceBody {
    fn name(&self) -> &'static str {
        "pipewright::ReplaceBody"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), Box<dyn StdError + Send + Sync>> {
        let request = context.request_mut();
        *request.body_mut() = SdkBody::from(self.0.clone());
        request
            .headers_mut()
            .insert("content-length", self.0.len().to_string());
        Ok(())
    }
}

/// The exception names front ends match on. AWS's name is kept when it is one of these; any
/// other comes as `AwsError`, its name first in the message.
const KNOWN: &[&str] = &[
    "PipelineNotFoundException",
    "PipelineExecutionNotFoundException",
    "PipelineVersionNotFoundException",
    "PipelineNameInUseException",
    "PipelineExecutionNotStoppableException",
    "PipelineExecutionOutdatedException",
    "StageNotFoundException",
    "StageNotRetryableException",
    "ActionNotFoundException",
    "ApprovalAlreadyCompletedException",
    "InvalidApprovalTokenException",
    "InvalidStructureException",
    "InvalidNextTokenException",
    "NotLatestPipelineExecutionException",
    "UnableToRollbackStageException",
    "DuplicatedStopRequestException",
    "ConflictException",
    "ConcurrentPipelineExecutionsLimitExceededException",
    "ValidationException",
    "ThrottlingException",
    "LimitExceededException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "MissingAuthenticationTokenException",
];

/// An SDK error as the facade's error: AWS's exception name and message, or what kept the call
/// from reaching AWS (no credentials, no network).
pub fn sdk_error<E, R>(error: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    if let Some(code) = error.code() {
        let message = error.message().unwrap_or_default().to_owned();
        return match KNOWN.iter().find(|known| **known == code) {
            Some(known) => Error::new(known, message),
            None => Error::new("AwsError", format!("{code}: {message}")),
        };
    }
    Error::new(
        "ConnectionError",
        format!("AWS could not be reached: {}", DisplayErrorContext(&error)),
    )
}

/// What CreatePipeline and UpdatePipeline answer: the pipeline as stored, with its version.
#[derive(Deserialize)]
pub struct StoredPipeline {
    pub pipeline: pipewright_api::model::PipelineDeclaration,
}

impl StoredPipeline {
    pub fn name_and_version(self) -> (String, i64) {
        let version = i64::from(self.pipeline.version.unwrap_or(1));
        (self.pipeline.name, version)
    }
}
