use super::*;
use crate::{Format, PipelineDocument};

/// Each diagnostic of a JSON declaration as (severity, code, path).
pub(super) fn codes(json: &str) -> Vec<(Severity, &'static str, String)> {
    let doc = PipelineDocument::parse(json, Format::Json).expect("fixture parses");
    validate(&doc.pipeline)
        .into_iter()
        .map(|d| (d.severity, d.code, d.path))
        .collect()
}

fn action(name: &str, category: &str, provider: &str, extra: &str) -> String {
    format!(
        r#"{{"name": "{name}", "actionTypeId": {{"category": "{category}", "owner": "AWS", "provider": "{provider}", "version": "1"}}{extra}}}"#
    )
}

fn pipeline(stages: &[(&str, Vec<String>)], extra: &str) -> String {
    let stages: Vec<String> = stages
        .iter()
        .map(|(name, actions)| {
            format!(
                r#"{{"name": "{name}", "actions": [{}]}}"#,
                actions.join(",")
            )
        })
        .collect();
    format!(
        r#"{{"name": "p", "roleArn": "arn:aws:iam::123456789012:role/r", "artifactStore": {{"type": "S3", "location": "artifacts-bucket"}},
           "pipelineType": "V2", "stages": [{}]{extra}}}"#,
        stages.join(",")
    )
}

#[test]
fn a_correct_pipeline_has_no_diagnostics() {
    let json = pipeline(
        &[
            (
                "Source",
                vec![action(
                    "Src",
                    "Source",
                    "S3",
                    r#", "configuration": {"S3Bucket": "b", "S3ObjectKey": "k.zip"}, "outputArtifacts": [{"name": "src"}], "namespace": "SourceVars""#,
                )],
            ),
            (
                "Build",
                vec![action(
                    "Run",
                    "Compute",
                    "Commands",
                    r#", "inputArtifacts": [{"name": "src"}], "commands": ["echo #{SourceVars.ETag} #{variables.env} #{codepipeline.PipelineExecutionId}"]"#,
                )],
            ),
        ],
        r#", "variables": [{"name": "env", "defaultValue": "dev"}]"#,
    );
    assert_eq!(codes(&json), []);
}

#[test]
fn variable_references_in_condition_rules_are_checked_where_the_rules_run() {
    let rule = |variable: &str| {
        format!(
            r#"{{"name": "Check", "ruleTypeId": {{"category": "Rule", "owner": "AWS", "provider": "VariableCheck", "version": "1"}},
               "configuration": {{"Variable": "{variable}", "Value": "1", "Operator": "EQ"}}}}"#
        )
    };
    let conditions = |kind: &str, variable: &str| {
        format!(
            r#""{kind}": {{"conditions": [{{"rules": [{}]}}]}}"#,
            rule(variable)
        )
    };
    let json = |deploy_conditions: &str| {
        let source = action(
            "Src",
            "Source",
            "S3",
            r#", "configuration": {"S3Bucket": "b", "S3ObjectKey": "k.zip"}, "outputArtifacts": [{"name": "src"}], "namespace": "SourceVars""#,
        );
        let ship = action(
            "Ship",
            "Compute",
            "Commands",
            r#", "inputArtifacts": [{"name": "src"}], "commands": ["true"], "namespace": "ShipVars""#,
        );
        pipeline(&[("Source", vec![source]), ("Deploy", vec![ship])], "").replace(
            r#""name": "Deploy","#,
            &format!(r#""name": "Deploy", {deploy_conditions},"#),
        )
    };
    let path = |kind: &str| format!("/stages/1/{kind}/conditions/0/rules/0/configuration/Variable");
    assert_eq!(
        codes(&json(&conditions("beforeEntry", "#{SourceVars.ETag}"))),
        []
    );
    assert_eq!(
        codes(&json(&conditions("onSuccess", "#{ShipVars.Out}"))),
        []
    );
    assert_eq!(
        codes(&json(&conditions("beforeEntry", "#{ShipVars.Out}"))),
        [(
            Severity::Error,
            "namespace-not-yet-produced",
            path("beforeEntry")
        )],
        "before the stage, its own actions have not run"
    );
    assert_eq!(
        codes(&json(&conditions("onFailure", "#{Nobody.X}"))),
        [(Severity::Error, "unknown-namespace", path("onFailure"))]
    );
    assert_eq!(
        codes(&json(&conditions("onSuccess", "#{variables.missing}"))),
        [(Severity::Error, "unknown-variable", path("onSuccess"))]
    );
}

#[test]
fn artifact_names_follow_codepipeline_s_pattern() {
    let source = |name: &str| {
        pipeline(
            &[
                (
                    "Source",
                    vec![action(
                        "Src",
                        "Source",
                        "S3",
                        &format!(
                            r#", "configuration": {{"S3Bucket": "b", "S3ObjectKey": "k.zip"}}, "outputArtifacts": [{{"name": "{name}"}}]"#
                        ),
                    )],
                ),
                (
                    "Build",
                    vec![action(
                        "Run",
                        "Compute",
                        "Commands",
                        &format!(
                            r#", "commands": ["true"], "inputArtifacts": [{{"name": "{name}"}}]"#
                        ),
                    )],
                ),
            ],
            "",
        )
    };
    assert_eq!(codes(&source("Source_Out-1")), []);
    for bad in ["../escape", "app.zip", "a@b", ""] {
        assert_eq!(
            codes(&source(bad)),
            [(
                Severity::Error,
                "invalid-name",
                "/stages/0/actions/0/outputArtifacts/0/name".to_owned()
            )],
            "{bad:?}"
        );
    }
}

