//! The local engine: runs CodePipeline pipelines on this machine.
pub mod script;
