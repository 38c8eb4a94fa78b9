//! The catalog's rules and the API's patterns, each case with the code and path `validate` gives,
//! on pipelines shaped as `get-pipeline` prints them.

use super::tests::codes as found;
use super::*;
use crate::{Format, PipelineDocument};

const ROLE: &str = "arn:aws:iam::123456789012:role/pipeline-role";

/// A two-stage pipeline (an S3 source, then `deploy`) of the given type, as `get-pipeline` prints one.
fn pipeline_with(pipeline_type: &str, role: &str, deploy: &str) -> String {
    format!(
        r#"{{"pipeline": {{"name": "shop", "roleArn": "{role}", "pipelineType": "{pipeline_type}",
          "artifactStore": {{"type": "S3", "location": "codepipeline-us-east-1-123456789012"}},
          "stages": [
            {{"name": "Source", "actions": [{{"name": "Source",
              "actionTypeId": {{"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}},
              "configuration": {{"S3Bucket": "shop-src", "S3ObjectKey": "shop.zip", "PollForSourceChanges": "false"}},
              "outputArtifacts": [{{"name": "SourceArtifact"}}]}}]}},
            {{"name": "Deploy", "actions": [{deploy}]}}
          ], "version": 3}},
          "metadata": {{"pipelineArn": "arn:aws:codepipeline:us-east-1:123456789012:shop"}}}}"#
    )
}

fn deploy(provider: &str, extra: &str) -> String {
    format!(
        r#"{{"name": "Deploy", "actionTypeId": {{"category": "Deploy", "owner": "AWS", "provider": "{provider}", "version": "1"}}, "runOrder": 1{extra}}}"#
    )
}

fn aws(code: &'static str, path: &str) -> (Severity, &'static str, String) {
    (Severity::Aws, code, path.to_owned())
}

#[test]
fn a_pipeline_aws_accepts_has_no_diagnostics() {
    let code_deploy = deploy(
        "CodeDeploy",
        r#", "configuration": {"ApplicationName": "shop", "DeploymentGroupName": "prod"}, "inputArtifacts": [{"name": "SourceArtifact"}]"#,
    );
    assert_eq!(found(&pipeline_with("V1", ROLE, &code_deploy)), []);
    // GovCloud and China partitions are role ARNs too.
    let gov = "arn:aws-us-gov:iam::123456789012:role/service-role/p";
    assert_eq!(found(&pipeline_with("V1", gov, &code_deploy)), []);
    let lambda = deploy(
        "Lambda",
        r#", "configuration": {"FunctionName": "shop-api", "FunctionAlias": "live"}, "inputArtifacts": [{"name": "SourceArtifact"}]"#,
    );
    assert_eq!(found(&pipeline_with("V2", ROLE, &lambda)), []);
}

#[test]
fn a_code_deploy_action_needs_its_application_and_group() {
    let bare = deploy(
        "CodeDeploy",
        r#", "inputArtifacts": [{"name": "SourceArtifact"}]"#,
    );
    assert_eq!(
        found(&pipeline_with("V1", ROLE, &bare)),
        vec![aws("missing-configuration", "/stages/1/actions/0/configuration"); 2]
    );
    let half = deploy(
        "CodeDeploy",
        r#", "configuration": {"ApplicationName": "shop"}, "inputArtifacts": [{"name": "SourceArtifact"}]"#,
    );
    let doc = PipelineDocument::parse(&pipeline_with("V1", ROLE, &half), Format::Json)
        .expect("fixture parses");
    let diagnostics = validate(&doc.pipeline);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0].path,
        "/stages/1/actions/0/configuration/DeploymentGroupName"
    );
    assert_eq!(
        diagnostics[0].message,
        "Action configuration for action 'Deploy' is missing required configuration 'DeploymentGroupName'"
    );
}

#[test]
fn a_code_deploy_action_takes_one_input_artifact() {
    let two = deploy(
        "CodeDeploy",
        r#", "configuration": {"ApplicationName": "shop", "DeploymentGroupName": "prod"}, "inputArtifacts": [{"name": "SourceArtifact"}, {"name": "SourceArtifact"}]"#,
    );
    let json = pipeline_with("V1", ROLE, &two);
    assert_eq!(
        found(&json),
        [aws(
            "input-artifact-count",
            "/stages/1/actions/0/inputArtifacts"
        )]
    );
    let doc = PipelineDocument::parse(&json, Format::Json).expect("fixture parses");
    assert_eq!(
        validate(&doc.pipeline)[0].message,
        "Action Deploy declares 2 input artifacts which is more than the maximum count (1)"
    );
}