#[test]
fn reports_every_problem_at_once_with_paths() {
    let json = pipeline(
        &[(
            "Build",
            vec![
                action(
                    "A",
                    "Build",
                    "CodeBuild",
                    r#", "inputArtifacts": [{"name": "missing"}], "runOrder": 1000"#,
                ),
                action(
                    "A",
                    "Compute",
                    "Commands",
                    r#", "commands": ["echo #{variables.nope}"], "inputArtifacts": [{"name": "late"}]"#,
                ),
                action(
                    "C",
                    "Build",
                    "CodeBuild",
                    r#", "runOrder": 2, "outputArtifacts": [{"name": "late"}]"#,
                ),
            ],
        )],
        "",
    );
    let found = codes(&json);
    let has = |code: &str, path: &str| found.iter().any(|(_, c, p)| *c == code && p == path);
    assert!(has("too-few-stages", "/stages"), "{found:?}");
    assert!(
        has(
            "first-stage-not-source",
            "/stages/0/actions/0/actionTypeId/category"
        ),
        "{found:?}"
    );
    assert!(
        has(
            "unknown-input-artifact",
            "/stages/0/actions/0/inputArtifacts/0"
        ),
        "{found:?}"
    );
    assert!(
        has("run-order-range", "/stages/0/actions/0/runOrder"),
        "{found:?}"
    );
    assert!(
        has("duplicate-action-name", "/stages/0/actions/1/name"),
        "{found:?}"
    );
    assert!(
        has("unknown-variable", "/stages/0/actions/1/commands/0"),
        "{found:?}"
    );
    assert!(
        has(
            "input-artifact-not-yet-produced",
            "/stages/0/actions/1/inputArtifacts/0"
        ),
        "{found:?}"
    );
}

#[test]
fn local_only_problems_are_not_errors() {
    let json = pipeline(
        &[(
            "Only",
            vec![action(
                "Run",
                "Compute",
                "Commands",
                r#", "commands": ["true"]"#,
            )],
        )],
        "",
    );
    let found = codes(&json);
    assert!(
        found
            .iter()
            .all(|(severity, _, _)| *severity != Severity::Error),
        "{found:?}"
    );
    assert!(found.iter().any(|(_, code, _)| *code == "too-few-stages"));
}

#[test]
fn parallel_mode_forbids_rollback_and_retry_forbids_conditions() {
    let json = r#"{"name": "p", "pipelineType": "V2", "executionMode": "PARALLEL", "stages": [
        {"name": "S", "actions": [{"name": "A", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}, "outputArtifacts": [{"name": "o"}]}]},
        {"name": "D", "onFailure": {"result": "ROLLBACK"}, "actions": [{"name": "B", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]},
        {"name": "E", "onFailure": {"result": "RETRY", "conditions": [{"rules": []}]}, "actions": [{"name": "C", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}, "timeoutInMinutes": 1}]}]}"#;
    let found = codes(json);
    let has = |code: &str| found.iter().any(|(_, c, _)| *c == code);
    assert!(has("rollback-in-parallel-mode"), "{found:?}");
    assert!(has("retry-with-conditions"), "{found:?}");
    assert!(has("approval-timeout-range"), "{found:?}");
}

#[test]
fn v2_features_on_a_v1_pipeline_are_aws_problems() {
    let json = pipeline(
        &[
            (
                "S",
                vec![action(
                    "A",
                    "Source",
                    "S3",
                    r#", "configuration": {"S3Bucket": "b", "S3ObjectKey": "k.zip"}, "outputArtifacts": [{"name": "o"}]"#,
                )],
            ),
            (
                "B",
                vec![action(
                    "R",
                    "Compute",
                    "Commands",
                    r#", "inputArtifacts": [{"name": "o"}], "commands": ["true"]"#,
                )],
            ),
        ],
        r#", "executionMode": "QUEUED""#,
    )
    .replace(r#""pipelineType": "V2","#, "");
    let found = codes(&json);
    let v2: Vec<_> = found
        .iter()
        .filter(|(_, c, _)| *c == "requires-v2")
        .collect();
    assert_eq!(v2.len(), 2, "{found:?}");
    assert!(v2.iter().all(|(s, _, _)| *s == Severity::Aws));
}

#[test]
fn unknown_enum_spellings_are_reported_not_rejected() {
    let json = pipeline(
        &[("S", vec![action("A", "Sauce", "S3", "")])],
        r#", "executionMode": "FAST""#,
    );
    let found = codes(&json);
    assert!(
        found.contains(&(Severity::Error, "unknown-value", "/executionMode".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&(
            Severity::Error,
            "unknown-value",
            "/stages/0/actions/0/actionTypeId/category".into()
        )),
        "{found:?}"
    );
}
