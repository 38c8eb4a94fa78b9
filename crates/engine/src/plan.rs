//! What validation can say about running a declaration locally: which actions have no local
//! runner and no mapping in the local settings, and which need a local path that is missing.

use pipewright_model::{Diagnostic, PipelineDeclaration, Severity};

use crate::runners::{RunnerKind, no_runner_message, runner_for};
use crate::settings::LocalSettings;

/// Problems that stop the pipeline from running locally (code `no-local-runner`,
/// `no-local-path`). They are errors for a local run only, so they are reported as warnings
/// here and `pipewright run` refuses to start while any is left.
pub fn local_diagnostics(
    pipeline: &PipelineDeclaration,
    settings: &LocalSettings,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (s, stage) in pipeline.stages.iter().enumerate() {
        for (a, action) in stage.actions.iter().enumerate() {
            let path = format!("/stages/{s}/actions/{a}");
            let mapped = settings.action(&stage.name, &action.name);
            match runner_for(action, mapped) {
                None => out.push(
                    Diagnostic::new(
                        Severity::Warning,
                        "no-local-runner",
                        path,
                        no_runner_message(&stage.name, action),
                    )
                    .with_hint("add it under actions: in the pipeline's .pipewright.yaml"),
                ),
                Some(RunnerKind::GitSource | RunnerKind::LocalSource | RunnerKind::S3Deploy)
                    if mapped.and_then(|m| m.path.as_ref()).is_none() =>
                {
                    out.push(
                        Diagnostic::new(
                            Severity::Warning,
                            "no-local-path",
                            path,
                            format!(
                                "{}/{} needs a local path to read from or write to",
                                stage.name, action.name
                            ),
                        )
                        .with_hint(format!(
                            "set actions: {{\"{}/{}\": {{path: ...}}}} in the local settings",
                            stage.name, action.name
                        )),
                    )
                }
                Some(_) => {}
            }
        }
    }
    out
}
