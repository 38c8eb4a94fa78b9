//! Property tests and AWS-shaped fixtures for pipewright-model: the loader never panics, every
//! declaration survives JSON and YAML round trips in all three shapes, the validator is total,
//! deterministic and points at real places, and documents as AWS prints them load, save and
//! validate as expected.

mod fixtures;
mod loader;
mod round_trip;
mod strategies;
mod validator;
