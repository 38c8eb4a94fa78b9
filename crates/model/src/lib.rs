//! The CodePipeline pipeline declaration, as the AWS API defines it, and what can be said about one
//! without running it: loading and saving JSON and YAML, validation diagnostics, variable references.
//!
//! Architecture invariant: this crate does no IO (callers hand it text and take text back), knows no
//! async runtime, database, AWS SDK or UI. Every other crate speaks these types.

mod declaration;
mod document;
mod locate;
mod string_enum;
pub mod validate;
pub mod variables;

pub use declaration::*;
pub use document::{
    DocumentShape, Format, LoadError, MAX_DOCUMENT_BYTES, PipelineDocument, parse_value, render,
};
pub use validate::{Diagnostic, Severity, validate};
pub mod buildspec;
pub mod catalog;
pub mod reports;
