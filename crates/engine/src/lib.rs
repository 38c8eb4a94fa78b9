//! The local engine: runs CodePipeline pipelines on this machine with CodePipeline's semantics.
//!
//! - `machine`: the rules of one execution (run orders, failures, stop, retry), no IO.
//! - `scheduler`: who may enter a stage under each execution mode, no IO.
//! - `driver`: carries out one execution's effects (rows, events, actions).
//! - `engine`: the per-process owner of executions; crash recovery; stop requests.
//! - `runners`: how each action provider runs locally; `script`, `process`: the shell side.
//! - `local_plan`, `settings_file`: the plan that lets an unmapped pipeline run the first time,
//!   and saving it into the settings file without losing what is there.
//! - `objects`: the port through which S3 actions reach real buckets (an SDK plugs in from outside).
//!
//! Architecture invariant: no Tauri, UI or HTTP here; front ends reach the engine through the
//! `api` crate.

mod build_variables;
pub mod clock;
pub mod containers;
mod driver;
mod engine;
pub mod events;
pub mod git;
pub mod local_plan;
pub mod logs;
pub mod machine;
pub mod objects;
pub mod pattern;
pub mod plan;
pub mod process;
pub mod rules;
pub mod runners;
pub mod scheduler;
pub mod script;
pub mod settings;
pub mod settings_file;
pub mod status;
pub mod stored_values;
pub mod triggers;
mod workspaces;

pub use engine::{Engine, EngineOptions, SourceRevision, Start, resolve_pipeline_variables};
pub use pipewright_artifacts::{ArtifactStore, Digest, Error as ArtifactError, Handoff};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] pipewright_store::Error),
    #[error("artifact store: {0}")]
    Artifacts(pipewright_artifacts::Error),
    #[error("{0}")]
    Io(String),
    #[error("the pipeline {0} does not exist")]
    PipelineNotFound(String),
    #[error("the execution {0} does not exist")]
    ExecutionNotFound(String),
    #[error("the stage {0} does not exist")]
    StageNotFound(String),
    #[error("{0}")]
    StageNotRetryable(String),
    #[error("{0}")]
    NotLatestExecution(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    CannotRollback(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
