//! `pipewright serve`: the CodePipeline API over HTTP, answered by the local engine, so the AWS
//! CLI and the AWS SDKs work against this machine (`aws codepipeline --endpoint-url ...`).
//!
//! The wire protocol is AWS JSON 1.1 as CodePipeline speaks it: every call is a `POST /` whose
//! `X-Amz-Target` header names the operation (`CodePipeline_20150709.ListPipelines`), with a JSON
//! body of type `application/x-amz-json-1.1`. Answers are JSON with timestamps as epoch seconds;
//! errors are `{"__type": "<exception name>", "message": "..."}` with a 4xx or 5xx status.
//!
//! Without credentials the server accepts requests whatever their signature (and the CLI binds
//! it to loopback only): on one machine there is nobody to keep out that could not read the data
//! directory directly. Given credentials, it checks every request's SigV4 signature against them
//! and refuses the rest with AWS's own errors (`sigv4.rs`).
//!
//! Architecture invariant: no business rule here. An operation parses its input, makes one
//! facade call and shapes the answer; the facade is the same one the CLI and the desktop app use.

mod operations;
mod sigv4;

pub use sigv4::Credentials;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use pipewright_api::Pipewright;
use serde_json::{Value, json};

/// The prefix of every CodePipeline target (the API version is part of the name).
const TARGET_PREFIX: &str = "CodePipeline_20150709.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// Larger bodies are refused before they are read: the largest pipeline declaration a file may
/// hold is 8 MiB (the model's limit), and nothing else comes near.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024 + 64 * 1024;

/// An error as the protocol sends it.
#[derive(Debug)]
pub struct WireError {
    pub status: StatusCode,
    pub kind: String,
    pub message: String,
}

impl WireError {
    pub fn client(kind: &str, message: impl Into<String>) -> WireError {
        WireError {
            status: StatusCode::BAD_REQUEST,
            kind: kind.to_owned(),
            message: message.into(),
        }
    }
}

impl From<pipewright_api::Error> for WireError {
    fn from(error: pipewright_api::Error) -> WireError {
        // The facade's own failures are the server's; everything else is the caller's to fix.
        let status = match error.code {
            "InternalError" | "StoreError" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        WireError {
            status,
            kind: error.code.to_owned(),
            message: error.message,
        }
    }
}

struct Server {
    api: Pipewright,
    credentials: Option<Credentials>,
}

/// Answers the CodePipeline API on `listener` until the task is dropped; with `credentials`,
/// only to requests signed with them.
pub async fn serve(
    api: Pipewright,
    listener: tokio::net::TcpListener,
    credentials: Option<Credentials>,
) -> std::io::Result<()> {
    axum::serve(listener, router(api, credentials)).await
}

/// The HTTP application `serve` runs, for a caller that adds layers of its own (tests that make
/// it throttle, for one).
pub fn router(api: Pipewright, credentials: Option<Credentials>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(Server { api, credentials }))
}

async fn handle(
    State(server): State<Arc<Server>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = answer(&server, &method, &uri, &headers, body).await;
    let (status, body) = match result {
        Ok(value) => (StatusCode::OK, value),
        Err(error) => (
            error.status,
            json!({"__type": error.kind, "message": error.message}),
        ),
    };
    let mut response = (status, body.to_string()).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        response_headers.insert("x-amzn-requestid", id);
    }
    response
}

fn check_loopback_host(headers: &HeaderMap) -> Result<(), WireError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    if matches!(name, "127.0.0.1" | "localhost" | "::1") {
        return Ok(());
    }
    Err(WireError {
        status: StatusCode::FORBIDDEN,
        kind: "AccessDeniedException".into(),
        message: format!(
            "requests for host {host:?} are refused: without credentials, pipewright serve answers requests for 127.0.0.1, localhost or ::1 only"
        ),
    })
}

async fn answer(
    server: &Server,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Value, WireError> {
    // Who is asking comes first, as on AWS: an unsigned request learns nothing else.
    let body = body.map_err(|rejection| WireError {
        status: rejection.status(),
        kind: "SerializationException".to_owned(),
        message: format!("the request body cannot be read: {rejection}"),
    })?;
    match &server.credentials {
        Some(credentials) => {
            let now = server.api.engine().clock().now_ms() / 1000;
            let query = uri.query().unwrap_or_default();
            sigv4::verify(credentials, method, uri.path(), query, headers, &body, now)?;
        }
        // Unsigned use is for this machine's own clients: a web page that points a host name of
        // its own at 127.0.0.1 (DNS rebinding) comes with that name in Host, and is refused.
        None => check_loopback_host(headers)?,
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(operation) = target.strip_prefix(TARGET_PREFIX) else {
        return Err(WireError::client(
            "UnknownOperationException",
            if target.is_empty() {
                "the request names no operation (X-Amz-Target is missing)".to_owned()
            } else {
                format!("unknown target {target}")
            },
        ));
    };
    if method != Method::POST {
        return Err(WireError::client(
            "UnknownOperationException",
            format!("{operation} is called with POST, not {method}"),
        ));
    }

    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            WireError::client(
                "SerializationException",
                format!("the request body is not JSON: {e}"),
            )
        })?
    };
    if !input.is_object() {
        return Err(WireError::client(
            "SerializationException",
            "the request body must be a JSON object",
        ));
    }
    let output = operations::call(&server.api, operation, input).await?;
    Ok(output)
}