#[test]
fn a_role_arn_names_a_12_digit_account() {
    let ok = deploy(
        "S3",
        r#", "configuration": {"BucketName": "site", "Extract": "true"}, "inputArtifacts": [{"name": "SourceArtifact"}]"#,
    );
    for bad in [
        "arn:aws:iam::12345:role/r",
        "arn:aws:iam::1234567890123:role/r",
        "arn:aws:iam::123456789012:user/r",
        "role/r",
        "arn:aws:s3:::bucket",
    ] {
        assert_eq!(
            found(&pipeline_with("V1", bad, &ok)),
            [aws("invalid-role-arn", "/roleArn")],
            "{bad}"
        );
    }
    let action_role = ok.replace(
        r#""runOrder": 1"#,
        r#""runOrder": 1, "roleArn": "arn:aws:iam::42:role/deployer""#,
    );
    assert_eq!(
        found(&pipeline_with("V1", ROLE, &action_role)),
        [aws("invalid-role-arn", "/stages/1/actions/0/roleArn")]
    );
}

#[test]
fn v2_only_action_types_in_a_v1_pipeline_are_refused() {
    let lambda = deploy(
        "Lambda",
        r#", "configuration": {"FunctionName": "shop-api"}, "inputArtifacts": [{"name": "SourceArtifact"}]"#,
    );
    assert_eq!(
        found(&pipeline_with("V1", ROLE, &lambda)),
        [aws("requires-v2", "/stages/1/actions/0/actionTypeId")]
    );
    // Lambda *invoke* is a different type, fine in V1.
    let invoke = lambda.replace(r#""Deploy""#, r#""Invoke""#);
    assert_eq!(found(&pipeline_with("V1", ROLE, &invoke)), []);
}

#[test]
fn configuration_properties_are_the_type_s_own_with_their_values() {
    let cfn = |configuration: &str| {
        deploy(
            "CloudFormation",
            &format!(
                r#", "configuration": {configuration}, "inputArtifacts": [{{"name": "SourceArtifact"}}]"#
            ),
        )
    };
    let path = |key: &str| format!("/stages/1/actions/0/configuration/{key}");
    assert_eq!(
        found(&pipeline_with(
            "V1",
            ROLE,
            &cfn(
                r#"{"ActionMode": "CREATE_UPDATE", "StackName": "shop", "TemplatePath": "SourceArtifact::t.yml", "Capabilites": "CAPABILITY_IAM"}"#
            )
        )),
        [(Severity::Aws, "unknown-configuration", path("Capabilites"))]
    );
    assert_eq!(
        found(&pipeline_with(
            "V1",
            ROLE,
            &cfn(r#"{"ActionMode": "UPSERT", "StackName": "shop"}"#)
        )),
        [(Severity::Aws, "unknown-value", path("ActionMode"))]
    );
    // A variable is only known at run time.
    assert_eq!(
        found(&pipeline_with(
            "V1",
            ROLE,
            &cfn(r##"{"ActionMode": "#{variables.mode}", "StackName": "shop"}"##)
        ))
        .into_iter()
        .filter(|(_, code, _)| *code != "unknown-variable")
        .collect::<Vec<_>>(),
        []
    );
    let s3 = deploy(
        "S3",
        r#", "configuration": {"BucketName": "site", "Extract": "yes", "extract": "true"}, "inputArtifacts": [{"name": "SourceArtifact"}]"#,
    );
    let doc = PipelineDocument::parse(&pipeline_with("V1", ROLE, &s3), Format::Json)
        .expect("fixture parses");
    let diagnostics = validate(&doc.pipeline);
    let codes: Vec<_> = diagnostics
        .iter()
        .map(|d| (d.severity, d.code, d.path.clone()))
        .collect();
    assert_eq!(
        codes,
        [
            (Severity::Warning, "not-a-boolean", path("Extract")),
            (Severity::Aws, "unknown-configuration", path("extract")),
        ]
    );
    assert_eq!(
        diagnostics[1].hint.as_deref(),
        Some("did you mean Extract?")
    );
}

#[test]
fn masked_values_are_flagged_where_they_are() {
    let s3 = deploy(
        "S3",
        r#", "configuration": {"BucketName": "site", "Extract": "true"}, "inputArtifacts": [{"name": "SourceArtifact"}]"#,
    );
    let mut dump: serde_json::Value =
        serde_json::from_str(&pipeline_with("V1", ROLE, &s3)).expect("fixture is JSON");
    dump["pipeline"]["stages"][0]["actions"][0] = serde_json::json!({
        "name": "Source",
        "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
        "configuration": {"Owner": "shop", "Repo": "web", "Branch": "main", "OAuthToken": "****", "PollForSourceChanges": "false"},
        "outputArtifacts": [{"name": "SourceArtifact"}]
    });
    assert_eq!(
        found(&dump.to_string()),
        [(
            Severity::Warning,
            "masked-value",
            "/stages/0/actions/0/configuration/OAuthToken".to_owned()
        )]
    );
}

#[test]
fn unknown_aws_action_types_are_named_with_what_exists() {
    let typo = deploy(
        "CodeDeplyo",
        r#", "inputArtifacts": [{"name": "SourceArtifact"}]"#,
    );
    let doc = PipelineDocument::parse(&pipeline_with("V1", ROLE, &typo), Format::Json)
        .expect("fixture parses");
    let diagnostics = validate(&doc.pipeline);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        (diagnostics[0].severity, diagnostics[0].code),
        (Severity::Warning, "unknown-action-type")
    );
    assert!(
        diagnostics[0]
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("CodeDeploy")),
        "{:?}",
        diagnostics[0].hint
    );
    // A custom action type is the account's own: not in the catalog, and not a problem.
    let custom = typo.replace(r#""owner": "AWS""#, r#""owner": "Custom""#);
    assert_eq!(found(&pipeline_with("V1", ROLE, &custom)), []);
}

#[test]
fn the_api_s_patterns_and_limits() {
    let ok = deploy(
        "S3",
        r#", "configuration": {"BucketName": "site", "Extract": "true"}, "inputArtifacts": [{"name": "SourceArtifact"}]"#,
    );
    let json = pipeline_with("V1", ROLE, &ok);
    let bucket = json.replace("codepipeline-us-east-1-123456789012", "my_bucket!");
    assert_eq!(
        found(&bucket),
        [aws("invalid-artifact-store", "/artifactStore/location")]
    );
    let key = json.replace(
        r#""type": "S3", "location""#,
        r#""type": "S3", "encryptionKey": {"id": "alias/k", "type": "AES"}, "location""#,
    );
    assert_eq!(
        found(&key),
        [aws(
            "invalid-artifact-store",
            "/artifactStore/encryptionKey/type"
        )]
    );
    let outputs = ok.replace(
        r#""runOrder": 1"#,
        r#""runOrder": 1, "outputVariables": []"#,
    );
    assert_eq!(
        found(&pipeline_with("V2", ROLE, &outputs)),
        [aws(
            "output-variable-count",
            "/stages/1/actions/0/outputVariables"
        )]
    );
    let empty = ok.replace(
        r#""BucketName": "site""#,
        r#""BucketName": "site", "ObjectKey": """#,
    );
    assert_eq!(
        found(&pipeline_with("V1", ROLE, &empty)),
        [aws(
            "configuration-length",
            "/stages/1/actions/0/configuration/ObjectKey"
        )]
    );
}

#[test]
fn triggers_keep_to_the_api_s_limits() {
    let ok = deploy(
        "S3",
        r#", "configuration": {"BucketName": "site", "Extract": "true"}, "inputArtifacts": [{"name": "SourceArtifact"}]"#,
    );
    let mut dump: serde_json::Value =
        serde_json::from_str(&pipeline_with("V2", ROLE, &ok)).expect("fixture is JSON");
    dump["pipeline"]["stages"][0]["actions"][0] = serde_json::json!({
        "name": "Source",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
        "configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/x", "FullRepositoryId": "shop/web", "BranchName": "main"},
        "outputArtifacts": [{"name": "SourceArtifact"}]
    });
    let main = serde_json::json!({"branches": {"includes": ["main"]}});
    let trigger = |push: serde_json::Value| serde_json::json!({"providerType": "CodeStarSourceConnection", "gitConfiguration": {"sourceActionName": "Source", "push": push}});
    dump["pipeline"]["triggers"] = serde_json::json!([trigger(serde_json::json!([main.clone()]))]);
    assert_eq!(found(&dump.to_string()), []);
    dump["pipeline"]["triggers"] = serde_json::json!([
        trigger(
            serde_json::json!([main.clone(), main.clone(), main.clone(), {"filePaths": {"includes": ["src/**"]}}])
        ),
        trigger(serde_json::json!([main])),
    ]);
    assert_eq!(
        found(&dump.to_string()),
        [
            aws("too-many", "/triggers/0/gitConfiguration/push"),
            aws(
                "trigger-filter-empty",
                "/triggers/0/gitConfiguration/push/3"
            ),
            aws(
                "duplicate-trigger",
                "/triggers/1/gitConfiguration/sourceActionName"
            ),
        ]
    );
}
