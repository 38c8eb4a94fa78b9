//! What validation can say about running a declaration locally: which actions and condition
//! rules have no local runner and no mapping in the local settings, and which actions need a
//! local path that is missing.

use pipewright_model::{Diagnostic, PipelineDeclaration, Severity};

use crate::machine::ConditionKind;
use crate::rules::rule_kind;
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
        for kind in [
            ConditionKind::BeforeEntry,
            ConditionKind::OnSuccess,
            ConditionKind::OnFailure,
        ] {
            let key = match kind {
                ConditionKind::BeforeEntry => "beforeEntry",
                ConditionKind::OnSuccess => "onSuccess",
                ConditionKind::OnFailure => "onFailure",
            };
            for (c, condition) in kind.conditions(stage).iter().enumerate() {
                for (r, rule) in condition.rules.iter().flatten().enumerate() {
                    if rule_kind(rule, settings.rule(&stage.name, &rule.name)).is_none() {
                        out.push(
                            Diagnostic::new(
                                Severity::Warning,
                                "no-local-rule",
                                format!("/stages/{s}/{key}/conditions/{c}/rules/{r}"),
                                format!(
                                    "{} rules have no local evaluator; map {}/{} in the local settings",
                                    rule.rule_type_id.provider, stage.name, rule.name
                                ),
                            )
                            .with_hint("add it under rules: with outcome: succeeded|failed, or commands: [...]"),
                        );
                    }
                }
            }
        }
    }
    out
}

/// Local settings that do nothing where they are (code `s3-setting-ignored`): worth a warning from
/// `validate`, but no reason to refuse a run.
pub fn ignored_settings(
    pipeline: &PipelineDeclaration,
    settings: &LocalSettings,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (s, stage) in pipeline.stages.iter().enumerate() {
        for (a, action) in stage.actions.iter().enumerate() {
            let mapped = settings.action(&stage.name, &action.name);
            // `s3: true` means something only to S3 sources and deploys.
            if mapped.is_some_and(|m| m.s3)
                && !matches!(
                    runner_for(action, mapped),
                    Some(RunnerKind::S3BucketSource | RunnerKind::S3BucketDeploy)
                )
            {
                out.push(Diagnostic::new(
                    Severity::Warning,
                    "s3-setting-ignored",
                    format!("/stages/{s}/actions/{a}"),
                    format!(
                        "{}/{}: s3: true applies to S3 source and deploy actions only, and is ignored here",
                        stage.name, action.name
                    ),
                ));
            }
        }
    }
    out
}
